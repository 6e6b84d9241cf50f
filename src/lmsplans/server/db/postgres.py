"""PostgreSQL over asyncpg: a pool, one connection per request, `:name` SQL translated once.

The change log is followed by snapshot: ids are drawn when a row is inserted, not when its
transaction commits, so a row with a smaller id can become visible after a larger one. Each
look reads, in one statement, the statement's snapshot and the changes visible in it but
not in the previous look's (their writing transaction, `xid`, was still running or not yet
begun then): each committed change is seen exactly once. One look serves every request
that arrived before it started (`Batcher`), so under load the cached path costs no round
trip of its own.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg
import orjson

from lmsplans.server.batching import Batcher
from lmsplans.server.changes.log import ChangeLog, collecting, write_rows
from lmsplans.server.db import Connection, Database, Params
from lmsplans.server.errors import DatabaseUnavailable

# What asyncpg raises when the server cannot be reached or the connection is lost (OSError
# covers refused and reset connections and timeouts); anything else is a bug (500).
_OUTAGES = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
)

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` placeholders to asyncpg's `$n`; answers the SQL and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql), tuple(names)


def _args(names: tuple[str, ...], params: Params | None) -> list[Any]:
    params = params or {}
    return [params[name] for name in names]


async def _keep_session(raw: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: nothing. Locks are
    transaction-scoped and nothing else changes session state, so asyncpg's default reset
    (a round trip of `RESET ALL`, `UNLISTEN *`...) would only cost time."""
    if raw.is_in_transaction():  # only after an interrupted request
        await raw.execute("ROLLBACK")


class PostgresConnection(Connection):
    def __init__(self, raw: asyncpg.Connection, changes: ChangeLog | None = None) -> None:
        self._raw = raw
        self._changes = changes

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Any]:
        query, names = translate(sql)
        return list(await self._raw.fetch(query, *_args(names, params)))

    async def fetch_one(self, sql: str, params: Params | None = None) -> Any:
        query, names = translate(sql)
        return await self._raw.fetchrow(query, *_args(names, params))

    async def execute(self, sql: str, params: Params | None = None) -> int:
        self.wrote = True
        query, names = translate(sql)
        status: str = await self._raw.execute(query, *_args(names, params))
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self.wrote = True
        query, names = translate(sql)
        await self._raw.executemany(query, [_args(names, row) for row in rows])

    async def lock(self, key: int) -> None:
        await self._raw.execute("SELECT pg_advisory_xact_lock($1)", key)


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # One look at the change log serves every request that asked while none was in
        # flight: under load, the cached path costs no round trip of its own.
        self._looks: Batcher[None, None] = Batcher(self._look)
        self._snapshot: str | None = None  # the last look's; None: no look yet

    @classmethod
    async def connect(cls, database_url: str, *, pool_size: int) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(
                database_url,
                min_size=1,
                max_size=pool_size,
                command_timeout=30,
                reset=_keep_session,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        try:
            async with self._pool.acquire() as raw:
                yield PostgresConnection(raw)
        except _OUTAGES as exc:
            raise DatabaseUnavailable() from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        try:
            async with self._pool.acquire() as raw, raw.transaction():
                with collecting(ChangeLog()) as log:
                    conn = PostgresConnection(raw, log)
                    yield conn
                    if conn.wrote:  # numbered at commit (migration 0008's trigger)
                        await write_rows(
                            conn, log, numbered_at_commit=True, publish=self._publisher
                        )
        except _OUTAGES as exc:
            raise DatabaseUnavailable() from exc

    async def catch_up(self) -> None:
        await self._looks.submit(None)

    async def _look(self, requests: list[None]) -> list[None]:
        try:
            async with self._pool.acquire() as raw:
                if self._snapshot is None:  # nothing kept yet: only where to start from
                    snapshot, tags = await raw.fetchval(_SNAPSHOT), []
                else:
                    row = await raw.fetchrow(_CHANGES_SINCE, self._snapshot)
                    snapshot, tags = row[0], row[1]
        except _OUTAGES as exc:
            raise DatabaseUnavailable() from exc
        self._drop(tag for found in tags for tag in orjson.loads(found))
        self._snapshot = snapshot
        return [None] * len(requests)


_SNAPSHOT = "SELECT pg_current_snapshot()::text"
# One statement, one snapshot: the changes it sees that `$1` did not (`xid` at or above
# `$1`'s xmin: older transactions had all ended by then, and the index finds the rest).
_CHANGES_SINCE = """SELECT pg_current_snapshot()::text,
       ARRAY(SELECT c.tags FROM changes c
              WHERE c.xid >= pg_snapshot_xmin($1::text::pg_snapshot)
                AND NOT pg_visible_in_snapshot(c.xid, $1::text::pg_snapshot))"""
