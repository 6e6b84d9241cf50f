"""The interface's forms write through the API's services, on each backend: the same rules
and refusals, the same events (source `ui`), idempotent by their one-time key; and every
form from another site, or without the session's token, is refused and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from tests.api.readdata import C, add_learner, add_plan, enrol_learner, sql
from tests.api.uipages import Person, counts, dom, one, sign_in, text
from tests.conftest import auth


@pytest.fixture
async def admin(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> AsyncIterator[Person]:
    person = await sign_in(
        app, services, clock, org_id=demo.people.org_id, learner_id=demo.people.admin_id
    )
    yield person
    await person.client.aclose()


async def summary(client: httpx.AsyncClient, token: str, plan_id: int) -> dict[str, str]:
    response = await client.get(f"/api/v1/learning-plans/{plan_id}/learners", headers=auth(token))
    assert response.status_code == 200, response.text
    result: dict[str, str] = response.json()["summary"]
    return result


async def events(services: Services, learner_id: int, kind: str) -> list[Any]:
    return await sql(
        services,
        "SELECT actor_id, source, idempotency_key, plan_id FROM progress_events"
        " WHERE learner_id = :l AND kind = :k ORDER BY id",
        {"l": learner_id, "k": kind},
    )


async def test_enrolling_through_the_report_changes_its_counts_as_the_api_sees_them(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
    admin: Person,
) -> None:
    plan = await add_plan(services, demo, courses=[C(True), C(False)], now_ms=clock.now_ms())
    newcomer = await add_learner(services, demo, now_ms=clock.now_ms())
    before = counts(one(await admin.page(f"/ui/plans/{plan.id}"), "#counts"))
    assert before["total"] == 0
    # Search and pick, as the page offers them.
    found = await admin.page(f"/ui/plans/{plan.id}", params={"enrol_q": "test learner"})
    picks = {box["value"] for box in found.select("#enrol-results input[name=learner]")}
    assert str(newcomer) in picks
    sent = await admin.post(f"/ui/plans/{plan.id}/enrol", {"learner": [str(newcomer)]})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/ui/plans/{plan.id}?notice=enrolled&count=1"
    after = await admin.page(sent.headers["location"])
    assert text(one(after, ".notice")) == "Enrolled 1 learner."
    assert counts(one(after, "#counts")) == {
        "total": 1,
        "completed": 0,
        "inProgress": 0,
        "notStarted": 1,
        "overdue": 0,
    }
    assert (await summary(client, demo.admin_token, plan.id))["totalCount"] == "1"
    (enrolled,) = await events(services, newcomer, "enrolled")
    assert enrolled["source"] == "ui"
    assert enrolled["actor_id"] == demo.people.admin_id
    # Picked again: already enrolled, nobody new.
    again = await admin.post(f"/ui/plans/{plan.id}/enrol", {"learner": [str(newcomer)]})
    assert again.headers["location"] == f"/ui/plans/{plan.id}?notice=already"
    listed = await admin.page(f"/ui/plans/{plan.id}", params={"enrol_q": "test learner"})
    assert str(newcomer) not in {b["value"] for b in listed.select("input[name=learner]")}


async def test_a_form_sent_twice_writes_once(
    services: Services, demo: DemoTokens, clock: ManualClock, admin: Person
) -> None:
    plan = await add_plan(services, demo, courses=[C(True)], now_ms=clock.now_ms())
    learner_id = await add_learner(services, demo, now_ms=clock.now_ms())
    await enrol_learner(
        services, demo, plan_id=plan.id, learner_id=learner_id, enrolled_ms=clock.now_ms()
    )
    path = f"/ui/plans/{plan.id}/learners/{learner_id}/unenrol"
    first = await admin.post(path, form_key="double-click")
    second = await admin.post(path, form_key="double-click")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    (unenrolled,) = await events(services, learner_id, "unenrolled")
    assert unenrolled["idempotency_key"] == "double-click"
    assert unenrolled["source"] == "ui"
    # The same key with other fields is refused, and writes nothing.
    other = await admin.post(path, {"extra": "1"}, form_key="double-click")
    assert other.status_code == 422
    assert "already sent" in text(one(dom(other), ".error-message"))
    # Without a key it is an ordinary write: the learner is no longer in the plan.
    gone = await admin.post(path, form_key=None)
    assert gone.status_code == 404


async def test_publish_and_disable_follow_the_api_rules(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
    admin: Person,
) -> None:
    empty = await add_plan(services, demo, courses=[C(False)], now_ms=clock.now_ms(), publish=False)
    refused = await admin.post(f"/ui/plans/{empty.id}/publish")
    assert refused.status_code == 409
    assert "mandatory course" in text(one(dom(refused), ".error-message"))
    draft = await add_plan(services, demo, courses=[C(True)], now_ms=clock.now_ms(), publish=False)
    page = await admin.page(f"/ui/plans/{draft.id}")
    assert one(page, f"form[action='/ui/plans/{draft.id}/publish'] button")
    published = await admin.post(f"/ui/plans/{draft.id}/publish")
    assert published.headers["location"] == f"/ui/plans/{draft.id}?notice=published"
    read = await client.get(f"/api/v1/learning-plans/{draft.id}", headers=auth(demo.admin_token))
    assert read.json()["learningPlan"]["planInfo"]["publishState"] == "1"
    disabled = await admin.post(f"/ui/plans/{draft.id}/disable")
    assert disabled.status_code == 303
    read = await client.get(f"/api/v1/learning-plans/{draft.id}", headers=auth(demo.admin_token))
    assert read.json()["learningPlan"]["planInfo"]["disabled"] == "true"
    page = await admin.page(f"/ui/plans/{draft.id}")
    assert text(one(page, ".badge-disabled")) == "Disabled"
    assert page.select_one("#enrol-search") is None  # no enrolment into a disabled plan


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
    ],
)
async def test_a_form_from_another_site_is_refused_and_changes_nothing(
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
    admin: Person,
    headers: dict[str, str],
) -> None:
    draft = await add_plan(services, demo, courses=[C(True)], now_ms=clock.now_ms(), publish=False)
    refused = await admin.post(f"/ui/plans/{draft.id}/publish", headers=headers)
    assert refused.status_code == 403
    assert "another site" in text(one(dom(refused), ".error-message"))
    (state,) = await sql(
        services, "SELECT publish_state FROM learning_plans WHERE id = :id", {"id": draft.id}
    )
    assert state["publish_state"] == 0


async def test_a_form_without_the_sessions_token_is_refused(
    app: Starlette,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
    admin: Person,
) -> None:
    draft = await add_plan(services, demo, courses=[C(True)], now_ms=clock.now_ms(), publish=False)
    other = await sign_in(
        app, services, clock, org_id=demo.people.org_id, learner_id=demo.people.admin_id
    )
    try:
        for token in ("", "0" * 64, other.csrf_token):  # none, a guess, another session's
            refused = await admin.post(f"/ui/plans/{draft.id}/publish", csrf_token=token or " ")
            assert refused.status_code == 403
            assert "current session" in text(one(dom(refused), ".error-message"))
    finally:
        await other.client.aclose()
    (state,) = await sql(
        services, "SELECT publish_state FROM learning_plans WHERE id = :id", {"id": draft.id}
    )
    assert state["publish_state"] == 0


async def test_a_manager_cannot_manage_a_plan_they_do_not_administer(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    plan = await add_plan(services, demo, courses=[C(True)], now_ms=clock.now_ms())
    manager = await sign_in(
        app, services, clock, org_id=demo.people.org_id, learner_id=demo.people.manager_id
    )
    try:
        page = await manager.page(f"/ui/plans/{plan.id}")
        assert page.select_one(".plan-actions") is None
        refused = await manager.post(
            f"/ui/plans/{plan.id}/enrol", {"learner": [str(demo.people.learner_id)]}
        )
        assert refused.status_code == 403
    finally:
        await manager.client.aclose()
    assert (
        await sql(services, "SELECT id FROM plan_enrolments WHERE plan_id = :p", {"p": plan.id})
        == []
    )


async def test_a_learner_joins_plans_and_records_their_own_progress(
    app: Starlette,
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
) -> None:
    people = demo.people
    offered = await add_plan(services, demo, courses=[C(True), C(False)], now_ms=clock.now_ms())
    learner = await sign_in(
        app, services, clock, org_id=people.org_id, learner_id=people.learner_id
    )
    try:
        mine = await learner.page("/ui/me")
        card = one(mine, f".joinable [data-plan-id='{offered.id}']")
        assert one(card, "button")["aria-label"].startswith("Join Test plan")
        joined = await learner.post(f"/ui/plans/{offered.id}/join")
        assert joined.headers["location"] == "/ui/me?notice=joined"
        mine = await learner.page("/ui/me?notice=joined")
        assert text(one(mine, ".notice")) == "You joined the plan."
        section = one(mine, f"section.my-plan[data-plan-id='{offered.id}']")
        assert "Next: Test course" in text(one(section, ".next-step"))
        course_id = offered.course_ids[0]
        recorded = await learner.post(f"/ui/courses/{course_id}/progress", {"percentage": "40"})
        assert recorded.headers["location"] == "/ui/me?notice=recorded"
        done = await learner.post(f"/ui/courses/{course_id}/progress", {"complete": "1"})
        assert done.status_code == 303
        bad = await learner.post(f"/ui/courses/{course_id}/progress", {"percentage": "lots"})
        assert bad.status_code == 400
    finally:
        await learner.client.aclose()
    reference = await client.get(
        f"/api/v1/learners/{people.learner_id}/learning-plans/progress",
        params={"limit": "100"},
        headers=auth(demo.learner_token),
    )
    (entry,) = [e for e in reference.json()["learningPlans"] if e["planId"] == str(offered.id)]
    assert entry["userInfo"]["isUserJoinedPlan"] is True
    assert entry["progressInfo"]["status"] == "completed"
    progress_events = await events(services, people.learner_id, "course_progress")
    assert [e["source"] for e in progress_events[-2:]] == ["ui", "ui"]


async def test_a_learner_cannot_record_progress_in_a_blended_course(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    (blended,) = await sql(
        services,
        "SELECT cp.course_id FROM course_progress cp JOIN courses c ON c.id = cp.course_id"
        " WHERE cp.learner_id = :l AND c.course_type = 2 AND cp.status <> 'completed' LIMIT 1",
        {"l": people.learner_id},
    )
    learner = await sign_in(
        app, services, clock, org_id=people.org_id, learner_id=people.learner_id
    )
    try:
        mine = await learner.page("/ui/me")
        assert not mine.select(f"form[action='/ui/courses/{blended['course_id']}/progress']")
        refused = await learner.post(
            f"/ui/courses/{blended['course_id']}/progress", {"percentage": "50"}
        )
        assert refused.status_code == 403
        assert "blended" in text(one(dom(refused), ".error-message"))
    finally:
        await learner.client.aclose()
