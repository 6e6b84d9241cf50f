"""The live pages, on each backend: the plan report and the plans list ask every few
seconds whether they changed (`ui.live`), and the answer is 204 while nothing did, the
poller alone when a write changed nothing they show, and the new counts (the API roster's
summary) when progress was recorded through the API or the clock made someone overdue.
Polls obey the report's roles and organisations and are not the person's activity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.ui.live import Since
from lmsplans.server.ui.updates import LIST_REDRAW_MS
from tests.api.readdata import admin_token, sql
from tests.api.test_ui_pages import (
    SUMMARY_KEYS,
    api_roster,
    assert_error_page,
    expected_counts,
    plan_ids,
)
from tests.api.uipages import Person, counts, dom, one, sign_in
from tests.conftest import auth

HTMX = {"HX-Request": "true"}


@pytest.fixture
async def signed_in(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> AsyncIterator[Callable[[int], Awaitable[Person]]]:
    """Sign in the demo person with this id (a browser of their own)."""
    people: list[Person] = []

    async def open_for(learner_id: int) -> Person:
        person = await sign_in(
            app, services, clock, org_id=demo.people.org_id, learner_id=learner_id
        )
        people.append(person)
        return person

    yield open_for
    for person in people:
        await person.client.aclose()


@pytest.fixture
async def admin(signed_in: Callable[[int], Awaitable[Person]], demo: DemoTokens) -> Person:
    return await signed_in(demo.people.admin_id)


@pytest.fixture
async def manager(signed_in: Callable[[int], Awaitable[Person]], demo: DemoTokens) -> Person:
    return await signed_in(demo.people.manager_id)


@pytest.fixture
async def learner(signed_in: Callable[[int], Awaitable[Person]], demo: DemoTokens) -> Person:
    return await signed_in(demo.people.learner_id)


def poller(soup: BeautifulSoup, poll_id: str) -> str:
    """The address a live page's poller asks, checked to be the inert element it is."""
    found = one(soup, f"#{poll_id}")
    assert found["hx-trigger"] == "every 5s" and found["hx-swap"] == "none"
    assert found.get_text() == ""
    return str(found["hx-get"])


async def poll(person: Person, url: str) -> httpx.Response:
    response = await person.get(url, headers=HTMX)
    assert response.status_code in (200, 204), response.text[:2000]
    assert response.headers["cache-control"] == "no-store"
    return response


async def record_progress(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    plan_id: str,
    *,
    seen_by: str | None = None,
) -> str:
    """Progress recorded through the API for a learner of the plan who had not started
    (one the holder of `seen_by`, a token, sees): the first of the plan's courses the API
    takes it for. Answers the learner's id."""
    viewer = seen_by or demo.admin_token
    waiting, _ = await api_roster(client, viewer, plan_id, status="notStarted")
    assert waiting, "the demo plan has a learner who has not started"
    learner_id = waiting[0]["userInfo"]["userId"]
    courses = await sql(
        services,
        "SELECT course_id FROM plan_courses WHERE plan_id = :p ORDER BY is_locked, position",
        {"p": int(plan_id)},
    )
    for row in courses:
        response = await client.put(
            f"/api/v1/courses/{row['course_id']}/learners/{learner_id}/course-progress",
            json={"completionPercentage": 30},
            headers=auth(demo.admin_token),
        )
        if response.status_code == 200:
            return str(learner_id)
    raise AssertionError(f"no course of plan {plan_id} took progress for {learner_id}")


async def summary_of(client: httpx.AsyncClient, token: str, plan_id: str) -> dict[str, Any]:
    return expected_counts((await api_roster(client, token, plan_id))[1])


