"""The schema's migrations (Alembic, `versions/`), and running them.

`migrate` brings a database to the head revision, creating it first when it is a SQLite
file that does not exist yet; the server runs it on start, `lmsplans migrate` on demand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).resolve().parent


def sqlalchemy_url(database_url: str) -> str:
    """The URL SQLAlchemy (Alembic) needs for the same database."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    return database_url


def alembic_config(database_url: str) -> Any:
    """Alembic's configuration for the database at `database_url` (an `alembic.config.Config`)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def _current_revision(database_url: str) -> str | None:
    """The revision the database is at, read with the raw driver (cheap), or None."""
    query = "SELECT version_num FROM alembic_version"
    try:
        if database_url.startswith("sqlite:"):
            import sqlite3

            from lmsplans.server.db.sqlite import sqlite_path

            path = sqlite_path(database_url)
            if not path.exists():
                return None
            with sqlite3.connect(path) as conn:
                row = conn.execute(query).fetchone()
            return None if row is None else str(row[0])
        import asyncio

        import asyncpg

        async def read() -> str | None:
            conn = await asyncpg.connect(database_url)
            try:
                value = await conn.fetchval(query)
            finally:
                await conn.close()
            return None if value is None else str(value)

        return asyncio.run(read())
    except Exception:  # no version table yet, or no database: let Alembic decide
        return None


def migrate(database_url: str) -> None:
    """Create the database if needed and apply every migration (Alembic `upgrade head`).
    A database already at the head revision is left alone without starting Alembic."""
    from alembic import command
    from alembic.script import ScriptDirectory

    if database_url.startswith("sqlite:"):
        from lmsplans.server.db.sqlite import sqlite_path

        path = sqlite_path(database_url)
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(database_url)
    head = ScriptDirectory.from_config(config).get_current_head()
    if _current_revision(database_url) == head:
        return
    command.upgrade(config, "head")
