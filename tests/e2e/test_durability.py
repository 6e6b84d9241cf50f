"""Durability with a real `lmsplans serve` process on a SQLite file.

- Eight concurrent writers (threads, each with its own token and its own Idempotency-Keys)
  record progress for the same learners: every 2xx write has exactly one event, retries add
  none, and the stored state equals the replay of all events.
- The server killed with SIGKILL in the middle of a stream of writes: after a restart, every
  write that was answered 2xx is there (its event and its state), and only the writes that
  were in flight at the kill may be there without an answer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from lmsplans.server.auth import service as auth_service
from lmsplans.server.db import Database
from tests.api.test_progress_writes import assert_replay_matches
from tests.e2e.conftest import DemoSite, free_port, load_demo, running_server

pytestmark = pytest.mark.slow

# All writers are the demo admin (with a token each), calling one API. The limiter counts
# calls per (organisation, user, API): 30 a minute would lock them after a few writes. These
# tests are about losing nothing, not about the limiter, so its threshold is raised.
ROOMY_LIMIT = {"LMSPLANS_RATE_LIMIT_THRESHOLD": "1000000"}
WRITERS = 8
WRITES_EACH = 12
REQUEST_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    return load_demo(tmp_path_factory.mktemp("durability"), env_extra=ROOMY_LIMIT)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {token}"}


def rows(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()


def mint_tokens(site: DemoSite, count: int) -> list[str]:
    """Access tokens of the demo admin, written to the database before the server starts."""
    admin_id = int(site.credentials["admin_id"])
    [(org_id,)] = rows(site.database, "SELECT org_id FROM learners WHERE id = ?", (admin_id,))

    async def mint() -> list[str]:
        db = await Database.open(f"sqlite:///{site.database}")
        try:
            async with db.transaction() as conn:
                return [
                    (
                        await auth_service.issue_access_token(
                            conn,
                            org_id=org_id,
                            user_id=admin_id,
                            scopes="ZOHOPEOPLE.training.ALL",
                            now_ms=time.time_ns() // 1_000_000,
                            ttl_seconds=3600,
                        )
                    ).access_token
                    for _ in range(count)
                ]
        finally:
            await db.close()

    return asyncio.run(mint())


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_plan(
    base_url: str, token: str, *, courses: int, learners: int
) -> tuple[list[str], list[str]]:
    """A published plan with `courses` mandatory courses and `learners` new learners enrolled,
    made over HTTP; answers the course ids and the learner ids."""
    stamp = time.time_ns()
    with httpx.Client(base_url=f"{base_url}/api/v1", headers=auth(token), timeout=10) as http:
        course_ids = [
            ok(http.post("/courses", json={"courseName": f"Durable {stamp}.{n}"}))["course"][
                "courseId"
            ]
            for n in range(courses)
        ]
        people = [
            {
                "emailId": f"durable.{stamp}.{n}@zylker.example",
                "displayName": f"Durable {n}",
                "employeeId": f"D{stamp}.{n}",
            }
            for n in range(learners)
        ]
        learner_ids = [r["userId"] for r in ok(http.post("/learners", json=people))["learners"]]
        plan = ok(http.post("/learning-plans", json={"planName": f"Durable {stamp}"}))
        plan_id = plan["learningPlan"]["planInfo"]["planId"]
        ok(
            http.put(
                f"/learning-plans/{plan_id}/courses",
                json=[{"courseId": int(c), "isMandatory": True} for c in course_ids],
            )
        )
        ok(http.post(f"/learning-plans/{plan_id}/publish"))
        ok(http.put(f"/learning-plans/{plan_id}/learners", json=learner_ids))
    return course_ids, learner_ids


def progress_path(course: str, learner: str) -> str:
    return f"/api/v1/courses/{course}/learners/{learner}/course-progress"


def assert_projection_is_the_replay(database: Path) -> None:
    assert_replay_matches(
        rows(database, "SELECT * FROM progress_events ORDER BY id"),
        rows(database, "SELECT * FROM course_progress"),
        rows(database, "SELECT * FROM plan_enrolments"),
    )


def keyed_events(database: Path, prefix: str) -> dict[str, list[sqlite3.Row]]:
    found: dict[str, list[sqlite3.Row]] = {}
    for row in rows(
        database,
        "SELECT * FROM progress_events WHERE idempotency_key LIKE ? ORDER BY id",
        (prefix + "%",),
    ):
        found.setdefault(row["idempotency_key"], []).append(row)
    return found


def test_eight_concurrent_writers_lose_nothing(site: DemoSite, tmp_path: Path) -> None:
    tokens = mint_tokens(site, WRITERS)
    with running_server(site.env, port=free_port(), log=tmp_path / "serve.log") as server:
        courses, learners = new_plan(
            server.base_url, site.credentials["admin_token"], courses=2, learners=4
        )
        pairs = [(course, learner) for learner in learners for course in courses]
        start = threading.Barrier(WRITERS)

        def writer(w: int) -> list[tuple[str, str, str, int, httpx.Response]]:
            """Write g = w*12 .. w*12+11: pair g % 8 gets percentage 1 + g // 8, so every
            write to a pair differs from every other and each must change its state."""
            done = []
            with httpx.Client(
                base_url=server.base_url, headers=auth(tokens[w]), timeout=REQUEST_TIMEOUT
            ) as http:
                start.wait(timeout=REQUEST_TIMEOUT)
                for i in range(WRITES_EACH):
                    g = w * WRITES_EACH + i
                    course, learner = pairs[g % len(pairs)]
                    percentage = 1 + g // len(pairs)
                    key = f"writer-{w}-{i}"
                    body = {"completionPercentage": percentage}
                    headers = {"Idempotency-Key": key}
                    response = http.put(progress_path(course, learner), json=body, headers=headers)
                    done.append((key, course, learner, percentage, response))
                    if i % 4 == 3:  # a client retry: the first answer again, nothing written
                        retry = http.put(progress_path(course, learner), json=body, headers=headers)
                        assert retry.status_code == response.status_code
                        assert retry.content == response.content
                        assert retry.headers["idempotent-replayed"] == "true"
            return done

        with ThreadPoolExecutor(WRITERS) as pool:
            results = [item for part in pool.map(writer, range(WRITERS)) for item in part]

        assert len(results) == WRITERS * WRITES_EACH
        for key, course, learner, percentage, response in results:
            record = ok(response)["courseProgress"]
            assert (record["courseId"], record["userId"]) == (course, learner), key
            assert record["completionPercentage"] == str(percentage), key

        database = site.database
        events = keyed_events(database, "writer-")
        assert sorted(events) == sorted(key for key, *_ in results)
        for key, course, learner, percentage, _ in results:
            [event] = events[key]
            assert event["kind"] == "course_progress"
            assert (str(event["course_id"]), str(event["learner_id"])) == (course, learner)
            assert orjson.loads(event["after_state"])["percentage"] == percentage
        # Each learner joined once, however many writes raced to join them.
        for learner in learners:
            joined = rows(
                database,
                "SELECT count(*) FROM progress_events WHERE learner_id = ? AND kind = 'joined'",
                (int(learner),),
            )
            assert joined[0][0] == 1
        assert_projection_is_the_replay(database)
        # The server answers the same state it stored.
        with httpx.Client(
            base_url=server.base_url, headers=auth(tokens[0]), timeout=REQUEST_TIMEOUT
        ) as http:
            for course, learner in pairs:
                [stored] = rows(
                    database,
                    "SELECT percentage FROM course_progress WHERE course_id = ? AND learner_id = ?",
                    (int(course), int(learner)),
                )
                record = ok(http.get(progress_path(course, learner)))["courseProgress"]
                assert record["completionPercentage"] == str(stored["percentage"])


KILL_WRITERS = 4
KILL_AFTER_ACKS = 200
MAX_WRITES_EACH = 5000
ACK_DEADLINE_SECONDS = 15.0


def test_sigkill_loses_no_write_answered_2xx(site: DemoSite, tmp_path: Path) -> None:
    tokens = mint_tokens(site, KILL_WRITERS)
    acked: list[list[tuple[str, int]]] = [[] for _ in range(KILL_WRITERS)]
    in_flight: list[tuple[str, int] | None] = [None] * KILL_WRITERS
    refused: list[httpx.Response] = []

    with running_server(site.env, port=free_port(), log=tmp_path / "first.log") as server:
        [course], learners = new_plan(
            server.base_url, site.credentials["admin_token"], courses=1, learners=KILL_WRITERS
        )

        def writer(w: int) -> None:
            """Writer w alone writes learner w's course, percentages 1, 2, .. 98, 1, ..: each
            write changes the state. It stops at the first transport error (the kill)."""
            with httpx.Client(
                base_url=server.base_url, headers=auth(tokens[w]), timeout=REQUEST_TIMEOUT
            ) as http:
                for i in range(MAX_WRITES_EACH):
                    key, percentage = f"kill-{w}-{i}", 1 + i % 98
                    in_flight[w] = (key, percentage)
                    try:
                        response = http.put(
                            progress_path(course, learners[w]),
                            json={"completionPercentage": percentage},
                            headers={"Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        return
                    if response.status_code != 200:
                        refused.append(response)
                        return
                    acked[w].append((key, percentage))
                    in_flight[w] = None

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(KILL_WRITERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + ACK_DEADLINE_SECONDS
        while sum(map(len, acked)) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=5)
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
            assert not thread.is_alive()

    assert not refused, [r.text for r in refused]
    assert sum(map(len, acked)) >= KILL_AFTER_ACKS, "the writes never got going"
    # Killed mid-stream: every writer was still writing.
    assert all(len(done) < MAX_WRITES_EACH for done in acked)
    assert server.process.returncode == -signal.SIGKILL

    with running_server(site.env, port=free_port(), log=tmp_path / "second.log") as again:
        database = site.database
        events = keyed_events(database, "kill-")
        for w in range(KILL_WRITERS):
            for key, percentage in acked[w]:
                [event] = events.pop(key)
                assert orjson.loads(event["after_state"])["percentage"] == percentage
                assert event["learner_id"] == int(learners[w])
        # Only a write in flight at the kill may have landed without an answer.
        unanswered = {key for key, _ in filter(None, in_flight)}
        assert set(events) <= unanswered
        for w in range(KILL_WRITERS):
            last = acked[w][-1]
            landed = in_flight[w] if in_flight[w] and in_flight[w][0] in events else None
            [stored] = rows(
                database,
                "SELECT percentage FROM course_progress WHERE course_id = ? AND learner_id = ?",
                (int(course), int(learners[w])),
            )
            assert stored["percentage"] == (landed or last)[1]
        assert_projection_is_the_replay(database)

        # The restarted server serves that state, and remembers the acknowledged keys: a
        # retry of the last acknowledged write answers it again without writing.
        with httpx.Client(
            base_url=again.base_url, headers=auth(tokens[0]), timeout=REQUEST_TIMEOUT
        ) as http:
            events_before = rows(database, "SELECT count(*) FROM progress_events")[0][0]
            for w in range(KILL_WRITERS):
                key, percentage = acked[w][-1]
                with httpx.Client(
                    base_url=again.base_url, headers=auth(tokens[w]), timeout=REQUEST_TIMEOUT
                ) as own:
                    retry = own.put(
                        progress_path(course, learners[w]),
                        json={"completionPercentage": percentage},
                        headers={"Idempotency-Key": key},
                    )
                assert ok(retry)["courseProgress"]["completionPercentage"] == str(percentage)
                assert retry.headers["idempotent-replayed"] == "true"
                record = ok(http.get(progress_path(course, learners[w])))["courseProgress"]
                [stored] = rows(
                    database,
                    "SELECT percentage FROM course_progress WHERE course_id = ? AND learner_id = ?",
                    (int(course), int(learners[w])),
                )
                assert record["completionPercentage"] == str(stored["percentage"])
            assert rows(database, "SELECT count(*) FROM progress_events")[0][0] == events_before