async def test_the_report_changes_by_itself_when_progress_is_recorded(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Person
) -> None:
    plan_id = (await plan_ids(services, demo.people.org_id))[0]
    report = await admin.page(f"/ui/plans/{plan_id}")
    url = poller(report, "report-poll")
    assert url.startswith(f"/ui/plans/{plan_id}/updates?since=")
    # Nothing written: nothing to send, again and again.
    for _ in range(3):
        quiet = await poll(admin, url)
        assert quiet.status_code == 204 and quiet.content == b""

    learner_id = await record_progress(client, services, demo, plan_id)
    changed = await poll(admin, url)
    assert changed.status_code == 200 and changed.headers["hx-trigger"] == "report-changed"
    answer = dom(changed)
    live = one(answer, "#report-live")
    assert live["hx-swap-oob"] == "true" and answer.select_one("html") is None
    assert counts(one(live, "#counts")) == await summary_of(client, demo.admin_token, plan_id)
    assert len(live.select("svg.chart")) == 3
    url = poller(answer, "report-poll")
    assert one(answer, "#report-poll")["hx-swap-oob"] == "true"
    assert (await poll(admin, url)).status_code == 204

    # The lists the event fetches again show the learner's new status.
    page = dom(await admin.get(f"/ui/plans/{plan_id}?status=inProgress"))
    roster = one(page, "#roster-results")
    assert roster["hx-trigger"] == "report-changed from:body"
    assert roster["hx-get"] == f"/ui/plans/{plan_id}?status=inProgress"
    refreshed = await admin.get(
        str(roster["hx-get"]), headers={**HTMX, "HX-Target": "roster-results"}
    )
    rows = dom(refreshed).select("#roster-results tbody tr")
    assert learner_id in {row["data-learner-id"] for row in rows}
    overdue = one(page, "#overdue")
    assert overdue["hx-trigger"] == "report-changed from:body"
    assert overdue["hx-get"] == f"/ui/plans/{plan_id}?status=inProgress"
    alone = dom(await admin.get(str(overdue["hx-get"]), headers={**HTMX, "HX-Target": "overdue"}))
    assert alone.select_one("#counts") is None and alone.select_one("#roster-results") is None
    assert one(alone, "#overdue")


async def test_a_write_that_changes_nothing_shown_sends_the_poller_alone(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Person
) -> None:
    plan_id = (await plan_ids(services, demo.people.org_id))[0]
    url = poller(await admin.page(f"/ui/plans/{plan_id}"), "report-poll")
    # A write that is none of the plan's business: a new learner of the organisation.
    created = await client.post(
        "/api/v1/learners",
        json=[
            {
                "emailId": "live.newcomer@zylker.example",
                "displayName": "Live Newcomer",
                "employeeId": "LIVE001",
            }
        ],
        headers=auth(demo.admin_token),
    )
    assert created.status_code == 200, created.text
    answer = await poll(admin, url)
    assert answer.status_code == 200 and "hx-trigger" not in answer.headers
    soup = dom(answer)
    assert soup.select_one("#report-live") is None
    moved = Since.parse(poller(soup, "report-poll").split("since=")[1])
    before = Since.parse(url.split("since=")[1])
    assert moved is not None and before is not None
    assert moved.version > before.version and moved.digest == before.digest
    assert len(answer.content) < 400


async def test_the_clock_alone_makes_the_report_change_when_someone_falls_due(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Person,
    clock: ManualClock,
    signed_in: Callable[[int], Awaitable[Person]],
) -> None:
    for plan_id in await plan_ids(services, demo.people.org_id):
        url = poller(await admin.page(f"/ui/plans/{plan_id}"), "report-poll")
        since = Since.parse(url.split("since=")[1])
        assert since is not None
        if since.until_ms is not None:
            break
    else:
        raise AssertionError("no demo plan has a learner still to fall due")
    token = await admin_token(services, demo, clock.now_ms())  # one that outlives the wait
    before = await summary_of(client, token, plan_id)
    # The last moment the counts hold (a session does not last that long: sign in again).
    clock.advance((since.until_ms - clock.now_ms()) / 1000)
    again = await signed_in(demo.people.admin_id)
    # Signing in moves nothing of the organisation's: at the last moment the counts hold,
    # nothing to swap (a write that changes nothing shown:
    # `test_a_write_that_changes_nothing_shown_sends_the_poller_alone`).
    assert (await poll(again, url)).status_code == 204
    clock.advance(0.001)
    answer = dom(await poll(again, url))
    after = counts(one(answer, "#report-live #counts"))
    assert after == await summary_of(client, token, plan_id)
    assert after["overdue"] > before["overdue"]


