"""The interface's layout in a real browser, under the pages' real policy: the stylesheet
and htmx load from this server, charts draw, a phone gets one column, the page reads
without JavaScript, and an inline script or style is refused.

No page of the interface exists yet (they need the queries of issue 9), so a small app
serves the real layout and static files, with the real header fields, around sample charts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from markupsafe import Markup
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from lmsplans.server.auth.schemas import Role
from lmsplans.server.sessions.schemas import SessionInfo
from lmsplans.server.ui import charts
from lmsplans.server.ui.rendering import Site, navigation
from lmsplans.server.ui.security import page_headers
from tests.browser.conftest import PHONE, Browsing, open_page, serving_in_thread

pytestmark = pytest.mark.slow

SAMPLE = """{% extends "base.html" %}
{% from "charts.html" import figure %}
{% block main %}
<h1>{{ title }}</h1>
<p id="note"{{ extra_attributes }}>Plan report of a sample plan.</p>
{{ extra_markup }}
{{ figure(status) }}
{{ figure(courses) }}
{% endblock %}"""

VIEWER = SessionInfo(
    session_hash="0" * 64,
    org_id=1,
    org_name="Zylker Corp",
    learner_id=2,
    display_name="Priya Sharma",
    email="admin@zylker.example",
    role=Role.ADMIN,
    csrf_token="c" * 64,
    created_ms=0,
    last_seen_ms=0,
    expires_ms=2**62,
)
# What a page's policy must stop: an inline script and an inline style.
INLINE_SCRIPT = '<script>document.title = "inline script ran"</script>'
INLINE_STYLE = ' style="color: rgb(255, 0, 0)"'
BRAND_BACKGROUND = "rgb(11, 61, 92)"  # --brand in ui.css


def preview_app(site: Site) -> Starlette:
    template = site.templates.from_string(SAMPLE)
    status = charts.status_chart(charts.StatusCounts(60, 20, 25, 15, 7), chart_id="status")
    courses = charts.completion_chart(
        [
            charts.Completion("Workplace Safety", 41, 60),
            charts.Completion("Code of Conduct", 52, 60),
            charts.Completion("Data Protection and Privacy at Work, with Case Studies", 9, 60),
        ],
        chart_id="courses",
    )

    def render(*, inline: bool) -> Response:
        html = template.render(
            title="Onboarding",
            viewer=VIEWER,
            nav=navigation(VIEWER.role, "/ui/plans/1"),
            status=status,
            courses=courses,
            # Marked safe on purpose: markup the policy must refuse to run or apply.
            extra_markup=Markup(INLINE_SCRIPT if inline else ""),  # noqa: S704
            extra_attributes=Markup(INLINE_STYLE if inline else ""),  # noqa: S704
        )
        return HTMLResponse(html, headers=page_headers())

    async def page(_: Request) -> Response:
        return render(inline=False)

    async def tampered(_: Request) -> Response:
        return render(inline=True)

    return Starlette(routes=[*site.routes(), Route("/preview", page), Route("/tampered", tampered)])


@pytest.fixture(scope="module")
def preview() -> Iterator[str]:
    with serving_in_thread(preview_app(Site())) as base_url:
        yield base_url


def test_the_layout_loads_its_files_under_the_policy(preview: str, browsing: Browsing) -> None:
    page = browsing.page
    page.goto(f"{preview}/preview")
    page.wait_for_function("() => window.htmx !== undefined")
    # htmx read its settings from the meta tag, so it injected no style the policy refuses.
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("htmx.config.allowEval") is False
    header = page.locator(".site-header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == BRAND_BACKGROUND
    assert header.get_by_text("Zylker Corp").is_visible()
    assert header.get_by_text("Priya Sharma").is_visible()
    assert page.locator("nav a[aria-current=page]").inner_text() == "Plans"
    assert page.get_by_role("button", name="Sign out").is_visible()
    charts_drawn = page.locator("svg.chart[role=img]")
    assert charts_drawn.count() == 2
    box = charts_drawn.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 50
    assert page.locator("#status-title").text_content() == "Status of 60 enrolled learners"
    rows = page.locator(".chart-table tbody tr").all_inner_texts()
    assert rows[0].split() == ["Completed", "20", "of", "60", "33%"]
    browsing.shot("desktop")
    assert browsing.refused == []
    assert browsing.errors == []


def test_a_phone_gets_one_column_and_no_sideways_scroll(preview: str, browser: Browser) -> None:
    phone, context = open_page(browser, "layout-phone", viewport=PHONE, is_mobile=True)
    try:
        page = phone.page
        page.goto(f"{preview}/preview")
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        chart = page.locator("svg.chart").first.bounding_box()
        assert chart is not None and chart["width"] <= PHONE["width"]
        # The navigation takes its own line below the brand on a narrow screen.
        brand = page.locator(".brand").bounding_box()
        nav = page.locator(".site-nav").bounding_box()
        assert brand is not None and nav is not None and nav["y"] >= brand["y"] + brand["height"]
        phone.shot("phone")
        assert phone.errors == []
    finally:
        context.close()


def test_without_javascript_the_page_still_reads(preview: str, browser: Browser) -> None:
    plain, context = open_page(browser, "layout-no-javascript", java_script_enabled=False)
    try:
        page = plain.page
        page.goto(f"{preview}/preview")
        assert page.get_by_role("button", name="Sign out").is_visible()
        assert page.get_by_role("link", name="My learning").is_visible()
        assert page.locator("svg.chart").first.is_visible()
        assert page.get_by_role("rowheader", name="Overdue").is_visible()
        summary = page.locator(".chart-summary").first
        assert summary.is_visible()
        assert summary.inner_text().startswith("Of 60 enrolled learners, 20 (33%) completed")
        plain.shot("no-javascript")
    finally:
        context.close()


def test_an_inline_script_or_style_is_refused(preview: str, browsing: Browsing) -> None:
    page = browsing.page
    page.goto(f"{preview}/tampered")
    page.wait_for_load_state("load")
    assert page.title() == "Onboarding · lmsplans"  # the inline script did not run
    colour = page.locator("#note").evaluate("e => getComputedStyle(e).color")
    assert colour != "rgb(255, 0, 0)"  # nor did the inline style apply
    violations = browsing.policy_violations()
    assert any("script-src" in v for v in violations), browsing.errors
    assert any("style-src" in v for v in violations), browsing.errors
