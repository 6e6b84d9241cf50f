"""`plan.enrollment.overdue` (issue 13): the sweep announces each enrolment whose due time
passed once, in a write of its own with its place in the feed, whichever process sweeps;
every server process sweeps periodically. And the snapshots enrolment and progress events
carry: the reads' `userInfo` and `progressInfo`. On both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.events.overdue import BATCH as OVERDUE_BATCH
from lmsplans.server.events.overdue import sweep_overdue
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import DAY_MS, admin_token
from tests.api.test_events_feed import read_all
from tests.api.test_progress_writes import Api, ok_body


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The periodic sweep is this module's own test's (`overdue_sweep_seconds`).
    return Settings(database_url=database_url, rate_limit_threshold=10**6, overdue_sweep_seconds=0)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    # A long-lived token: these tests move the clock by days.
    return Api(client, await admin_token(services, demo, services.clock.now_ms()))


async def two_day_plan(admin: Api) -> tuple[str, str, list[str]]:
    """A published plan due two days after enrolment, with three learners enrolled."""
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)], duration=2, duration_type=0)
    learners = await admin.learners(3)
    await admin.enrol(plan, [int(learner) for learner in learners])
    return course, plan, learners


async def swept(
    admin: Api, services: Services, clock: ManualClock, start: str, plan: str
) -> list[dict[str, Any]]:
    """Sweep now; the plan's overdue events since `start` (the demo's own enrolments turn
    overdue as the clock moves too: they are left out)."""
    await sweep_overdue(services.db, now_ms=clock.now_ms())
    events, _ = await read_all(admin, start, types="plan.enrollment.overdue")
    return [event for event in events if event["planId"] == plan]


async def test_the_sweep_announces_each_overdue_enrolment_once(
    admin: Api, services: Services, clock: ManualClock
) -> None:
    _, start = await read_all(admin)
    course, plan, (done, late, gone) = await two_day_plan(admin)
    ok_body(await admin.progress(course, done, {"completionStatus": "completed"}))
    ok_body(await admin.send("DELETE", f"/learning-plans/{plan}/learners/{gone}"))
    assert await swept(admin, services, clock, start, plan) == []  # not due yet
    clock.advance(2 * DAY_MS / 1000)
    assert await swept(admin, services, clock, start, plan) == []  # due, not past due
    clock.advance(1)
    [overdue] = await swept(admin, services, clock, start, plan)
    assert await swept(admin, services, clock, start, plan) == [overdue]  # once
    clock.advance(DAY_MS / 1000)
    assert await swept(admin, services, clock, start, plan) == [overdue]  # still once
    assert (overdue["learnerId"], overdue["planId"], overdue["courseId"]) == (late, plan, "null")
    entry = await admin.plan_progress(late, plan)
    assert overdue["data"]["userInfo"] == entry["userInfo"]
    assert overdue["data"]["progressInfo"] == entry["progressInfo"]
    assert entry["progressInfo"]["isOverdue"] is True
    assert overdue["data"]["dueTime"] == entry["progressInfo"]["dueTime"]
    everything, _ = await read_all(admin, start)
    assert everything[-1] == overdue  # its place: after every write before the sweep


async def test_sweeps_at_the_same_time_announce_once(
    admin: Api, services: Services, clock: ManualClock
) -> None:
    _, start = await read_all(admin)
    _, plan, learners = await two_day_plan(admin)
    clock.advance(3 * DAY_MS / 1000)
    counts = await asyncio.gather(
        *(sweep_overdue(services.db, now_ms=clock.now_ms()) for _ in range(4))
    )
    events, _ = await read_all(admin, start, types="plan.enrollment.overdue")
    async with services.db.read() as conn:  # every organisation's (the demo has two)
        notices = int(await conn.fetch_value("SELECT count(*) FROM overdue_notices"))
        announced = int(
            await conn.fetch_value(
                "SELECT count(*) FROM changes WHERE event_type = 'plan.enrollment.overdue'"
            )
        )
    assert sum(counts) == notices == announced  # what each sweep announced, once in all
    assert len(events) == len({(event["learnerId"], event["planId"]) for event in events})
    assert sorted(e["learnerId"] for e in events if e["planId"] == plan) == sorted(learners)


async def test_enrolled_again_is_announced_again_when_the_new_due_time_passes(
    admin: Api, services: Services, clock: ManualClock
) -> None:
    _, start = await read_all(admin)
    _, plan, (first, *_) = await two_day_plan(admin)
    clock.advance(3 * DAY_MS / 1000)
    assert len(await swept(admin, services, clock, start, plan)) == 3
    ok_body(await admin.send("DELETE", f"/learning-plans/{plan}/learners/{first}"))
    await admin.enrol(plan, [int(first)])
    assert len(await swept(admin, services, clock, start, plan)) == 3
    clock.advance(3 * DAY_MS / 1000)
    events = await swept(admin, services, clock, start, plan)
    assert [event["learnerId"] for event in events].count(first) == 2
    assert len(events) == 4


async def test_enrolment_and_progress_events_carry_what_the_reads_answer(admin: Api) -> None:
    _, start = await read_all(admin)
    course, plan, (alice, *_) = await two_day_plan(admin)
    ok_body(await admin.progress(course, alice, {"completionStatus": "completed"}))
    events, _ = await read_all(admin, start, types="plan.enrollment.*,course.progress.*")
    mine = [event for event in events if event["learnerId"] == alice]
    by_type: dict[str, dict[str, Any]] = {event["type"]: event["data"] for event in mine}
    entry = await admin.plan_progress(alice, plan)
    assert by_type["plan.enrollment.created"]["userInfo"]["userId"] == alice
    assert (
        by_type["plan.enrollment.created"]["userInfo"]["planuserId"]
        == entry["userInfo"]["planuserId"]
    )
    completed = by_type["plan.enrollment.completed"]
    assert completed["userInfo"] == entry["userInfo"]
    assert completed["progressInfo"] == entry["progressInfo"]
    [in_plan] = by_type["course.progress.completed"]["plans"]
    assert in_plan == {
        "planId": plan,
        "userInfo": entry["userInfo"],
        "progressInfo": entry["progressInfo"],
    }
    assert in_plan["progressInfo"]["status"] == "completed"


async def test_every_server_process_sweeps_periodically(
    database_url: str, demo: DemoTokens, clock: ManualClock
) -> None:
    """A server with a short sweep period announces an enrolment overdue without any call:
    a long poll for that type answers it."""
    from asgi_lifespan import LifespanManager

    from lmsplans.server.app import create_app

    app = create_app(
        Settings(database_url=database_url, rate_limit_threshold=10**6, overdue_sweep_seconds=0.2),
        clock=clock,
    )
    async with LifespanManager(app):
        services: Services = app.state.services
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = Api(http, await admin_token(services, demo, clock.now_ms()))
            _, start = await read_all(admin)
            _, plan, learners = await two_day_plan(admin)
            clock.advance(3 * DAY_MS / 1000)
            seen: list[dict[str, Any]] = []
            cursor = start
            while len([event for event in seen if event["planId"] == plan]) < 3:
                body = await admin.ok(
                    "GET",
                    "/events",
                    params={"after": cursor, "types": "plan.enrollment.overdue", "wait": 10},
                )
                assert body["events"], "no overdue event within the wait"
                seen.extend(body["events"])
                cursor = body["nextCursor"]
    mine = [event for event in seen if event["planId"] == plan]
    assert sorted(event["learnerId"] for event in mine) == sorted(learners)


async def test_a_long_sweep_gives_the_event_loop_turns(
    admin: Api, services: Services, clock: ManualClock
) -> None:
    """A sweep with many enrolments to announce leaves the loop to the requests between
    its batches (on SQLite, called inline, it held a server's loop for tens of seconds)."""
    clock.advance(400 * DAY_MS / 1000)  # every demo enrolment with a due time is past it
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    started = ticks
    announced = await sweep_overdue(services.db, now_ms=clock.now_ms())
    during = ticks - started
    ticker.cancel()
    assert announced > OVERDUE_BATCH, announced  # several batches to announce
    assert during >= announced // OVERDUE_BATCH, (during, announced)
