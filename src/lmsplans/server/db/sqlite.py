"""SQLite: one file in WAL mode, called inline.

SQLite's statements here take microseconds, and a thread hop per statement (aiosqlite) cost
more than the statement itself, so the driver is called inline on the event loop.

The change log is followed by id: SQLite has one writer at a time, so ids are given in
commit order, and the rows after the last id seen are exactly the commits since. The look
is made only when the WAL index shows a commit (`WalCommitWatch`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

from lmsplans.server.changes.log import ChangeLog, collecting, write_rows
from lmsplans.server.db import Connection, Database, Params
from lmsplans.server.errors import DatabaseUnavailable


def sqlite_path(database_url: str) -> Path:
    """The file behind a `sqlite:///relative` or `sqlite:////absolute` URL."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError(f"unsupported database URL (expected {prefix}...): {database_url!r}")
    return Path(database_url[len(prefix) :])


class SqliteConnection(Connection):
    def __init__(self, raw: sqlite3.Connection, changes: ChangeLog | None = None) -> None:
        self._raw = raw
        self._changes = changes

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Any]:
        return self._raw.execute(sql, params or {}).fetchall()

    async def fetch_one(self, sql: str, params: Params | None = None) -> Any:
        return self._raw.execute(sql, params or {}).fetchone()

    async def execute(self, sql: str, params: Params | None = None) -> int:
        self.wrote = True
        return self._raw.execute(sql, params or {}).rowcount

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self.wrote = True
        self._raw.executemany(sql, rows)

    async def lock(self, key: int) -> None:
        """Nothing to do: SQLite has one writer, and its transactions already serialise."""


def _open(path: Path) -> sqlite3.Connection:
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


# The WAL-index header: the first 48 bytes of the `-shm` file, rewritten by every commit
# (its change counter and last frame move) and by nothing that leaves the data as it was
# (https://www.sqlite.org/walformat.html#the_wal_index_header).
_WAL_INDEX_HEADER_BYTES = 48


class WalCommitWatch:
    """Says, for the price of one `pread`, that no transaction has committed since the last
    look, by any process: the WAL-index header is unchanged. Asking SQLite costs a read
    transaction (file locks, a statement), a sixth of the reference endpoint's time.

    A torn or changed header only means "look again", so a false "changed" costs a query,
    never a stale answer.
    """

    def __init__(self, shm_path: Path) -> None:
        try:
            self._fd: int | None = os.open(shm_path, os.O_RDONLY)
        except OSError:  # no WAL index (not in WAL mode): every look says "changed"
            self._fd = None
        self._seen: bytes | None = None

    def header(self) -> bytes | None:
        """The header as it is now (None without a WAL index)."""
        if self._fd is None:
            return None
        return os.pread(self._fd, _WAL_INDEX_HEADER_BYTES, 0)

    def unchanged(self, header: bytes | None) -> bool:
        return header is not None and header == self._seen

    def seen(self, header: bytes | None) -> None:
        self._seen = header

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SqliteDatabase(Database):
    """Two connections: one for reads, one for the (single) writer."""

    dialect = "sqlite"

    def __init__(self, reader: sqlite3.Connection, writer: sqlite3.Connection, path: Path) -> None:
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        reader.execute("PRAGMA schema_version").fetchone()  # a read: creates the WAL index
        self._commits = WalCommitWatch(path.with_name(path.name + "-shm"))
        # The last change followed: a process starts with nothing kept, so from the newest.
        self._last_change = _newest_change(reader)

    @classmethod
    async def connect(cls, database_url: str) -> SqliteDatabase:
        path = sqlite_path(database_url)
        try:
            return cls(_open(path), _open(path), path)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def close(self) -> None:
        self._commits.close()
        self._reader.close()
        self._writer.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        try:
            yield SqliteConnection(self._reader)
        except Exception as exc:
            if _is_outage(exc):
                raise DatabaseUnavailable() from exc
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        try:
            async with self._write_lock:
                self._writer.execute("BEGIN IMMEDIATE")
                log = ChangeLog()
                try:
                    with collecting(log):
                        conn = SqliteConnection(self._writer, log)
                        yield conn
                        if conn.wrote:
                            await write_rows(
                                conn, log, numbered_at_commit=False, publish=self._publisher
                            )
                except BaseException:
                    self._writer.rollback()
                    raise
                self._writer.commit()
        except Exception as exc:
            if _is_outage(exc):
                raise DatabaseUnavailable() from exc
            raise

    async def catch_up(self) -> None:
        # The header is read before the changes: a commit in between shows as a change
        # next time, so no commit is ever taken as seen before its rows were read.
        try:
            header = self._commits.header()
            if self._commits.unchanged(header):
                return
            rows = self._reader.execute(_CHANGES_AFTER, (self._last_change,)).fetchall()
        except Exception as exc:
            if _is_outage(exc):
                raise DatabaseUnavailable() from exc
            raise
        if rows:
            self._last_change = int(rows[-1][0])
            self._drop(tag for row in rows for tag in orjson.loads(row[1]))
        self._commits.seen(header)


_NEWEST_CHANGE = "SELECT coalesce(max(id), 0) FROM changes"
_CHANGES_AFTER = "SELECT id, tags FROM changes WHERE id > ? ORDER BY id"


def _newest_change(reader: sqlite3.Connection) -> int:
    """The id of the newest change; 0 before any (or before the log's migration ran: a
    process that migrates opens the database again afterwards)."""
    try:
        return int(reader.execute(_NEWEST_CHANGE).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _is_outage(exc: Exception) -> bool:
    """Whether `exc` says the database cannot be used (503), not a bug (500): locked by
    another process beyond the busy timeout, gone, unreadable, or closed under the app."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc) for text in ("locked", "unable to open", "disk I/O"))
    if isinstance(exc, sqlite3.ProgrammingError):
        return "closed database" in str(exc)
    return isinstance(exc, OSError)
