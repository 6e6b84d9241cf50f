"""Storage: connections, transactions, following the change log, and a page of rows.

The read path uses hand-written SQL over the raw drivers (sqlite3, asyncpg): an ORM there
costs several times the reference endpoint's throughput. SQLAlchemy describes the schema
(`db.schema` and each domain's `models.py`) and Alembic migrates it (`lmsplans.migrations`).
SQL is written once, with `:name` placeholders and dict parameters, in the dialect SQLite
and PostgreSQL share.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from lmsplans.server.changes.log import ChangeLog, Publisher

T = TypeVar("T")

Params = Mapping[str, Any]
# A result row: both drivers' rows answer row["column"], row[index] and dict(row).
Row = Any


def lock_key(*parts: object) -> int:
    """A signed 64-bit number naming a thing to lock (`Connection.lock`), e.g. ("plan", id).
    Learners are locked by their own id; anything else by such a key."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of records: `offset` rows skipped, at most `limit` returned."""

    offset: int
    limit: int

    def sql(self) -> dict[str, int]:
        """`:page_limit` and `:page_offset`: one row more than asked, to know whether a
        next page exists."""
        return {"page_limit": self.limit + 1, "page_offset": self.offset}

    def cut(self, rows: list[T]) -> tuple[list[T], bool]:
        """The page's rows (of at most `limit + 1` read) and whether another page follows."""
        return rows[: self.limit], len(rows) > self.limit

    def of(self, items: list[T]) -> tuple[list[T], bool]:
        """The page of a whole list already in memory, and whether another page follows."""
        return self.cut(items[self.offset : self.offset + self.limit + 1])


class Connection(abc.ABC):
    """One connection, used by one request at a time. `wrote` says whether a statement
    that may change data ran on it (a transaction that wrote nothing writes no change);
    `changes`, in a write transaction, collects what it changed (`changes.log`)."""

    wrote = False
    _changes: ChangeLog | None = None

    @property
    def changes(self) -> ChangeLog:
        """What this write transaction changed (`Database.transaction` writes it)."""
        if self._changes is None:
            raise RuntimeError("a connection for reads records no changes")
        return self._changes

    @abc.abstractmethod
    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]: ...

    @abc.abstractmethod
    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def fetch_page(
        self, sql: str, params: Params, *, page: Page, record: Callable[[Row], T]
    ) -> tuple[list[T], bool]:
        """One page of the rows `sql` selects (it ends `LIMIT :page_limit OFFSET
        :page_offset`), each as `record` makes it, and whether another page follows."""
        rows, more = page.cut(await self.fetch_all(sql, {**params, **page.sql()}))
        return [record(row) for row in rows], more

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run one statement; answers the number of rows it changed."""

    async def insert(self, sql: str, params: Params | None = None) -> int:
        """Run one INSERT into a table with an `id`; answers the new row's id."""
        row_id = await self.fetch_value(sql + " RETURNING id", params)
        self.wrote = True
        assert row_id is not None
        return int(row_id)

    async def insert_row(self, table: str, values: Mapping[str, Any]) -> int:
        """Insert one row; an `id` of None is left to the database. Answers the row's id."""
        columns = [name for name, value in values.items() if not (name == "id" and value is None)]
        return await self.insert(
            f"INSERT INTO {table} ({', '.join(columns)})"
            f" VALUES ({', '.join(':' + name for name in columns)})",
            values,
        )

    async def update_row(
        self, table: str, row_id: int, changes: Mapping[str, Any], *, now_ms: int
    ) -> None:
        """Set `changes` (column: value) on one row and touch its `modified_time`."""
        assignments = "".join(f"{column} = :{column}, " for column in changes)
        await self.execute(
            f"UPDATE {table} SET {assignments}modified_time = :now WHERE id = :id",
            {**changes, "now": now_ms, "id": row_id},
        )

    @abc.abstractmethod
    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None: ...

    @abc.abstractmethod
    async def lock(self, key: int) -> None:
        """Serialise transactions on `key` (e.g. a learner id) until this one ends."""


class Database(abc.ABC):
    """Connections for reads and for write transactions.

    Storage reports its own outages: `read`, `transaction` and `catch_up` raise
    `DatabaseUnavailable` (503 7503) when the database cannot be reached, whatever the
    driver raised, so no caller needs to know a driver's exceptions.

    A process follows the change log (`lmsplans.server.changes`) through `follow` and
    `catch_up`: the tags of every change committed by any process reach the follower (the
    process's cache), each once, before `catch_up` returns.
    """

    dialect: str
    _follower: Callable[[Iterable[str]], None] | None = None
    _publisher: Publisher | None = None

    def follow(self, drop: Callable[[Iterable[str]], None]) -> None:
        """Give `drop` the tags of each change committed from now on (`catch_up`)."""
        self._follower = drop

    def publish_events(self, publish: Publisher) -> None:
        """Give `publish` the events each write transaction records, inside it (`open`
        gives it the webhooks' outbox: a delivery is queued with the change it reports)."""
        self._publisher = publish

    def _drop(self, tags: Iterable[str]) -> None:
        if self._follower is not None:
            self._follower(tags)

    @staticmethod
    async def open(database_url: str, *, pool_size: int = 16) -> Database:
        """The database behind a `sqlite:///...` or `postgresql://...` URL."""
        from lmsplans.server.webhooks.service import publish

        db: Database
        if database_url.startswith("sqlite:"):
            from lmsplans.server.db.sqlite import SqliteDatabase

            db = await SqliteDatabase.connect(database_url)
        elif database_url.startswith(("postgresql:", "postgres:")):
            from lmsplans.server.db.postgres import PostgresDatabase

            db = await PostgresDatabase.connect(database_url, pool_size=pool_size)
        else:
            raise ValueError(f"unsupported database URL: {database_url!r}")
        # Every write, whoever makes it (the API, a page, an import, the demo), queues its
        # events for the organisation's webhooks in its own transaction.
        db.publish_events(publish)
        return db

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads; each statement sees committed data."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises.
        What it changed is collected in its `ChangeLog` (`conn.changes`, and the
        `WriteContext.changes` of any write made in the block: `changes.log.current_log`);
        if it wrote, the rows are written last (`changes.log.write_rows`: a write that
        recorded nothing is refused as a bug)."""

    @abc.abstractmethod
    async def catch_up(self) -> None:
        """Pass the follower (`follow`) the tags of every change committed before this
        call, by any process, that it has not had yet."""

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                return bool(await conn.fetch_value("SELECT 1"))
        except Exception:
            return False


__all__ = [
    "AsyncIterator",
    "ChangeLog",
    "Connection",
    "Database",
    "Page",
    "Params",
    "Row",
    "lock_key",
]
