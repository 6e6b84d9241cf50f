"""Finding a request's route without trying every route: Starlette's router, indexed by the
path's first segment.

Starlette tries the routes in order, one regular expression each, until one matches; with
the interface's pages declared before the API, the reference endpoint was the 24th route
tried, and that search was a fifth of what a cached answer cost. `SegmentRouter` keeps
Starlette's matching exactly (the same routes, in the same order, the same 405s, redirects
and 404s) but asks only the routes that can match the path's first segment: those whose
path begins with that literal segment, and those whose first segment is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Router
from starlette.types import Lifespan, Receive, Scope, Send


def first_segment(path: str) -> str:
    """`api` for `/api/v1/learners`, `` for `/`."""
    return path[1:].split("/", 1)[0]


def _literal_first_segment(route: BaseRoute) -> str | None:
    """The literal first segment every path the route matches begins with, or None when it
    may match any (a parameter there, or a route without a path)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    segment = first_segment(path)
    return None if "{" in segment else segment


class SegmentRouter(Router):
    """A `Router` that, for an HTTP request, searches only the routes that can match the
    path's first segment, in their declared order (see the module docstring)."""

    def __init__(self, routes: Sequence[BaseRoute], *, lifespan: Lifespan[Any]) -> None:
        super().__init__(routes=list(routes), lifespan=lifespan)
        firsts = [(route, _literal_first_segment(route)) for route in self.routes]

        def searching(segment: str | None) -> Router:
            """The routes a path whose first segment is `segment` may match, in order."""
            found = [route for route, first in firsts if first in (segment, None)]
            return Router(routes=found, default=self.default)

        self._any_segment = searching(None)
        segments = {first for _, first in firsts if first is not None}
        self._by_segment = {segment: searching(segment) for segment in segments}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)  # `url_for` names every route, not the segment's
        segment = first_segment(get_route_path(scope))
        await self._by_segment.get(segment, self._any_segment).app(scope, receive, send)
