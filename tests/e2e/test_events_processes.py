"""The change feed across server processes (issue 13): two `lmsplans serve` processes on one
database, writers racing through both, a reader following the feed through both with long
polls. The reader sees every event exactly once, in the order the feed numbers them, and
the feed read again from start to end (through either process) is the same history. On
SQLite and on PostgreSQL (where the writers truly run at once)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.databases import postgres_admin_url
from tests.e2e.conftest import free_port, load_demo, running_server

pytestmark = pytest.mark.slow

WRITERS = 5
WRITES_EACH = 8


def _admin(statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(postgres_admin_url())
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Where the servers keep their data: a SQLite file (the default), or a new PostgreSQL
    database dropped afterwards."""
    if request.param == "sqlite":
        yield {}
        return
    reason = request.getfixturevalue("postgres_skip_reason")
    if reason:
        pytest.skip(reason)
    name = f"lmsplans_events_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield {"LMSPLANS_DATABASE_URL": f"{postgres_admin_url().rsplit('/', 1)[0]}/{name}"}
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_all(
    http: httpx.Client, headers: dict[str, str], after: str | None
) -> tuple[list[Any], str]:
    events: list[Any] = []
    cursor = after
    while True:
        params = {"limit": "100", **({"after": cursor} if cursor else {})}
        body = http.get("/api/v1/events", params=params, headers=headers).json()
        events.extend(body["events"])
        cursor = body["nextCursor"]
        if not body["isNextAvailable"]:
            return events, cursor


def test_every_event_once_in_order_through_two_processes(
    tmp_path: Path, database_env: dict[str, str]
) -> None:
    site = load_demo(
        tmp_path, env_extra={**database_env, "LMSPLANS_RATE_LIMIT_THRESHOLD": "100000"}
    )
    headers = {"Authorization": f"Zoho-oauthtoken {site.credentials['admin_token']}"}
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                running_server(site.env, port=free_port(), log=tmp_path / f"serve{n}.log")
            )
            for n in range(2)
        ]
        https = [
            stack.enter_context(httpx.Client(base_url=server.base_url, timeout=60))
            for server in servers
        ]
        learners = https[0].get("/api/v1/learners", params={"limit": "100"}, headers=headers)
        ids = [entry["userId"] for entry in learners.json()["learners"]][: WRITERS * WRITES_EACH]
        assert len(ids) == WRITERS * WRITES_EACH
        _, start = read_all(https[0], headers, None)

        seen: list[Any] = []
        done = threading.Event()

        def follow() -> None:
            cursor, turn = start, 0
            while True:
                finished = done.is_set()
                http = https[turn % 2]  # each page through the other process
                turn += 1
                body = http.get(
                    "/api/v1/events",
                    params={"after": cursor, "limit": "7", "wait": "1"},
                    headers=headers,
                ).json()
                seen.extend(body["events"])
                cursor = body["nextCursor"]
                if finished and not body["events"] and not body["isNextAvailable"]:
                    return

        def writer(index: int) -> list[str]:
            names = []
            with httpx.Client(base_url=servers[index % 2].base_url, timeout=60) as http:
                for learner in ids[index * WRITES_EACH : (index + 1) * WRITES_EACH]:
                    name = f"Renamed {index}-{learner}"
                    answer = http.patch(
                        f"/api/v1/learners/{learner}",
                        json={"displayName": name},
                        headers=headers,
                    )
                    assert answer.status_code == 200, answer.text
                    names.append(name)
            return names

        reader = threading.Thread(target=follow)
        reader.start()
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            written = [name for names in pool.map(writer, range(WRITERS)) for name in names]
        done.set()
        reader.join(timeout=120)
        assert not reader.is_alive()
        histories = [read_all(http, headers, start)[0] for http in https]

    assert histories[0] == histories[1] == seen  # the same history, whoever answers
    assert len({event["id"] for event in seen}) == len(seen)  # each event once
    renamed = Counter(
        event["data"]["changed"]["displayName"]
        for event in seen
        if event["type"] == "learner.updated"
    )
    assert renamed == Counter(written)  # every acknowledged write, once
