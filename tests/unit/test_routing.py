"""Route declarations: a handler's docstring is its operation's summary and description."""

from __future__ import annotations

from starlette.routing import Route

from lmsplans.server.app import page_tables, route_tables
from lmsplans.server.routing import UNMATCHED_PAGE, docstring_parts, page_routes


async def _handler() -> None:
    """Create a thing

    Admins only. A long sentence
    wrapped over two lines.

    A second paragraph.
    """


async def _summary_only() -> None:
    """One thing"""


def test_the_first_line_is_the_summary_and_the_rest_the_description_unwrapped() -> None:
    assert docstring_parts(_handler) == (
        "Create a thing",
        "Admins only. A long sentence wrapped over two lines.\n\nA second paragraph.",
    )
    assert docstring_parts(_summary_only) == ("One thing", "")


def test_every_route_is_declared_once_with_a_summary() -> None:
    declared = [d for table in route_tables() for d in table.declarations]
    keys = [(d.method, d.path) for d in declared]
    assert len(keys) == len(set(keys))
    assert len({d.name for d in declared}) == len(declared)  # operationIds are unique
    assert all(d.doc.summary and not d.doc.summary.endswith(".") for d in declared)
    public = {d.path for d in declared if d.scope is None}
    assert public == {
        "/",  # what answers here (issue 11): name, version, links
        "/oauth/v2/token",
        "/oauth/v2/token/revoke",
        "/healthz",
        "/readyz",
        "/metrics",
    }


def test_every_page_needs_a_session_but_signing_in() -> None:
    declared = [d for table in page_tables() for d in table.declarations]
    keys = [(d.method, d.path) for d in declared]
    assert len(keys) == len(set(keys))
    assert all(d.path == "/ui" or d.path.startswith("/ui/") for d in declared)
    public = {(d.method, d.path) for d in declared if d.kind == "public"}
    assert public == {
        ("GET", "/ui/sign-in"),
        ("POST", "/ui/sign-in"),
        ("GET", "/ui/sign-in/{token}"),
        ("POST", "/ui/sign-in/{token}"),
    }
    # Every other form is checked; those that write run as one write each.
    assert {d.kind for d in declared if d.method == "POST" and d.kind != "public"} == {
        "write",
        "form",
    }
    assert [d.path for d in declared if d.kind == "form"] == ["/ui/sign-out"]


def test_the_pages_end_with_what_answers_any_other_path_under_ui() -> None:
    routes = page_routes(page_tables())
    home, last = routes[-2], routes[-1]
    assert isinstance(last, Route) and last.path == UNMATCHED_PAGE
    assert isinstance(home, Route) and home.path == "/ui" and "GET" not in (home.methods or ())
    assert all(not route.include_in_schema for route in routes if isinstance(route, Route))
