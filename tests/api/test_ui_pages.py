"""The interface's pages read what the API reads, on each backend: the plan report's counts
are the roster summary's, its overdue list the `status=overdue` roster, its filtered roster
and CSV the API's roster with the same filters, a learner's page the reference endpoint,
the team matrix the reference endpoint of each reportee. Roles and organisations are the
API's: another organisation's ids are 404, another learner's page 403."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.plans.service import add_plan_admin
from lmsplans.server.ui.security import PAGE_POLICY
from tests.api.readdata import as_admin, sql
from tests.api.uipages import Person, counts, dom, link_token, one, sign_in, text
from tests.conftest import auth
from tests.unit.test_ui_rendering import assert_policy_safe

SUMMARY_KEYS = {
    "total": "totalCount",
    "completed": "completedCount",
    "inProgress": "inProgressCount",
    "notStarted": "notStartedCount",
    "overdue": "overdueCount",
}


@pytest.fixture
async def admin(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> AsyncIterator[Person]:
    person = await sign_in(
        app, services, clock, org_id=demo.people.org_id, learner_id=demo.people.admin_id
    )
    yield person
    await person.client.aclose()


@pytest.fixture
async def manager(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> AsyncIterator[Person]:
    person = await sign_in(
        app, services, clock, org_id=demo.people.org_id, learner_id=demo.people.manager_id
    )
    yield person
    await person.client.aclose()


@pytest.fixture
async def learner(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> AsyncIterator[Person]:
    person = await sign_in(
        app, services, clock, org_id=demo.people.org_id, learner_id=demo.people.learner_id
    )
    yield person
    await person.client.aclose()


async def api_roster(
    client: httpx.AsyncClient, token: str, plan_id: str, **params: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every learner of the API's roster with these filters (all pages), and its summary."""
    members: list[dict[str, Any]] = []
    start = 1
    while True:
        response = await client.get(
            f"/api/v1/learning-plans/{plan_id}/learners",
            params={**params, "startIndex": str(start), "limit": "100"},
            headers=auth(token),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        members += body["learners"]
        if not body["isNextAvailable"]:
            return members, body["summary"]
        start += 100


async def plan_ids(services: Services, org_id: int, *, published: bool = True) -> list[str]:
    state = "publish_state = 1" if published else "publish_state <> 1"
    rows = await sql(
        services,
        f"SELECT id FROM learning_plans WHERE org_id = :org AND {state} ORDER BY id",
        {"org": org_id},
    )
    return [str(row["id"]) for row in rows]


def expected_counts(summary: dict[str, str]) -> dict[str, int]:
    return {key: int(summary[wire]) for key, wire in SUMMARY_KEYS.items()}


async def test_every_report_counts_what_the_api_roster_summary_counts(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Person,
    manager: Person,
) -> None:
    plans = await plan_ids(services, demo.people.org_id)
    assert len(plans) >= 5
    for person, token in ((admin, demo.admin_token), (manager, demo.manager_token)):
        seen_overdue = 0
        for plan_id in plans:
            _, summary = await api_roster(client, token, plan_id)
            report = await person.page(f"/ui/plans/{plan_id}")
            assert counts(one(report, "#counts")) == expected_counts(summary), plan_id
            seen_overdue += int(summary["overdueCount"])
            # The chart says the same, in its words and its table.
            assert f"Of {summary['totalCount']} enrolled" in text(one(report, ".chart-summary"))
        assert seen_overdue > 0  # the demo has late learners to count


async def test_the_plans_list_counts_each_plan_as_its_report(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Person, manager: Person
) -> None:
    org = demo.people.org_id
    drafts = await plan_ids(services, org, published=False)
    assert drafts
    listed = await admin.page("/ui")
    cards = {card["data-plan-id"]: card for card in listed.select(".plan-card")}
    assert set(cards) == set(await plan_ids(services, org)) | set(drafts)
    for draft in drafts:
        assert text(one(cards[draft], ".badge-draft")) == "Draft"
    for plan_id, card in cards.items():
        if plan_id in drafts:
            continue
        _, summary = await api_roster(client, demo.admin_token, plan_id)
        assert counts(card) == expected_counts(summary)
        total, done = int(summary["totalCount"]), int(summary["completedCount"])
        assert one(card, "svg.mini-bar")["aria-label"].endswith(
            f"{done} of {total} completed ({done * 100 // total}%)"
        )
    # A manager sees the plans of their team, counted for their team only.
    team = await manager.page("/ui")
    for card in team.select(".plan-card"):
        _, summary = await api_roster(client, demo.manager_token, card["data-plan-id"])
        assert counts(card) == expected_counts(summary)
        assert int(summary["totalCount"]) > 0
    assert not team.select(".badge-draft")


async def test_a_learner_has_no_plans_list_but_their_own_page(learner: Person) -> None:
    response = await learner.get("/ui")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/me"
    nav = [text(link) for link in (await learner.page("/ui/me")).select(".site-nav a")]
    assert nav == ["My learning"]


async def test_the_overdue_list_is_the_api_overdue_roster_most_overdue_first(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Person
) -> None:
    checked = 0
    for plan_id in await plan_ids(services, demo.people.org_id):
        late, _ = await api_roster(client, demo.admin_token, plan_id, status="overdue")
        late.sort(
            key=lambda m: (int(m["progressInfo"]["dueTime"]), int(m["userInfo"]["planuserId"]))
        )
        expected = [m["userInfo"]["userId"] for m in late]
        shown: list[str] = []
        page_number = 1
        while True:
            report = await admin.page(f"/ui/plans/{plan_id}", params={"overdue_page": page_number})
            section = one(report, "#overdue")
            shown += [row["data-learner-id"] for row in section.select("tbody tr")]
            if not section.select_one("a[rel=next]"):
                break
            page_number += 1
        assert shown == expected, plan_id
        checked += len(shown)
    assert checked > 0


async def test_the_roster_filters_pages_and_csv_are_the_api_roster(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Person
) -> None:
    plan_ids_ = await plan_ids(services, demo.people.org_id)
    sizes = [(len((await api_roster(client, demo.admin_token, p))[0]), p) for p in plan_ids_]
    _, plan_id = max(sizes)
    for filters in ({}, {"status": "inProgress"}, {"status": "overdue"}, {"search": "an"}):
        members, summary = await api_roster(client, demo.admin_token, plan_id, **filters)
        params = {"q" if key == "search" else key: value for key, value in filters.items()}
        shown: list[str] = []
        page_number = 1
        while True:
            report = await admin.page(
                f"/ui/plans/{plan_id}", params={**params, "page": page_number}
            )
            results = one(report, "#roster-results")
            shown += [row["data-learner-id"] for row in results.select("tbody tr")]
            next_link = results.select_one("a[rel=next]")
            if next_link is None:
                break
            assert f"page={page_number + 1}" in next_link["href"]
            page_number += 1
        assert shown == [m["userInfo"]["userId"] for m in members], filters
        assert int(summary["matchingCount"]) == len(shown)
        # The CSV holds the same learners, with the API's numbers.
        download = await admin.get(f"/ui/plans/{plan_id}/roster.csv", params=params)
        assert download.status_code == 200
        assert download.headers["content-type"] == "text/csv; charset=utf-8"
        assert download.headers["content-disposition"].startswith("attachment;")
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [row["userId"] for row in rows] == shown
        for row, member in zip(rows, members, strict=True):
            progress = member["progressInfo"]
            assert row["status"] == progress["status"]
            assert row["isOverdue"] == str(progress["isOverdue"]).lower()
            assert row["progressPercentage"] == progress["progressPercentage"]
            assert row["emailId"] == member["userInfo"]["emailId"]


async def test_htmx_gets_only_the_roster_it_swaps(
    demo: DemoTokens, services: Services, admin: Person
) -> None:
    plan_id = (await plan_ids(services, demo.people.org_id))[0]
    response = await admin.get(
        f"/ui/plans/{plan_id}",
        params={"status": "notStarted"},
        headers={"HX-Request": "true", "HX-Target": "roster-results"},
    )
    assert response.status_code == 200
    assert response.headers["vary"] == "HX-Request"
    fragment = dom(response)
    assert fragment.select_one("html") is None and fragment.select_one("#counts") is None
    statuses = {row["data-status"] for row in one(fragment, "#roster-results").select("tbody tr")}
    assert statuses <= {"notStarted", "overdue"}


async def test_a_learners_page_is_the_reference_endpoint_with_courses_and_history(
    client: httpx.AsyncClient, demo: DemoTokens, admin: Person, manager: Person
) -> None:
    learner_id = demo.people.learner_id
    reference = await client.get(
        f"/api/v1/learners/{learner_id}/learning-plans/progress",
        params={"limit": "100"},
        headers=auth(demo.admin_token),
    )
    entries = reference.json()["learningPlans"]
    assert len(entries) >= 3
    for person in (admin, manager):  # the learner reports to the demo manager
        page = await person.page(f"/ui/learners/{learner_id}")
        sections = page.select("section.learner-plan")
        assert [s["data-plan-id"] for s in sections] == [e["planId"] for e in entries]
        for section, entry in zip(sections, entries, strict=True):
            progress = entry["progressInfo"]
            share = text(one(section, ".completion-share"))
            assert share.startswith(f"{progress['progressPercentage']}% (")
            assert f"{progress['allCoursesPercentage']}% of all courses" in share
            status = "overdue" if progress["isOverdue"] else progress["status"]
            assert one(section, "h2 .status")["class"] == ["status", f"status-{status}"]
            courses = await client.get(
                f"/api/v1/learners/{learner_id}/learning-plans/{entry['planId']}/courses/progress",
                params={"limit": "100"},
                headers=auth(demo.admin_token),
            )
            rows = section.select(".courses-table tbody tr")
            assert [r["data-course-id"] for r in rows] == [
                c["courseId"] for c in courses.json()["courses"]
            ]
            history = await client.get(
                f"/api/v1/learners/{learner_id}/learning-plans/{entry['planId']}/history",
                params={"limit": "100"},
                headers=auth(demo.admin_token),
            )
            events = history.json()["events"]
            assert len(section.select(".timeline li")) == len(events) > 0
            assert section.select(".timeline li")[-1]["data-kind"] == events[0]["kind"]


async def test_the_team_matrix_is_each_reportees_reference_answer(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, manager: Person
) -> None:
    matrix = await manager.page("/ui/team")
    rows = matrix.select(".team-matrix tbody tr")
    reportees = await sql(
        services,
        "SELECT id FROM learners WHERE manager_id = :m AND status = 'active' ORDER BY id",
        {"m": demo.people.manager_id},
    )
    assert [row["data-learner-id"] for row in rows] == [str(r["id"]) for r in reportees]
    for row in rows:
        reference = await client.get(
            f"/api/v1/learners/{row['data-learner-id']}/learning-plans/progress",
            params={"limit": "100"},
            headers=auth(demo.manager_token),
        )
        expected = {
            e["planId"]: "overdue"
            if e["progressInfo"]["isOverdue"]
            else e["progressInfo"]["status"]
            for e in reference.json()["learningPlans"]
        }
        shown = {
            cell["data-plan-id"]: cell["data-status"] for cell in row.select("td[data-status]")
        }
        assert shown == expected


async def assert_error_page(response: httpx.Response, status: int) -> BeautifulSoup:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-security-policy"] == PAGE_POLICY
    page = dom(response)
    assert f"Error {status}" in text(one(page, ".error-detail"))
    return page


async def test_roles_and_organisations_hold_for_guessed_addresses(
    services: Services, demo: DemoTokens, admin: Person, manager: Person, learner: Person
) -> None:
    people = demo.people
    other_plan = (
        await sql(
            services, "SELECT id FROM learning_plans WHERE org_id <> :o", {"o": people.org_id}
        )
    )[0]["id"]
    plan_id = (await plan_ids(services, people.org_id))[0]
    draft = (await plan_ids(services, people.org_id, published=False))[0]
    stranger = (
        await sql(
            services,
            "SELECT id FROM learners WHERE org_id = :o AND manager_id <> :m AND role = 'learner'",
            {"o": people.org_id, "m": people.manager_id},
        )
    )[0]["id"]
    for person in (admin, manager, learner):
        # Another organisation's plan and learner do not exist here.
        await assert_error_page(await person.get(f"/ui/plans/{other_plan}"), 404)
        await assert_error_page(await person.get(f"/ui/plans/{other_plan}/roster.csv"), 404)
        await assert_error_page(
            await person.get(f"/ui/learners/{people.other_org_learner_id}"), 404
        )
        await assert_error_page(await person.get("/ui/plans/not-a-number"), 404)
    # A learner reads no roster and no one else; a manager only their team, no drafts.
    await assert_error_page(await learner.get(f"/ui/plans/{plan_id}"), 403)
    await assert_error_page(await learner.get(f"/ui/learners/{people.manager_id}"), 403)
    await assert_error_page(await learner.get("/ui/team"), 403)
    await assert_error_page(await manager.get(f"/ui/learners/{stranger}"), 403)
    await assert_error_page(await manager.get(f"/ui/plans/{draft}"), 404)
    assert (await admin.get(f"/ui/plans/{draft}")).status_code == 200
    assert (await admin.get(f"/ui/learners/{stranger}")).status_code == 200
    assert (await learner.get(f"/ui/learners/{people.learner_id}")).status_code == 200


async def test_unknown_pages_and_methods_are_error_pages(
    services: Services, demo: DemoTokens, admin: Person
) -> None:
    plan_id = (await plan_ids(services, demo.people.org_id))[0]
    slash = await admin.get("/ui/")
    assert slash.status_code == 303 and slash.headers["location"] == "/ui"
    missing = await assert_error_page(await admin.get("/ui/nowhere"), 404)
    assert text(one(missing, "h1")) == "Not found"
    wrong = await assert_error_page(await admin.post("/ui/plans/1"), 405)
    assert wrong.select_one(".viewer-name") is None
    response = await admin.client.post("/ui/plans/1", data={})
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    home = await assert_error_page(await admin.client.delete("/ui"), 405)
    assert text(one(home, "h1")) == "Not here"
    assert (await admin.client.delete("/ui")).headers["allow"] == "GET, HEAD"
    bad_filter = await assert_error_page(
        await admin.get(f"/ui/plans/{plan_id}", params={"status": "late"}), 400
    )
    assert "status" in text(one(bad_filter, ".field-errors"))


async def test_the_service_home_links_the_interface(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert '<a href="/ui">Web interface</a>' in page.text
    info = await client.get("/", headers={"Accept": "application/json"})
    assert info.json()["links"]["ui"] == "/ui"


async def test_every_page_keeps_to_the_policy(
    services: Services, demo: DemoTokens, clock: ManualClock, admin: Person, learner: Person
) -> None:
    """Nothing inline, nothing from elsewhere, on every page as it is drawn with data."""
    plan_id = (await plan_ids(services, demo.people.org_id))[0]
    people = demo.people
    pages = [
        (admin, "/ui"),
        (admin, f"/ui/plans/{plan_id}?enrol_q=a"),
        (admin, f"/ui/learners/{people.learner_id}"),
        (admin, "/ui/team"),
        (learner, "/ui/me"),
        (admin, "/ui/nowhere"),
    ]
    for person, path in pages:
        response = await person.get(path)
        assert response.headers["content-security-policy"] == PAGE_POLICY, path
        assert_policy_safe(response.text)
    token = await link_token(services, clock, org_id=people.org_id, learner_id=people.manager_id)
    for path in ("/ui/sign-in", "/ui/sign-in/unknown", f"/ui/sign-in/{token}"):
        response = await admin.client.get(path)  # signing in needs no session
        assert_policy_safe(response.text)


async def test_a_manager_who_administers_a_plan_sees_its_whole_roster(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, manager: Person
) -> None:
    plan_id = int((await plan_ids(services, demo.people.org_id))[-1])
    async with services.db.transaction() as conn:
        await add_plan_admin(
            conn, write=as_admin(demo, 0), plan_id=plan_id, learner_id=demo.people.manager_id
        )
    _, summary = await api_roster(client, demo.manager_token, str(plan_id))
    _, whole = await api_roster(client, demo.admin_token, str(plan_id))
    assert summary == whole  # the API shows a plan admin the whole roster
    listed = await manager.page("/ui")
    assert counts(one(listed, f".plan-card[data-plan-id='{plan_id}']")) == expected_counts(whole)
    report = await manager.page(f"/ui/plans/{plan_id}")
    assert counts(one(report, "#counts")) == expected_counts(whole)
    assert report.select_one(".plan-actions") is not None  # and may manage it
