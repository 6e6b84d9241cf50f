"""Operations endpoints: liveness, readiness and Prometheus metrics. Public by design."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lmsplans.server.errors import ServiceUnavailable
from lmsplans.server.http import Services, public_route
from lmsplans.server.openapi import OperationDoc
from lmsplans.server.ops.schemas import Health, NotReady, Readiness
from lmsplans.server.wire import json_response


async def healthz(request: Request, services: Services) -> Response:
    """Alive: the process answers."""
    return json_response({"status": "ok", "process": os.getpid()})


async def readyz(request: Request, services: Services) -> Response:
    """Ready: the database and the limiter answer. 503 names whichever does not."""
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


async def metrics(request: Request, services: Services) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_TAGS = ("Operations",)

routes: list[Route] = [
    public_route(
        "/healthz", healthz, doc=OperationDoc("Alive: the process answers", Health, tags=_TAGS)
    ),
    public_route(
        "/readyz",
        readyz,
        doc=OperationDoc(
            "Ready: the database and the limiter answer",
            Readiness,
            tags=_TAGS,
            errors=(ServiceUnavailable,),
            error_model=NotReady,
        ),
    ),
    public_route(
        "/metrics",
        metrics,
        doc=OperationDoc(
            "Prometheus metrics", None, tags=_TAGS, media_type=CONTENT_TYPE_LATEST.split(";")[0]
        ),
    ),
]
