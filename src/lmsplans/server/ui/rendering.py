"""Pages from templates: the Jinja2 environment, the layout's navigation, the HTML answer.

One `Site` is built with the app (`create_app`): it reads the static files' digests and
makes the environment once; templates are compiled on first use and kept. Autoescaping is
on for every template, and an undefined name is an error, not an empty string, so a
template that names something its handler did not pass fails its test.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

import lmsplans
from lmsplans.server.auth.schemas import Role
from lmsplans.server.ui import charts
from lmsplans.server.ui.assets import URL_PREFIX, StaticAssets
from lmsplans.server.ui.security import DOCS_POLICY, PAGE_POLICY, page_headers
from lmsplans.server.ui.views import LIVE_SECONDS, STATUS_LABELS

OPENAPI_URL = "/openapi.json"


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    current: bool  # the page shown is this item's (`aria-current="page"`)


# (label, href, the roles that see it, the paths it stands for besides its own)
_READERS = frozenset({Role.ADMIN, Role.MANAGER})
_NAVIGATION: tuple[tuple[str, str, frozenset[Role], tuple[str, ...]], ...] = (
    ("Plans", "/ui", _READERS, ("/ui/plans/", "/ui/learners/")),
    ("Team", "/ui/team", _READERS, ()),
    ("My learning", "/ui/me", frozenset(Role), ()),
)


def navigation(role: Role, path: str) -> tuple[NavItem, ...]:
    """The layout's navigation for `role`, with the item of `path` marked current."""
    return tuple(
        NavItem(label, href, path == href or path.startswith(prefixes or (href + "/",)))
        for label, href, roles, prefixes in _NAVIGATION
        if role in roles
    )


ROLE_LABELS = {Role.ADMIN: "Admin", Role.MANAGER: "Manager", Role.LEARNER: "Learner"}


def date(epoch_ms: int | None) -> str:
    """A day, `2026-12-01` (UTC): the same for every reader, whatever their locale."""
    if epoch_ms is None:
        return "—"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d")


def date_time(epoch_ms: int | None) -> str:
    """A moment to the minute, `2026-12-01 14:05 UTC`."""
    if epoch_ms is None:
        return "—"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_time(epoch_ms: int) -> str:
    """The machine-readable form for `<time datetime=...>`."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")


def _bar(completed: int, total: int, label: str) -> Markup:
    return charts.completion_bar(completed, total, label=label)


def build_environment(assets: StaticAssets) -> Environment:
    """The templates of `lmsplans/server/ui/templates`, autoescaped, strict about names."""
    environment = Environment(
        loader=PackageLoader("lmsplans.server.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: read once
    )
    environment.globals.update(
        asset_url=assets.url,
        version=lmsplans.__version__,
        role_labels=ROLE_LABELS,
        status_labels=STATUS_LABELS,
        live_seconds=LIVE_SECONDS,
        bar=_bar,
        # A form's one-time key (`ui.http.writing`): a new one for each form drawn.
        new_form_key=lambda: secrets.token_urlsafe(18),
    )
    environment.filters.update(
        date=date, date_time=date_time, iso_time=iso_time, percent=charts.percent
    )
    return environment


class Site:
    """The interface's templates and static files, built once per app."""

    def __init__(self, assets: StaticAssets | None = None) -> None:
        self.assets = assets or StaticAssets()
        self.templates = build_environment(self.assets)

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """The template `name` with `context`. A page with a `viewer` (the signed-in
        person, see `lmsplans.server.sessions`) also gets its navigation for `path`."""
        values = dict(context)
        viewer = values.get("viewer")
        if viewer is not None and "nav" not in values:
            values["nav"] = navigation(viewer.role, str(values.get("path", "")))
        values.setdefault("viewer", None)
        return self.templates.get_template(name).render(values)

    def page(
        self,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        policy: str = PAGE_POLICY,
    ) -> Response:
        """An HTML answer with the security header fields of every page."""
        return HTMLResponse(
            self.render(name, context), status_code=status_code, headers=page_headers(policy)
        )

    async def docs(self, request: Request) -> Response:
        """`/docs`: Swagger UI, served from this package, reading `/openapi.json`."""
        return self.page("docs.html", {"openapi_url": OPENAPI_URL}, policy=DOCS_POLICY)

    def routes(self) -> list[BaseRoute]:
        """Public by nature: the static files and the API's documentation page. They come
        before the API's routes, so this `/docs` is the one served."""
        return [
            Mount(URL_PREFIX, app=self.assets, name="static"),
            Route("/docs", self.docs, methods=["GET"], include_in_schema=False),
        ]
