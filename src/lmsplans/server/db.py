"""Storage: the schema's shared metadata, the connection pool, transactions and migrations.

The read path uses hand-written SQL over the raw driver (sqlite3): an ORM there costs several
times the reference endpoint's throughput (see `shared/reference/stack-measurements.md`).
SQLAlchemy describes the schema (each domain's `models.py`) and Alembic migrates it.
SQL is written with `:name` placeholders and dict parameters.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# A 64-bit id. On SQLite it must be spelled INTEGER to be the rowid and grow by itself.
ID = BigInteger().with_variant(Integer, "sqlite")

Params = Mapping[str, Any]
Row = sqlite3.Row


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened."""


def sqlite_path(database_url: str) -> Path:
    """The file behind a `sqlite:///relative` or `sqlite:////absolute` URL."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError(f"unsupported database URL (expected {prefix}...): {database_url!r}")
    return Path(database_url[len(prefix) :])


class Connection:
    """One connection, used by one request at a time.

    SQLite is called inline: its statements here take microseconds, and a thread hop per
    statement (aiosqlite) cost more than the statement itself. The methods stay `async` so a
    driver that does real I/O (PostgreSQL) fits behind the same interface.
    """

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._raw.execute(sql, params or {}).fetchall()

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        row: Row | None = self._raw.execute(sql, params or {}).fetchone()
        return row

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        row = self._raw.execute(sql, params or {}).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run one statement; answers the number of rows it changed."""
        return self._raw.execute(sql, params or {}).rowcount

    async def insert(self, sql: str, params: Params | None = None) -> int:
        """Run one INSERT; answers the new row's id."""
        row_id = self._raw.execute(sql, params or {}).lastrowid
        assert row_id is not None
        return row_id

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._raw.executemany(sql, rows)


def _open_sqlite(path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    # WAL: readers never wait for the writer. NORMAL sync is durable across a process crash.
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
    ):
        raw.execute(pragma)
    return raw


class Database:
    """Two SQLite connections: one for reads, one for the (single) writer."""

    def __init__(self, reader: sqlite3.Connection, writer: sqlite3.Connection) -> None:
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, database_url: str) -> Database:
        path = sqlite_path(database_url)
        try:
            return cls(_open_sqlite(path), _open_sqlite(path))
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def close(self) -> None:
        self._reader.close()
        self._writer.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A connection for reads; each statement sees committed data."""
        yield Connection(self._reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Connection(self._writer)
            except BaseException:
                self._writer.rollback()
                raise
            self._writer.commit()

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                return bool(await conn.fetch_value("SELECT 1"))
        except sqlite3.Error:
            return False


def migrate(database_url: str) -> None:
    """Create the database if needed and apply every migration (Alembic `upgrade head`)."""
    from alembic import command
    from alembic.config import Config

    path = sqlite_path(database_url)
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "head")
