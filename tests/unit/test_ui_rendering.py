"""The interface's templates: escaped, strict about names, and free of anything the pages'
Content-Security-Policy would refuse (inline scripts, styles, handlers, other origins)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import jinja2
import pytest

import lmsplans
from lmsplans.server.auth.schemas import Role
from lmsplans.server.sessions.schemas import SessionInfo
from lmsplans.server.ui import charts
from lmsplans.server.ui.rendering import Site, date, date_time, iso_time, navigation
from lmsplans.server.ui.security import DOCS_POLICY, PAGE_POLICY

# 2026-12-01 14:05:09 UTC
MOMENT_MS = 1_796_133_909_000


@pytest.fixture(scope="module")
def site() -> Site:
    return Site()


def viewer(role: Role = Role.MANAGER, name: str = "Ana Lima") -> SessionInfo:
    return SessionInfo(
        session_hash="0" * 64,
        org_id=1,
        org_name="Zylker & Co",
        learner_id=2,
        display_name=name,
        email="ana@zylker.example",
        role=role,
        csrf_token="f" * 64,
        created_ms=MOMENT_MS,
        last_seen_ms=MOMENT_MS,
        expires_ms=MOMENT_MS + 3_600_000,
    )


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script> and <style>."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[tuple[str, str]] = []
        self._open: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append((self._open, data))

    def find(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and all(attrs.get(k) == v for k, v in wanted.items())
        ]


def assert_policy_safe(html: str) -> Elements:
    """Nothing in `html` needs 'unsafe-inline' or another origin."""
    page = Elements(html)
    assert page.inline == [], "inline <script> or <style> text"
    assert not page.find("style")
    for tag, attrs in page.tags:
        assert "style" not in attrs, f"<{tag} style=...>"
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"<{tag}> has event handler attributes {handlers}"
        for name in ("src", "href", "action", "formaction"):
            url = attrs.get(name)
            if url is not None:
                assert url.startswith(("/", "#")) and not url.startswith("//"), (tag, url)
    for attrs in page.find("script"):
        assert attrs.get("src"), "a <script> without src"
    return page


PAGE = """{% extends "base.html" %}
{% from "charts.html" import figure %}
{% block main %}<h1>{{ title }}</h1>{{ figure(status) }}{{ figure(levels) }}{% endblock %}"""


def render_page(site: Site, **context: Any) -> str:
    template = site.templates.from_string(PAGE)
    status = charts.status_chart(charts.StatusCounts(60, 20, 25, 15, 7))
    levels = charts.completion_chart(
        [charts.Completion("Level 1", 30, 60)], what="level", chart_id="levels"
    )
    values = {"title": "Onboarding", "status": status, "levels": levels, "path": "/ui", **context}
    if values.get("viewer") is not None:
        values["nav"] = navigation(values["viewer"].role, values["path"])
    values.setdefault("viewer", None)
    return template.render(values)


def test_the_layout_shows_who_is_signed_in_where(site: Site) -> None:
    html = render_page(site, viewer=viewer(), path="/ui/plans/42")
    page = assert_policy_safe(html)
    assert "Zylker &amp; Co" in html and "Ana Lima" in html and ">Manager<" in html
    links = [(a.get("href"), a.get("aria-current")) for a in page.find("a")]
    assert ("/ui", "page") in links  # a plan report belongs under "Plans"
    assert ("/ui/team", None) in links and ("/ui/me", None) in links
    assert ("/docs", None) in links
    (form,) = page.find("form")
    assert (form.get("method"), form.get("action")) == ("post", "/ui/sign-out")
    assert page.find("input", type="hidden", name="csrf_token", value="f" * 64)
    assert page.find("main", id="main")
    assert f"lmsplans {lmsplans.__version__}" in html
    # The stylesheet and htmx come from this server, at content-named URLs.
    (css,) = page.find("link", rel="stylesheet")
    assert css.get("href") == site.assets.url("ui.css")
    (script,) = page.find("script")
    assert script.get("src") == site.assets.url("vendor/htmx/htmx.min.js")
    assert "defer" in script


def test_htmx_is_told_to_stay_within_the_policy(site: Site) -> None:
    page = Elements(render_page(site, viewer=viewer()))
    (meta,) = page.find("meta", name="htmx-config")
    config = json.loads(meta.get("content") or "")
    assert config == {
        "includeIndicatorStyles": False,  # would inject a <style> the policy refuses
        "allowEval": False,
        "allowScriptTags": False,
        "historyCacheSize": 0,
        "selfRequestsOnly": True,
    }


def test_the_sign_in_pages_have_no_navigation(site: Site) -> None:
    page = assert_policy_safe(render_page(site, viewer=None))
    assert not page.find("nav") and not page.find("form")
    assert [a.get("href") for a in page.find("a")] == ["#main", "/ui", "/docs"]


def test_every_value_is_escaped(site: Site) -> None:
    html = render_page(site, viewer=viewer(name='<img src=x onerror="alert(1)">'))
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert_policy_safe(html)


def test_a_name_the_handler_did_not_pass_fails_the_render(site: Site) -> None:
    with pytest.raises(jinja2.UndefinedError):
        site.templates.get_template("base.html").render(viewer=None)


def test_a_static_file_that_is_not_shipped_fails_the_render(site: Site) -> None:
    template = site.templates.from_string("{{ asset_url('missing.css') }}")
    with pytest.raises(LookupError, match=r"missing\.css"):
        template.render()


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        # A learner reads no plan's roster: their own page is theirs.
        (Role.LEARNER, "/ui/me", [("My learning", True)]),
        (Role.ADMIN, "/ui", [("Plans", True), ("Team", False), ("My learning", False)]),
        (Role.ADMIN, "/ui/learners/7", [("Plans", True), ("Team", False), ("My learning", False)]),
        (Role.MANAGER, "/ui/team", [("Plans", False), ("Team", True), ("My learning", False)]),
        (Role.MANAGER, "/ui/teamwork", [("Plans", False), ("Team", False), ("My learning", False)]),
    ],
)
def test_navigation_follows_the_role(
    role: Role, path: str, expected: list[tuple[str, bool]]
) -> None:
    assert [(item.label, item.current) for item in navigation(role, path)] == expected


def test_site_render_adds_the_navigation(site: Site) -> None:
    html = site.render(
        "base.html", {"title": "T", "viewer": viewer(Role.LEARNER), "path": "/ui/me"}
    )
    page = Elements(html)
    assert [a.get("href") for a in page.find("a", **{"aria-current": "page"})] == ["/ui/me"]
    assert not page.find("a", href="/ui/team")


def test_pages_carry_the_strict_policy(site: Site) -> None:
    response = site.page("base.html", {"title": "T"})
    policy = response.headers["content-security-policy"]
    assert policy == PAGE_POLICY
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "img-src", "connect-src", "form-action"):
        assert directives[name] == "'self'", name
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_the_docs_page_loads_swagger_ui_from_this_server(site: Site) -> None:
    html = site.render("docs.html", {"openapi_url": "/openapi.json"})
    page = assert_policy_safe(html)
    assert [s.get("src") for s in page.find("script")] == [
        site.assets.url("vendor/swagger-ui/swagger-ui-bundle.js"),
        site.assets.url("docs.js"),
    ]
    assert page.find(
        "link", rel="stylesheet", href=site.assets.url("vendor/swagger-ui/swagger-ui.css")
    )
    assert page.find("div", id="swagger-ui", **{"data-openapi-url": "/openapi.json"})
    # Swagger UI draws icons from data: URLs; that is all its policy adds to the pages'.
    assert PAGE_POLICY.replace("img-src 'self'", "img-src 'self' data:") == DOCS_POLICY


def test_dates_read_the_same_everywhere() -> None:
    assert date(MOMENT_MS) == "2026-12-01"
    assert date_time(MOMENT_MS) == "2026-12-01 14:05 UTC"
    assert iso_time(MOMENT_MS) == "2026-12-01T14:05:09+00:00"
    assert date(None) == date_time(None) == "—"
