"""The interface in a real browser, against `lmsplans serve` on the demo, with the network
cut: signing in through the demo's printed links, the plan reports' counts against the API,
filtering and paging the roster, enrolling, a learner joining a plan, roles, a form posted
from another origin, the pages without JavaScript and on a phone. A screenshot of each main
page is kept (tests/browser/artifacts/).

One server serves the whole module; each test has its browser context (its own cookies).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from lmsplans.server.db import Database
from lmsplans.server.sessions.schemas import SessionPolicy
from lmsplans.server.sessions.service import create_sign_in_link
from lmsplans.server.ui.updates import LIST_REDRAW_MS
from lmsplans.server.ui.views import LIVE_SECONDS
from tests.browser.conftest import PHONE, Browsing, open_page, serving_in_thread
from tests.e2e.conftest import DemoSite, ServerProcess, load_demo

pytestmark = pytest.mark.slow

# Enough learners for a roster of more than one page (50 a page) in the larger plans.
LEARNERS = 120
WAIT_MS = 10_000
COUNT_KEYS = {
    "total": "totalCount",
    "completed": "completedCount",
    "inProgress": "inProgressCount",
    "notStarted": "notStartedCount",
    "overdue": "overdueCount",
}


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    """This module's demo: `lmsplans demo --no-serve` with 120 learners; the tests check
    the pages against the API more often than its threshold allows a minute."""
    return load_demo(
        tmp_path_factory.mktemp("pages-demo"),
        learners=LEARNERS,
        env_extra={"LMSPLANS_RATE_LIMIT_THRESHOLD": "100000"},
    )


def sign_in_link(site: DemoSite, email: str) -> str:
    """A fresh one-time link for the demo person with this email (as `lmsplans ui link`
    makes it), made in a thread of its own: Playwright's sync API owns this one's loop."""
    found: list[str] = []

    async def make() -> None:
        db = await Database.open(f"sqlite:///{site.database}")
        try:
            async with db.read() as conn:
                row = await conn.fetch_one(
                    "SELECT org_id, id FROM learners WHERE email = :email", {"email": email}
                )
            assert row is not None, email
            link = await create_sign_in_link(
                db,
                org_id=row["org_id"],
                learner_id=row["id"],
                now_ms=time.time_ns() // 1_000_000,
                policy=SessionPolicy(),
            )
        finally:
            await db.close()
        found.append(link.url(site.base_url))

    worker = threading.Thread(target=lambda: asyncio.run(make()))
    worker.start()
    worker.join(timeout=30)
    assert found, "no link was made"
    return found[0]


def api(site: DemoSite, path: str, role: str = "admin", **params: Any) -> Any:
    """The API's answer to a GET, with the demo's token of `role`."""
    response = httpx.get(
        f"{site.base_url}{path}",
        params=params,
        headers={"Authorization": f"Zoho-oauthtoken {site.credentials[role + '_token']}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def roster_summary(site: DemoSite, plan_id: str, **params: Any) -> dict[str, str]:
    summary: dict[str, str] = api(site, f"/api/v1/learning-plans/{plan_id}/learners", **params)[
        "summary"
    ]
    return summary


def shown_counts(page: Page, scope: str = "#counts") -> dict[str, int]:
    figures = page.locator(f"{scope} [data-count]")
    return {
        str(figures.nth(i).get_attribute("data-count")): int(
            figures.nth(i).locator("dd").inner_text()
        )
        for i in range(figures.count())
    }


def expected(summary: dict[str, str]) -> dict[str, int]:
    return {key: int(summary[wire]) for key, wire in COUNT_KEYS.items()}


def open_link(page: Page, url: str) -> None:
    """Open a sign-in link: its page goes on by itself (with JavaScript) to /ui."""
    page.goto(url)
    page.wait_for_url(re.compile(r"/ui(/me)?$"), timeout=WAIT_MS)


@pytest.fixture
def admin(server: ServerProcess, demo_site: DemoSite, browser: Browser) -> Iterator[Browsing]:
    """A desktop browser signed in as the demo admin, through a link as `ui link` makes."""
    browsing, context = open_page(browser, "admin")
    open_link(browsing.page, sign_in_link(demo_site, "admin@zylker.example"))
    yield browsing
    context.close()


def biggest_plan(site: DemoSite) -> str:
    plans = api(site, "/api/v1/learning-plans", limit=100)["learningPlans"]
    sizes = {
        plan["planId"]: int(roster_summary(site, plan["planId"])["totalCount"])
        for plan in plans
        if plan["publishState"] == "1"
    }
    return max(sizes, key=lambda plan_id: sizes[plan_id])


def test_the_printed_link_signs_in_and_every_report_counts_as_the_api(
    server: ServerProcess, demo_site: DemoSite, browser: Browser
) -> None:
    browsing, context = open_page(browser, "plans")
    try:
        page = browsing.page
        open_link(page, demo_site.credentials["admin_ui_url"])  # as `lmsplans demo` printed it
        expect(page.locator(".viewer-name")).to_have_text("Priya Sharma")
        cards = page.locator(".plan-card")
        assert cards.count() >= 6
        browsing.shot("list")
        plan_ids = [cards.nth(i).get_attribute("data-plan-id") for i in range(cards.count())]
        for plan_id in plan_ids:
            assert plan_id is not None
            card = page.locator(f".plan-card[data-plan-id='{plan_id}']")
            if card.locator(".badge-draft").count():
                continue
            summary = expected(roster_summary(demo_site, plan_id))
            assert shown_counts(page, f".plan-card[data-plan-id='{plan_id}']") == summary
        largest = biggest_plan(demo_site)
        page.locator(f".plan-card[data-plan-id='{largest}'] h2 a").click()
        page.wait_for_url(f"**/ui/plans/{largest}")
        assert shown_counts(page) == expected(roster_summary(demo_site, largest))
        expect(page.locator("svg.chart")).to_have_count(3)
        browsing.shot("report")
        page.set_viewport_size({"width": 1280, "height": 900})
        browsing.shot("report-readme", full_page=False)
        for plan_id in plan_ids:
            page.goto(f"{server.base_url}/ui/plans/{plan_id}")
            if page.locator(".badge-draft").count():
                continue
            assert shown_counts(page) == expected(roster_summary(demo_site, str(plan_id)))
            late = api(
                demo_site,
                f"/api/v1/learning-plans/{plan_id}/learners",
                status="overdue",
                limit=100,
            )["learners"]
            late.sort(
                key=lambda m: (int(m["progressInfo"]["dueTime"]), m["userInfo"]["planuserId"])
            )
            rows = page.locator("#overdue tbody tr")
            shown = [rows.nth(i).get_attribute("data-learner-id") for i in range(rows.count())]
            assert shown == [m["userInfo"]["userId"] for m in late][:25]
        assert browsing.refused == []
        assert browsing.errors == []
    finally:
        context.close()


def test_the_roster_filters_and_pages_in_place(
    admin: Browsing, demo_site: DemoSite, server: ServerProcess
) -> None:
    page = admin.page
    plan_id = biggest_plan(demo_site)
    page.goto(f"{server.base_url}/ui/plans/{plan_id}")
    page.wait_for_function("() => window.htmx !== undefined")
    total = int(roster_summary(demo_site, plan_id)["totalCount"])
    assert total > 50, "the demo's largest plan needs a second roster page"
    count = page.locator("#roster-count")
    expect(count).to_contain_text(f"1\u201350 of {total} learners")
    # Paging: the next page replaces the results, and the address follows.
    page.locator("#roster-results a[rel=next]").click()
    expect(count).to_contain_text(f"51\u2013{min(100, total)} of {total}")
    assert "page=2" in page.url
    assert page.locator("#counts").count() == 1  # the rest of the page stayed
    # Filtering by status, then by a name: the API's roster with the same filters.
    page.select_option("#roster-status", "inProgress")
    matching = roster_summary(demo_site, plan_id, status="inProgress")["matchingCount"]
    expect(count).to_contain_text(f"of {matching} learner")
    statuses = page.locator("#roster-results tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert set(statuses) <= {"inProgress", "overdue"} and statuses
    assert "status=inProgress" in page.url and "page=" not in page.url
    first = page.locator("#roster-results tbody tr th a").first.inner_text()
    page.fill("#roster-search", first)
    found = roster_summary(demo_site, plan_id, status="inProgress", search=first)["matchingCount"]
    expect(count).to_contain_text(f"of {found} learner")
    expect(page.locator("#roster-results tbody tr th a").first).to_have_text(first)
    admin.shot("roster-filtered")
    assert admin.errors == [] and admin.refused == []


def test_enrolling_a_learner_changes_the_counts(
    admin: Browsing, demo_site: DemoSite, server: ServerProcess
) -> None:
    page = admin.page
    plans = api(demo_site, "/api/v1/learning-plans", limit=100)["learningPlans"]
    plan_id = next(
        p["planId"] for p in plans if p["publishState"] == "1" and p["disabled"] == "false"
    )
    enrolled = {
        m["userInfo"]["userId"]
        for m in api(demo_site, f"/api/v1/learning-plans/{plan_id}/learners", limit=100)["learners"]
    }
    everyone = api(demo_site, "/api/v1/learners", limit=100, status="active")["learners"]
    newcomer = next(person for person in everyone if person["userId"] not in enrolled)
    before = expected(roster_summary(demo_site, plan_id))
    page.goto(f"{server.base_url}/ui/plans/{plan_id}")
    assert shown_counts(page) == before
    page.fill("#enrol-search", newcomer["emailId"])
    box = page.locator(f"#enrol-results input[value='{newcomer['userId']}']")
    box.check()
    admin.shot("enrol-pick")
    page.get_by_role("button", name="Enrol the learners picked").click()
    expect(page.locator(".notice")).to_have_text("Enrolled 1 learner.")
    after = shown_counts(page)
    assert after["total"] == before["total"] + 1
    assert after == expected(roster_summary(demo_site, plan_id))
    assert admin.errors == []


def not_started(site: DemoSite, plan_id: str) -> dict[str, Any]:
    """A learner of the plan who has not started (their `userInfo`)."""
    waiting = api(site, f"/api/v1/learning-plans/{plan_id}/learners", status="notStarted")
    info: dict[str, Any] = waiting["learners"][0]["userInfo"]
    return info


def record_progress(site: DemoSite, plan_id: str, learner_id: str) -> None:
    """Progress recorded through the API (the admin's token) for the learner, in the first
    of their courses in the plan the API takes it for."""
    courses = api(site, f"/api/v1/learners/{learner_id}/learning-plans/{plan_id}/courses/progress")
    for course in courses["courses"]:
        response = httpx.put(
            f"{site.base_url}/api/v1/courses/{course['courseId']}/learners/{learner_id}"
            "/course-progress",
            json={"completionPercentage": 40},
            headers={"Authorization": f"Zoho-oauthtoken {site.credentials['admin_token']}"},
            timeout=10,
        )
        if response.status_code == 200:
            return
    raise AssertionError(f"no course of plan {plan_id} took progress for {learner_id}")


def test_the_report_and_the_list_update_by_themselves(
    admin: Browsing, demo_site: DemoSite, server: ServerProcess
) -> None:
    page = admin.page
    plan_id = biggest_plan(demo_site)
    learner = not_started(demo_site, plan_id)
    # The roster filtered to those in progress, by the learner's email: nobody, yet.
    page.goto(f"{server.base_url}/ui/plans/{plan_id}?status=inProgress&q={learner['emailId']}")
    page.wait_for_function("() => window.htmx !== undefined")
    expect(page.locator("#roster-count")).to_contain_text("No learner matches")
    before = shown_counts(page)
    assert before == expected(roster_summary(demo_site, plan_id))
    # A mark a reload would wipe: the counts must change under it, in place.
    page.evaluate("() => { document.body.dataset.stayed = 'yes' }")
    polls: list[int] = []
    page.on(
        "response",
        lambda response: polls.append(response.status) if "/updates?" in response.url else None,
    )
    record_progress(demo_site, plan_id, learner["userId"])
    after = expected(roster_summary(demo_site, plan_id))
    assert after != before
    expect(page.locator("#counts [data-count=notStarted] dd")).to_have_text(
        str(after["notStarted"]), timeout=3 * LIVE_SECONDS * 1000
    )
    assert shown_counts(page) == after
    # The roster follows, with its filters (the learner is in progress now), and the page
    # was never reloaded.
    row = page.locator(f"#roster-results tbody tr[data-learner-id='{learner['userId']}']")
    expect(row).to_have_attribute("data-status", "inProgress")
    expect(page.locator("#roster-count")).to_contain_text("1\u20131 of 1 learner")
    assert page.evaluate("() => document.body.dataset.stayed") == "yes"
    # Quiet again: the next polls send nothing.
    page.wait_for_timeout(LIVE_SECONDS * 1000 + 500)
    assert 200 in polls and polls[-1] == 204
    admin.shot("report-live")

    # The plans list too.
    page.goto(f"{server.base_url}/ui")
    page.wait_for_function("() => window.htmx !== undefined")
    card = f".plan-card[data-plan-id='{plan_id}']"
    assert shown_counts(page, card) == after
    record_progress(demo_site, plan_id, not_started(demo_site, plan_id)["userId"])
    later = expected(roster_summary(demo_site, plan_id))
    expect(page.locator(f"{card} [data-count=notStarted] dd")).to_have_text(
        str(later["notStarted"]), timeout=LIST_REDRAW_MS + 3 * LIVE_SECONDS * 1000
    )
    assert shown_counts(page, card) == later
    assert admin.errors == [] and admin.refused == []


def test_a_learner_joins_a_plan_and_cannot_read_anyone_else(
    server: ServerProcess, demo_site: DemoSite, browser: Browser
) -> None:
    browsing, context = open_page(browser, "learner")
    try:
        page = browsing.page
        open_link(page, sign_in_link(demo_site, "learner@zylker.example"))
        assert page.url.endswith("/ui/me")
        offered = page.locator(".joinable .plan-card")
        assert offered.count() >= 1
        plan_id = offered.first.get_attribute("data-plan-id")
        browsing.shot("me")
        offered.first.get_by_role("button").click()
        expect(page.locator(".notice")).to_have_text("You joined the plan.")
        expect(page.locator(f"section.my-plan[data-plan-id='{plan_id}']")).to_be_visible()
        mine = api(
            demo_site,
            f"/api/v1/learners/{demo_site.credentials['learner_id']}/learning-plans/progress",
            "learner",
            limit=100,
        )["learningPlans"]
        (entry,) = [e for e in mine if e["planId"] == plan_id]
        assert entry["userInfo"]["isUserJoinedPlan"] is True
        # Another learner's page, a roster, the team: not for a learner.
        for path in (
            f"/ui/learners/{demo_site.credentials['manager_id']}",
            f"/ui/plans/{plan_id}",
            "/ui/team",
        ):
            response = page.goto(f"{server.base_url}{path}")
            assert response is not None and response.status == 403, path
            expect(page.locator("h1")).to_have_text("Not allowed")
        browsing.shot("refused")
        assert browsing.errors == [] or all("403" in error for error in browsing.errors)
    finally:
        context.close()


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    """Another origin (a port of its own) whose page posts a form to lmsplans at once."""

    async def evil(request: Request) -> Response:
        target = request.query_params["target"]
        token = request.query_params["token"]
        return HTMLResponse(
            f"""<!doctype html><html><body>
            <form id="f" method="post" action="{target}">
              <input type="hidden" name="csrf_token" value="{token}">
              <input type="hidden" name="form_key" value="from-elsewhere">
            </form>
            <script>document.getElementById("f").submit()</script>
            </body></html>"""
        )

    with serving_in_thread(Starlette(routes=[Route("/", evil)])) as base_url:
        yield base_url


def test_a_form_posted_from_another_origin_is_refused(
    admin: Browsing, demo_site: DemoSite, server: ServerProcess, other_origin: str
) -> None:
    page = admin.page
    plans = api(demo_site, "/api/v1/learning-plans", limit=100)["learningPlans"]
    draft = next(p["planId"] for p in plans if p["publishState"] == "0")
    page.goto(f"{server.base_url}/ui/plans/{draft}")
    # Even with the session's real form token, only the origin gives the form away.
    token = page.locator("form.sign-out input[name=csrf_token]").get_attribute("value")
    with page.expect_navigation(url=f"**/ui/plans/{draft}/publish"):
        page.goto(
            f"{other_origin}/?target={server.base_url}/ui/plans/{draft}/publish&token={token}"
        )
    expect(page.locator(".error-message")).to_contain_text("another site")
    admin.shot("cross-origin-refused")
    plan = api(demo_site, f"/api/v1/learning-plans/{draft}")["learningPlan"]
    assert plan["planInfo"]["publishState"] == "0"


def test_the_pages_work_without_javascript(
    server: ServerProcess, demo_site: DemoSite, browser: Browser
) -> None:
    browsing, context = open_page(browser, "no-javascript", java_script_enabled=False)
    try:
        page = browsing.page
        page.goto(sign_in_link(demo_site, "admin@zylker.example"))
        page.get_by_role("button", name="Continue as Priya Sharma").click()
        page.wait_for_url("**/ui")
        plan_id = biggest_plan(demo_site)
        page.locator(f".plan-card[data-plan-id='{plan_id}'] h2 a").click()
        assert shown_counts(page) == expected(roster_summary(demo_site, plan_id))
        page.select_option("#roster-status", "notStarted")
        page.get_by_role("button", name="Filter").click()
        matching = roster_summary(demo_site, plan_id, status="notStarted")["matchingCount"]
        expect(page.locator("#roster-count")).to_contain_text(f"of {matching} learner")
        page.goto(f"{server.base_url}/ui/plans/{plan_id}")
        page.locator("#roster-results a[rel=next]").click()
        assert "page=2" in page.url
        browsing.shot("report")
        for path, heading in (
            ("/ui/team", "Team"),
            (f"/ui/learners/{demo_site.credentials['learner_id']}", "Hana Nakamura"),
            ("/ui/me", "My learning"),
        ):
            page.goto(f"{server.base_url}{path}")
            expect(page.locator("main h1")).to_have_text(heading)
        page.goto(f"{server.base_url}/ui/learners/{demo_site.credentials['learner_id']}")
        browsing.shot("learner")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/ui/sign-in?reason=signed-out")
        expect(page.locator(".notice")).to_have_text("You are signed out, on every device.")
        page.goto(f"{server.base_url}/ui")
        assert "/ui/sign-in" in page.url
    finally:
        context.close()


def test_the_pages_on_a_phone(server: ServerProcess, demo_site: DemoSite, browser: Browser) -> None:
    phone, context = open_page(browser, "phone", viewport=PHONE, is_mobile=True)
    try:
        page = phone.page
        open_link(page, sign_in_link(demo_site, "manager@zylker.example"))
        for path, label in (
            ("/ui", "plans"),
            (f"/ui/plans/{biggest_plan(demo_site)}", "report"),
            ("/ui/team", "team"),
            ("/ui/me", "me"),
        ):
            page.goto(f"{server.base_url}{path}")
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
            phone.shot(label)
        assert phone.errors == [] and phone.refused == []
    finally:
        context.close()
