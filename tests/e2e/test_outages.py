"""Dependencies failing under a running server: PostgreSQL and Redis cut, then brought back.

The outage is real at the network level: the server reaches PostgreSQL and Redis through
a TCP relay (`tests.relay.TcpRelay`), which can be cut (its listening socket closed and
every relayed connection reset) and restored on the same port. No code of ours is
mocked. While a dependency is unreachable, API calls answer 503 7503 in the error envelope
(never 200: limiting never silently stops) and `/readyz` names what is down; once it is
back, the same server answers 200 again, and the limiter still counts.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import assert_error
from tests.databases import postgres_admin_url
from tests.e2e.conftest import ServerProcess, cli_env, free_port, load_demo, running_server
from tests.relay import TcpRelay, relay_to

pytestmark = pytest.mark.slow

# Every wait is bounded: one HTTP call, seeing an outage, recovering (and each relay
# operation: `tests.relay`).
CALL_SECONDS = 10.0
OUTAGE_SECONDS = 5.0
RECOVERY_SECONDS = 10.0
# Small enough to reach in a few calls, with a window and a lock longer than the test.
THRESHOLD = 8
LIMITS = {
    "LMSPLANS_RATE_LIMIT_THRESHOLD": str(THRESHOLD),
    "LMSPLANS_RATE_LIMIT_WINDOW_SECONDS": "120",
    "LMSPLANS_RATE_LIMIT_LOCK_SECONDS": "120",
}


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(postgres_admin_url(), timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url(postgres_skip_reason: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database of this test's own; dropped at the end."""
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    name = f"lmsplans_outage_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_admin_url().rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Site:
    """A demo organisation on PostgreSQL, served with Redis, both reached through relays."""

    credentials: dict[str, str]
    server: ServerProcess
    postgres: TcpRelay
    redis: TcpRelay
    http: httpx.Client

    def progress(self) -> httpx.Response:
        """The reference endpoint, as the demo's admin."""
        return self.http.get(
            f"/api/v1/learners/{self.credentials['learner_id']}/learning-plans/progress",
            headers={"Authorization": f"Zoho-oauthtoken {self.credentials['admin_token']}"},
        )

    def ready(self) -> httpx.Response:
        return self.http.get("/readyz")


@pytest.fixture
def site(tmp_path: Path, redis_url: str, postgres_url: str) -> Iterator[Site]:
    # `lmsplans demo --no-serve` on PostgreSQL, as a user would load it.
    credentials = load_demo(
        tmp_path / "demo", env_extra={"LMSPLANS_DATABASE_URL": postgres_url}
    ).credentials
    with (
        relay_to(postgres_url, 5432) as (postgres, postgres_relayed),
        relay_to(redis_url, 6379) as (redis, redis_relayed),
    ):
        env = cli_env(
            tmp_path / "unused.db",
            LMSPLANS_DATABASE_URL=postgres_relayed,
            LMSPLANS_REDIS_URL=redis_relayed,
            LMSPLANS_REDIS_PREFIX=f"lmsplans-e2e:{uuid.uuid4().hex}:",
            **LIMITS,
        )
        with (
            running_server(env, port=free_port(), log=tmp_path / "serve.log") as server,
            httpx.Client(base_url=server.base_url, timeout=CALL_SECONDS) as http,
        ):
            yield Site(credentials, server, postgres, redis, http)


def poll(
    call: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool], seconds: float
) -> list[httpx.Response]:
    """`call()` until an answer is `done` or `seconds` have passed; every answer seen."""
    deadline = time.monotonic() + seconds
    answers = [call()]
    while not done(answers[-1]) and time.monotonic() < deadline:
        time.sleep(0.1)
        answers.append(call())
    return answers


def statuses(answers: list[httpx.Response]) -> list[int]:
    return [answer.status_code for answer in answers]


def assert_ready(site: Site) -> None:
    answer = site.ready()
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "limiter": "ok"}}


def assert_out(site: Site, *, down: str) -> list[httpx.Response]:
    """While `down` ("database" or "limiter") is cut: API calls come to answer 503 7503
    (none answers 200), and /readyz 503 naming it. Answers the API answers seen."""
    seen = poll(site.progress, lambda answer: answer.status_code == 503, OUTAGE_SECONDS)
    assert 200 not in statuses(seen), (statuses(seen), site.server.log_text())
    seen += [site.progress() for _ in range(3)]
    for answer in seen[-4:]:
        assert_error(answer, 503, 7503)
    readiness = assert_error(site.ready(), 503, 7503)
    checks = {"database": "ok", "limiter": "ok", down: "down"}
    assert readiness["checks"] == checks
    assert f"{down} down" in readiness["message"]
    return seen


def assert_back(site: Site) -> list[httpx.Response]:
    """Once the dependency is back: 200 again and /readyz ready. Answers the API answers
    seen, the first 200 last."""
    seen = poll(site.progress, lambda answer: answer.status_code == 200, RECOVERY_SECONDS)
    assert seen[-1].status_code == 200, (statuses(seen), seen[-1].text, site.server.log_text())
    assert_ready(site)
    return seen


def assert_all_unavailable(site: Site, answers: list[httpx.Response]) -> None:
    """Every answer between the cut and the first 200 was 503 7503 (never a 500, say).

    Checked last, so a failure here comes after everything else has been seen to hold."""
    wrong = [a for a in answers if (a.status_code, a.json().get("code")) != (503, 7503)]
    assert not wrong, (
        f"answers while down: {statuses(answers)}; not 503 7503: {[a.text for a in wrong]}\n"
        f"server log:\n{site.server.log_text()}"
    )
    for answer in answers:
        assert_error(answer, 503, 7503)


def cut_and_restore(site: Site, relay: TcpRelay, *, down: str) -> list[httpx.Response]:
    """An answer before, the outage of `relay`'s dependency (`down` in /readyz), and its
    return: answers every API answer from the cut on, the first 200 after it last."""
    before = site.progress()
    assert before.status_code == 200, before.text
    assert site.redis.accepted > 0 and site.postgres.accepted > 0  # the server uses the relays
    assert_ready(site)

    relay.cut()
    seen = assert_out(site, down=down)

    relay.restore()
    seen += assert_back(site)
    assert seen[-1].json() == before.json()
    return seen


def test_redis_outage_answers_503_then_recovers_and_still_limits(site: Site) -> None:
    *down, back = cut_and_restore(site, site.redis, down="limiter")
    # The count made before the outage is still there, and counting goes on: two calls
    # so far, then exactly the rest of the threshold, then the lock.
    assert back.headers["ratelimit"].startswith(f'"api";r={THRESHOLD - 2};')
    rest = [site.progress() for _ in range(THRESHOLD - 2 + 2)]
    assert statuses(rest) == [200] * (THRESHOLD - 2) + [429, 429]
    for refused in rest[-2:]:
        assert_error(refused, 429, 7209)
        assert int(refused.headers["Retry-After"]) > 0

    assert_all_unavailable(site, down)


def test_postgres_outage_answers_503_then_recovers(site: Site) -> None:
    *down, _ = cut_and_restore(site, site.postgres, down="database")
    assert site.progress().status_code == 200

    assert_all_unavailable(site, down)
