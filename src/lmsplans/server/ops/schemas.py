"""The documented answers of the operations endpoints (OpenAPI components)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lmsplans.server.errors import ErrorEnvelope
from lmsplans.server.wire import ClosedRecord, Digits

State = Literal["ok", "down"]


class Health(ClosedRecord):
    status: Literal["ok"]
    process: Digits = Field(description="The id of the server process that answered.")


class Checks(ClosedRecord):
    database: State
    limiter: State


class Readiness(ClosedRecord):
    status: Literal["ok"]
    checks: Checks


class NotReady(ErrorEnvelope):
    """503: the error envelope, naming which dependency is down."""

    checks: Checks | None = None


class Links(ClosedRecord):
    docs: str = Field(description="The interactive API description.")
    openapi: str = Field(description="The OpenAPI 3.1 description.")
    health: str
    readiness: str
    metrics: str
    ui: str | None = Field(default=None, description="The web interface, when it is served.")


class ServiceInfo(ClosedRecord):
    """`GET /` for a program: what answers here, and where to go next."""

    service: Literal["lmsplans"]
    version: str
    description: str
    links: Links
