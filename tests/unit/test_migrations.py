"""The migrations build exactly the schema the models describe, on a fresh database."""

import asyncio
import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from lmsplans.demo import build_demo
from lmsplans.migrations import MIGRATIONS_DIR, alembic_config, migrate
from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.models import metadata
from lmsplans.server.progress.events import replay


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


def test_0005_rewrites_stored_course_events_in_camel_case_and_keeps_removed_courses(
    tmp_path: Path,
) -> None:
    """Events stored before revision 0005 (course states with snake_case keys) come out of
    the upgrade in camelCase and still replay to the stored state; a course a plan lost
    before 0005 is known as removed from it (its history keeps its events); the downgrade
    writes the old keys back."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    migrate(url)

    async def seed() -> None:
        db = await Database.open(url, pool_size=1)
        try:
            await build_demo(db, now_ms=Clock().now_ms(), learners=20)
        finally:
            await db.close()

    asyncio.run(seed())
    config = alembic_config(url)
    command.downgrade(config, "0004")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.row_factory = sqlite3.Row
        old = conn.execute(
            "SELECT after_state FROM progress_events WHERE kind = 'course_enrolled'"
        ).fetchall()
        assert old and all('"enrolled_time"' in row[0] for row in old)
        # A plan that loses a course its learners were enrolled in through it, before 0005.
        plan_id, course_id = conn.execute(
            "SELECT plan_id, course_id FROM progress_events WHERE kind = 'course_enrolled'"
            " AND plan_id IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute(
            "DELETE FROM plan_courses WHERE plan_id = ? AND course_id = ?", (plan_id, course_id)
        )
    command.upgrade(config, "head")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.row_factory = sqlite3.Row
        events = conn.execute("SELECT * FROM progress_events ORDER BY id").fetchall()
        states = [e[column] for e in events for column in ("before_state", "after_state")]
        assert not any("_time" in state for state in states if state)
        projection = replay([dict(e) for e in events])
        for row in conn.execute("SELECT * FROM course_progress"):
            assert projection.courses[(row["learner_id"], row["course_id"])] == {
                "status": row["status"],
                "percentage": row["percentage"],
                "enrolledTime": row["enrolled_time"],
                "completedTime": row["completed_time"],
            }
        removed = conn.execute("SELECT plan_id, course_id FROM plan_removed_courses").fetchall()
        assert [tuple(row) for row in removed] == [(plan_id, course_id)]
    command.downgrade(config, "0004")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        states = [row[0] for row in conn.execute("SELECT after_state FROM progress_events")]
        assert any('"completed_time"' in state for state in states if state)
        assert not any('"completedTime":' in s and '"status"' in s for s in states if s)


def test_0006_keeps_every_row_and_ids_are_not_given_again(tmp_path: Path) -> None:
    """A database made before 0006 (ids reused after a delete) keeps its rows through the
    rebuild, and from then on the id of a deleted newest row is never given again."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0005")  # the revision before 0006
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
