"""The documented answers of the operations endpoints (OpenAPI components)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lmsplans.server.errors import ErrorEnvelope

State = Literal["ok", "down"]


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]
    process: int = Field(description="The id of the server process that answered.")


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
