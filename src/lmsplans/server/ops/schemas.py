"""The documented answers of the operations endpoints (OpenAPI components)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lmsplans.server.errors import ErrorEnvelope
from lmsplans.server.wire import Digits

State = Literal["ok", "down"]


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]
    process: Digits = Field(description="The id of the server process that answered.")


class Checks(BaseModel):
    model_config = ConfigDict(extra="forbid")
    database: State
    limiter: State


class Readiness(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]
    checks: Checks


class NotReady(ErrorEnvelope):
    """503: the error envelope, naming which dependency is down."""

    checks: Checks | None = None


class Links(BaseModel):
    model_config = ConfigDict(extra="forbid")
    docs: str = Field(description="The interactive API description.")
    openapi: str = Field(description="The OpenAPI 3.1 description.")
    health: str
    readiness: str
    metrics: str
    ui: str | None = Field(default=None, description="The web interface, when it is served.")


class ServiceInfo(BaseModel):
    """`GET /` for a program: what answers here, and where to go next."""

    model_config = ConfigDict(extra="forbid")
    service: Literal["lmsplans"]
    version: str
    description: str
    links: Links
