"""The databases and Redis the benchmarks use, reached one way everywhere: a query over a
set of ids on either backend, a short PostgreSQL session, a Redis client, and the checks
and versions the reports name."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def on_postgres(url: str, work: Callable[[Any], Awaitable[T]], *, timeout: float = 10) -> T:
    """`work(connection)` on one asyncpg connection to `url`, closed afterwards."""

    async def session() -> T:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=timeout)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(session())


def rows_for_ids(backend: str, url: str, query: str, ids: Iterable[int]) -> list[tuple[Any, ...]]:
    """`query`, whose `{}` stands for the list of `ids` (as in `x IN ({})`), read-only on
    either backend; the rows as tuples."""
    values = sorted(set(ids))
    if backend == "sqlite":
        with sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True) as conn:
            return conn.execute(query.format(", ".join("?" * len(values))), values).fetchall()

    async def read(conn: Any) -> list[tuple[Any, ...]]:
        found = await conn.fetch(query.format("SELECT unnest($1::bigint[])"), values)
        return [tuple(row) for row in found]

    return on_postgres(url, read)


def first_row(backend: str, url: str, query: str) -> tuple[Any, ...] | None:
    """The first row of a query without parameters, read-only on either backend."""
    if backend == "sqlite":
        with sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True) as conn:
            row: tuple[Any, ...] | None = conn.execute(query).fetchone()
            return row

    async def read(conn: Any) -> tuple[Any, ...] | None:
        found = await conn.fetchrow(query)
        return None if found is None else tuple(found)

    return on_postgres(url, read)


@contextlib.contextmanager
def redis_client(url: str) -> Iterator[Any]:
    from redis import Redis

    client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        yield client
    finally:
        client.close()


def drop_redis_keys(url: str, prefix: str) -> None:
    """Delete a run's limiter keys (bounded: at most 100 SCAN rounds)."""
    with contextlib.suppress(Exception), redis_client(url) as client:
        cursor = 0
        for _ in range(100):
            cursor, found = client.scan(cursor=cursor, match=prefix + "*", count=10_000)
            if found:
                client.delete(*found)
            if cursor == 0:
                break


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(parts.password, "***"))
    return urllib.parse.urlunsplit(parts)


def postgres_version(admin_url: str) -> str:
    async def read(conn: Any) -> str:
        return str(await conn.fetchval("SHOW server_version"))

    try:
        return on_postgres(admin_url, read, timeout=5)
    except Exception:
        return "unknown"


def redis_version(url: str) -> str:
    try:
        with redis_client(url) as client:
            return str(client.info("server").get("redis_version", "unknown"))
    except Exception:
        return "unknown"


def missing_services(pg_admin_url: str, redis_url: str) -> list[str]:
    """What is missing for the PostgreSQL + Redis runs."""
    problems = []

    async def nothing(conn: Any) -> None:
        return None

    try:
        on_postgres(pg_admin_url, nothing, timeout=5)
    except Exception as exc:
        problems.append(f"PostgreSQL at {redact(pg_admin_url)}: {exc}")
    try:
        with redis_client(redis_url) as client:
            client.ping()
    except Exception as exc:
        problems.append(f"Redis at {redact(redis_url)}: {exc}")
    return problems
