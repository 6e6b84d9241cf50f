"""The migrations build exactly the schema the models describe, on a fresh database."""

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from lmsplans.migrations import MIGRATIONS_DIR, alembic_config, migrate
from lmsplans.server.models import metadata


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, metadata) == []
        assert set(inspect(connection).get_table_names()) >= set(metadata.tables)
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()
    assert mode == "wal"


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    migrate(url)
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert version == ScriptDirectory.from_config(config).get_current_head()


def test_downgrading_to_base_removes_every_table_and_upgrading_again_rebuilds_them(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    migrate(url)
    config = alembic_config(url)
    command.downgrade(config, "base")
    engine = create_engine(url)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    engine.dispose()


def test_0006_keeps_every_row_and_ids_are_not_given_again(tmp_path: Path) -> None:
    """A database made before 0006 (ids reused after a delete) keeps its rows through the
    rebuild, and from then on the id of a deleted newest row is never given again."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_engine(url)
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        run("INSERT INTO organisations (name, created_time) VALUES ('Org', 1)")
        for n in range(3):
            run(
                "INSERT INTO courses (org_id, name, course_type, created_time, modified_time)"
                f" VALUES (1, 'Course {n}', 1, 1, 1)"
            )
        run("DELETE FROM courses WHERE id = 3")
        reused = run(
            "INSERT INTO courses (org_id, name, course_type, created_time, modified_time)"
            " VALUES (1, 'Before 0006', 1, 1, 1) RETURNING id"
        ).scalar()
        before = run("SELECT * FROM courses ORDER BY id").fetchall()
    assert reused == 3  # what 0006 is about: the deleted id was given again
    command.upgrade(config, "head")
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        assert run("SELECT * FROM courses ORDER BY id").fetchall() == before
        run("DELETE FROM courses WHERE id = 3")
        after = run(
            "INSERT INTO courses (org_id, name, course_type, created_time, modified_time)"
            " VALUES (1, 'After 0006', 1, 1, 1) RETURNING id"
        ).scalar()
        declared = run("SELECT sql FROM sqlite_master WHERE name = 'courses'").scalar()
    engine.dispose()
    assert after == 4
    assert "AUTOINCREMENT" in declared