async def test_the_plans_list_changes_by_itself(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    manager: Person,
    clock: ManualClock,
) -> None:
    listing = await manager.page("/ui")
    url = poller(listing, "plans-poll")
    assert url.startswith("/ui/updates?since=")
    assert (await poll(manager, url)).status_code == 204
    cards = {str(card["data-plan-id"]) for card in listing.select(".plan-card")}
    for plan_id in await plan_ids(services, demo.people.org_id):
        waiting, _ = await api_roster(client, demo.manager_token, plan_id, status="notStarted")
        if plan_id in cards and waiting:
            break
    else:
        raise AssertionError("no plan of the manager's list has a reportee yet to start")
    await record_progress(client, services, demo, plan_id, seen_by=demo.manager_token)
    # The list is dear to draw after a write: at most every LIST_REDRAW_MS.
    assert (await poll(manager, url)).status_code == 204
    clock.advance(LIST_REDRAW_MS / 1000)
    answer = dom(await poll(manager, url))
    card = one(answer, f"#plans-live[hx-swap-oob=true] .plan-card[data-plan-id='{plan_id}']")
    _, summary = await api_roster(client, demo.manager_token, plan_id)
    assert counts(card) == {key: int(summary[wire]) for key, wire in SUMMARY_KEYS.items()}
    assert (await poll(manager, poller(answer, "plans-poll"))).status_code == 204


async def test_polls_keep_to_the_reports_roles_and_are_not_activity(
    services: Services,
    demo: DemoTokens,
    admin: Person,
    learner: Person,
    clock: ManualClock,
) -> None:
    people = demo.people
    plan_id = (await plan_ids(services, people.org_id))[0]
    other_plan = (
        await sql(
            services, "SELECT id FROM learning_plans WHERE org_id <> :o", {"o": people.org_id}
        )
    )[0]["id"]
    url = poller(await admin.page(f"/ui/plans/{plan_id}"), "report-poll")
    since = url.split("since=")[1]
    await assert_error_page(await admin.get(f"/ui/plans/{other_plan}/updates"), 404)
    await assert_error_page(await learner.get(f"/ui/plans/{plan_id}/updates?since=x"), 403)
    await assert_error_page(await learner.get("/ui/updates"), 403)
    # A `since` that is not one is only a hint: the whole region comes back.
    for odd in ("", "x", "1.2", "1.-.ab", "-1.-.ab.5", since + "0" * 40, "1.2.ZZ.3"):
        answer = await poll(admin, f"/ui/plans/{plan_id}/updates?since={odd}")
        assert answer.status_code == 200 and one(dom(answer), "#report-live #counts")

    async def last_seen() -> Any:
        rows = await sql(
            services,
            "SELECT max(last_seen_time) AS seen FROM ui_sessions WHERE learner_id = :l",
            {"l": people.admin_id},
        )
        return rows[0]["seen"]

    seen = await last_seen()
    # Polling for an hour and a half, past the point a page would note activity...
    for _ in range(3):
        clock.advance(30 * 60)
        await poll(admin, url)
    assert await last_seen() == seen
    # ... leaves the session to end at its idle limit: the page goes to sign in.
    clock.advance(31 * 60)
    ended = await admin.get(url, headers=HTMX)
    assert ended.status_code == 204 and "reason=ended" in ended.headers["hx-redirect"]
