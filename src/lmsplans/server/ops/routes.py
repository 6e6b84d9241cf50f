"""Operations endpoints: what answers here, liveness, readiness and Prometheus metrics.
Public by design."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from lmsplans.server.errors import ServiceUnavailable
from lmsplans.server.http import Services
from lmsplans.server.openapi import Param
from lmsplans.server.ops import home
from lmsplans.server.ops.schemas import Health, NotReady, Readiness, ServiceInfo
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import json_response

routes = RouteTable(tags=("Operations",))


@routes.public_get(
    "/",
    response=ServiceInfo,
    text_media=("text/html",),
    params=(
        Param(
            "Accept",
            description="`application/json` for JSON; anything else gets the page.",
            location="header",
        ),
    ),
)
async def service_home(request: Request, services: Services) -> Response:
    """The service: its name, version and links

    A short HTML page for a person; JSON when the `Accept` header prefers
    `application/json`.
    """
    return home.answer(request)


@routes.public_get("/healthz", response=Health)
async def healthz(request: Request, services: Services) -> Response:
    """Alive: the process answers"""
    return json_response({"status": "ok", "process": str(os.getpid())})  # an id: a string


@routes.public_get(
    "/readyz", response=Readiness, errors=(ServiceUnavailable,), error_model=NotReady
)
async def readyz(request: Request, services: Services) -> Response:
    """Ready: the database and the limiter answer"""
    # 503 names whichever does not.
    checks = {
        "database": "ok" if await services.db.ping() else "down",
        "limiter": "ok" if await services.limiter.ping() else "down",
    }
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        raise ServiceUnavailable(
            f"Service unavailable: {', '.join(down)} down", extra={"checks": checks}
        )
    return json_response({"status": "ok", "checks": checks})


@routes.public_get("/metrics", response=None, media_type=CONTENT_TYPE_LATEST.split(";")[0])
async def metrics(request: Request, services: Services) -> Response:
    """Prometheus metrics"""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
