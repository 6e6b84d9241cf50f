"""Two real worker processes on one port (`lmsplans serve --workers 2`), sharing Redis.

The limiter is shared: 60 calls from one user give exactly 30 successes, wherever they land.
Writes through both workers lose nothing.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from lmsplans.server.progress.events import replay
from tests.e2e.conftest import DemoSite, ServerProcess, free_port, load_demo, running_server

pytestmark = pytest.mark.slow


@contextmanager
def two_workers(
    root: Path, redis_url: str, **settings: str
) -> Iterator[tuple[DemoSite, ServerProcess]]:
    """A small demo database served by two worker processes sharing `redis_url`."""
    site = load_demo(root)
    env = {
        **site.env,
        "LMSPLANS_REDIS_URL": redis_url,
        "LMSPLANS_REDIS_PREFIX": f"lmsplans-e2e:{uuid.uuid4().hex}:",
        **settings,
    }
    port = free_port()
    with running_server(
        env, port=port, log=root / "serve.log", command=("serve", "--workers", "2")
    ) as server:
        assert len(_worker_pids(server.base_url)) == 2
        yield site, server


def _worker_pids(base_url: str) -> set[str]:
    """The processes answering on the port, seen over fresh connections (bounded)."""
    pids: set[str] = set()
    for _ in range(200):
        pids.add(httpx.get(f"{base_url}/healthz", timeout=5).json()["process"])
        if len(pids) == 2:
            break
    return pids


def test_sixty_calls_from_one_user_give_exactly_thirty_successes(
    tmp_path: Path, redis_url: str
) -> None:
    with two_workers(tmp_path, redis_url) as (site, server):
        path = f"/api/v1/learners/{site.credentials['learner_id']}/learning-plans/progress"
        headers = {"Authorization": f"Zoho-oauthtoken {site.credentials['admin_token']}"}
        answers = []
        for _ in range(60):
            # A new connection per call, so the calls spread over both workers.
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                answers.append(http.get(path, headers=headers))
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {200: 30, 429: 30}
        assert all(a.json()["code"] == 7209 for a in answers if a.status_code == 429)
        assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status_code == 429)
        # The lock set through one worker holds on both.
        assert all(a.status_code == 429 for a in answers[30:])


def test_concurrent_writes_through_both_workers_lose_nothing(
    tmp_path: Path, redis_url: str
) -> None:
    # One admin makes all the writes: the threshold is raised so the limiter (tested above)
    # does not refuse them.
    with two_workers(tmp_path, redis_url, LMSPLANS_RATE_LIMIT_THRESHOLD="100000") as (
        site,
        server,
    ):
        with closing(sqlite3.connect(site.database)) as conn:
            pairs = conn.execute(
                """SELECT learner_id, course_id FROM course_progress
                    WHERE status = 'notStarted' ORDER BY learner_id, course_id LIMIT 80"""
            ).fetchall()
        assert len(pairs) == 80
        headers = {"Authorization": f"Zoho-oauthtoken {site.credentials['admin_token']}"}

        def writer(index: int) -> list[str]:
            """Ten writes, each to a pair of its own, each a real change of state."""
            acknowledged = []
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                for learner_id, course_id in pairs[index * 10 : index * 10 + 10]:
                    key = uuid.uuid4().hex
                    answer = http.put(
                        f"/api/v1/courses/{course_id}/learners/{learner_id}/course-progress",
                        json={"completionPercentage": 10 + index},
                        headers={**headers, "Idempotency-Key": key, "Connection": "close"},
                    )
                    if answer.status_code == 200:
                        acknowledged.append(key)
            return acknowledged

        with ThreadPoolExecutor(max_workers=8) as pool:
            acknowledged = [key for keys in pool.map(writer, range(8)) for key in keys]
    assert len(acknowledged) == 80

    with closing(sqlite3.connect(site.database)) as conn:
        conn.row_factory = sqlite3.Row
        keys = conn.execute(
            "SELECT idempotency_key FROM progress_events WHERE kind = 'course_progress'"
            " AND idempotency_key IS NOT NULL"
        ).fetchall()
        assert Counter(row[0] for row in keys) == Counter(acknowledged)  # each once
        events = conn.execute("SELECT * FROM progress_events ORDER BY id").fetchall()
        projection = replay(events)
        for row in conn.execute(
            "SELECT learner_id, course_id, status, percentage, enrolled_time, completed_time"
            " FROM course_progress"
        ):
            state = {
                "status": row["status"],
                "percentage": row["percentage"],
                "enrolledTime": row["enrolled_time"],
                "completedTime": row["completed_time"],
            }
            assert projection.courses[(row["learner_id"], row["course_id"])] == state


def test_a_write_through_one_worker_is_in_every_next_answer_of_both(
    tmp_path: Path, redis_url: str
) -> None:
    """Each worker keeps answers in memory while no write is committed: a write through
    either must reach the next read through both (the SQLite WAL index tells the other)."""
    with two_workers(tmp_path, redis_url, LMSPLANS_RATE_LIMIT_THRESHOLD="100000") as (
        site,
        server,
    ):
        learner_id = site.credentials["learner_id"]
        headers = {"Authorization": f"Zoho-oauthtoken {site.credentials['admin_token']}"}
        path = f"/api/v1/learners/{learner_id}/learning-plans/progress"

        def completed_counts() -> list[dict[str, str]]:
            """The answer read over 16 fresh connections (both workers, all but surely)."""
            seen = []
            for _ in range(16):
                with httpx.Client(base_url=server.base_url, timeout=10) as http:
                    answer = http.get(path, headers=headers)
                assert answer.status_code == 200, answer.text
                seen.append(
                    {
                        plan["planId"]: plan["progressInfo"]["completedCourseCount"]
                        for plan in answer.json()["learningPlans"]
                    }
                )
            return seen

        before = completed_counts()  # now cached by both workers
        assert all(counts == before[0] for counts in before)
        with closing(sqlite3.connect(site.database)) as conn:
            plan_id, course_id = conn.execute(
                """SELECT pc.plan_id, pc.course_id FROM plan_courses pc
                     JOIN plan_enrolments e ON e.plan_id = pc.plan_id
                     LEFT JOIN course_progress cp
                       ON cp.course_id = pc.course_id AND cp.learner_id = e.learner_id
                    WHERE e.learner_id = ? AND e.unenrolled_time IS NULL
                      AND coalesce(cp.status, 'notStarted') != 'completed'
                    ORDER BY pc.plan_id, pc.course_id LIMIT 1""",
                (int(learner_id),),
            ).fetchone()
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            recorded = http.put(
                f"/api/v1/courses/{course_id}/learners/{learner_id}/course-progress",
                json={"completionStatus": "completed"},
                headers=headers,
            )
        assert recorded.status_code == 200, recorded.text
        expected = {**before[0], str(plan_id): str(int(before[0][str(plan_id)]) + 1)}
        assert completed_counts() == [expected] * 16
