"""Route declarations: a handler's docstring is its operation's summary and description."""

from __future__ import annotations

from lmsplans.server.app import route_tables
from lmsplans.server.routing import docstring_parts


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
