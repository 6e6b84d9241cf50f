"""`SegmentRouter` answers exactly as Starlette's `Router` over the same routes: the same
route for every path and method, the same 405, redirect and 404."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route, Router

from lmsplans.server.dispatch import SegmentRouter, first_segment


def route(path: str, name: str, methods: list[str] | None = None) -> Route:
    """A route whose answer names it and the path parameters it read."""

    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return Route(path, endpoint, methods=methods)


def _routes() -> list[BaseRoute]:
    static = Router(routes=[route("/{file:path}", "static")])
    return [
        Mount("/static", app=static),
        route("/ui", "ui home"),
        route("/ui/plans/{planId}", "ui plan"),
        route("/ui/plans/{planId}", "ui plan post", methods=["POST"]),
        route("/ui/{rest:path}", "ui catch-all", methods=["GET", "POST", "DELETE"]),
        route("/{tenant}/about", "tenant about"),  # a parameter first: in every segment
        route("/api/v1/learners/{learnerId}/learning-plans/progress", "reference"),
        route("/api/v1/learners", "learners"),
        route("/api/v1/learners", "learner create", methods=["POST"]),
        route("/api/v1/learners/{learnerId}", "learner"),
        route("/", "home"),
        route("/healthz", "health"),
        route("/trailing/", "trailing"),
    ]


PATHS = [
    "/",
    "/static/app.css",
    "/static",
    "/ui",
    "/ui/",
    "/ui/plans/7",
    "/ui/anything/else",
    "/zylker/about",
    "/api/about",
    "/api/v1/learners",
    "/api/v1/learners/",
    "/api/v1/learners/12",
    "/api/v1/learners/12/learning-plans/progress",
    "/api/v2/nothing",
    "/healthz",
    "/healthz/",
    "/trailing",
    "/nowhere",
    "//double",
]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
async def test_every_path_and_method_is_answered_as_starlette_answers_it(method: str) -> None:
    plain = Router(routes=_routes())
    indexed = SegmentRouter(_routes(), lifespan=None)  # type: ignore[arg-type]
    answers = []
    for app in (plain, indexed):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers.append(
                [
                    (
                        path,
                        (response := await client.request(method, path)).status_code,
                        response.text,
                        response.headers.get("location"),
                        response.headers.get("allow"),
                    )
                    for path in PATHS
                ]
            )
    assert answers[1] == answers[0]
    # The comparison means something: the paths were answered in several ways.
    assert len({answer[1] for answer in answers[0]}) >= 3


def test_first_segment() -> None:
    assert first_segment("/api/v1/learners") == "api"
    assert first_segment("/") == ""
    assert first_segment("/healthz") == "healthz"
    assert first_segment("//double") == ""
