"""Test databases on every backend, copied from templates built once per session.

SQLite always runs. PostgreSQL runs at `LMSPLANS_TEST_POSTGRES_URL` (default: the local
server, `postgresql://postgres@127.0.0.1:5432/test`). When that variable is set, an
unreachable server fails the tests loudly; when it is not set and no local server answers,
the PostgreSQL cases are skipped with that reason (`.ci/run` always sets it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from lmsplans.demo import build_demo
from lmsplans.migrations import migrate
from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.db.schema import metadata
from lmsplans.server.models import metadata as _all_tables  # noqa: F401  (registers tables)

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Small enough to build in a blink, large enough for several pages everywhere.
DEMO_LEARNERS = 60


def postgres_admin_url() -> str:
    return os.environ.get("LMSPLANS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_required() -> bool:
    return "LMSPLANS_TEST_POSTGRES_URL" in os.environ


def postgres_unavailable_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    url = postgres_admin_url()

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL is not reachable at {url} ({exc})"
        if postgres_required():
            raise RuntimeError(message) from exc
        return message + "; set LMSPLANS_TEST_POSTGRES_URL to require it"
    return None


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(postgres_admin_url())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _build(url: str, *, with_demo: bool) -> None:
    await asyncio.to_thread(migrate, url)
    if with_demo:
        db = await Database.open(url, pool_size=2)
        try:
            await build_demo(db, now_ms=Clock().now_ms(), learners=DEMO_LEARNERS)
        finally:
            await db.close()


# Every table. The change log is emptied but never copied: a test's processes start with
# nothing kept, and its PostgreSQL rows hold transaction ids of the session that wrote them.
_TABLES = [table.name for table in metadata.sorted_tables]
_LOG_TABLES = {"changes", "change_sequences"}
_TABLES_WITH_IDS = [table.name for table in metadata.sorted_tables if "id" in table.c]


@dataclass
class _Snapshot:
    """Every row of every table, and where each identity sequence stood."""

    rows: dict[str, list[asyncpg.Record]]
    sequences: dict[str, int]


async def _snapshot(url: str) -> _Snapshot:
    conn = await asyncpg.connect(url)
    try:
        rows = {
            table: await conn.fetch(f"SELECT * FROM {table}")
            for table in _TABLES
            if table not in _LOG_TABLES
        }
        sequences = {}
        for table in _TABLES_WITH_IDS:
            sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
            if sequence:
                sequences[sequence] = await conn.fetchval(f"SELECT last_value FROM {sequence}")
    finally:
        await conn.close()
    return _Snapshot(rows, sequences)


async def _restore(url: str, snapshot: _Snapshot | None) -> None:
    """Empty every table, then load the snapshot (None: leave it empty). A schema a test
    broke on purpose (a dropped table) is built anew first."""
    conn = await asyncpg.connect(url)
    try:
        present = await conn.fetchval(
            "SELECT count(*) FROM unnest($1::text[]) AS t(name)"
            " WHERE to_regclass(name) IS NOT NULL",
            _TABLES,
        )
        if present != len(_TABLES):
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            await asyncio.to_thread(migrate, url)
        async with conn.transaction():
            await conn.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
            if snapshot is not None:
                for table in _TABLES:
                    records = snapshot.rows.get(table, [])
                    if records:
                        await conn.copy_records_to_table(
                            table, records=records, columns=list(records[0].keys())
                        )
                for sequence, value in snapshot.sequences.items():
                    await conn.execute("SELECT setval($1, $2)", sequence, value)
    finally:
        await conn.close()


class Templates:
    """Migrated databases (empty, and with the small demo), built on first use.

    SQLite: a template file per kind, copied for each test. PostgreSQL: one database per
    session (creating one per test takes a second or more); each test empties it and loads
    the kind's snapshot, which takes a few milliseconds.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sqlite: dict[str, Path] = {}
        self._postgres_url: str | None = None
        self._snapshots: dict[str, _Snapshot | None] = {}

    def _sqlite_template(self, kind: str) -> Path:
        if kind not in self._sqlite:
            path = self.directory / f"template-{kind}.db"
            asyncio.run(_build(f"sqlite:///{path}", with_demo=kind == "demo"))
            self._sqlite[kind] = path
        return self._sqlite[kind]

    def _postgres(self, kind: str) -> tuple[str, _Snapshot | None]:
        if self._postgres_url is None:
            name = f"lmsplans_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
            self._postgres_url = _with_database(postgres_admin_url(), name)
            asyncio.run(_build(self._postgres_url, with_demo=False))
            self._snapshots["empty"] = None
        if kind not in self._snapshots:
            asyncio.run(_restore(self._postgres_url, None))
            asyncio.run(_build(self._postgres_url, with_demo=True))
            self._snapshots[kind] = asyncio.run(_snapshot(self._postgres_url))
        return self._postgres_url, self._snapshots[kind]

    def new_database(self, backend: str, kind: str, tmp_path: Path) -> str:
        """A database holding exactly the template of `kind`; answers its URL."""
        if backend == "sqlite":
            path = tmp_path / "lmsplans.db"
            shutil.copyfile(self._sqlite_template(kind), path)
            return f"sqlite:///{path}"
        url, snapshot = self._postgres(kind)
        asyncio.run(_restore(url, snapshot))
        return url

    def close(self) -> None:
        if self._postgres_url is not None:
            name = self._postgres_url.rsplit("/", 1)[1]
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_test_url() -> str:
    return os.environ.get("LMSPLANS_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def redis_unavailable_reason() -> str | None:
    """Why Redis tests cannot run here, or None when they can (as for PostgreSQL)."""
    from redis import Redis
    from redis.exceptions import RedisError

    url = redis_test_url()
    try:
        client = Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except (RedisError, OSError) as exc:
        message = f"Redis is not reachable at {url} ({exc})"
        if "LMSPLANS_TEST_REDIS_URL" in os.environ:
            raise RuntimeError(message) from exc
        return message + "; set LMSPLANS_TEST_REDIS_URL to require it"
    return None
