"""Who is calling, and what their token lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lmsplans.server.errors import ErrorEnvelope


class Operation(StrEnum):
    """The operation part of a `ZOHOPEOPLE.training.<OPERATION>` scope."""

    READ = "READ"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    ALL = "ALL"


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    LEARNER = "learner"


SCOPE_PREFIX = "ZOHOPEOPLE.training."


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a learner of one organisation, acting through a token."""

    org_id: int
    user_id: int
    role: Role
    operations: frozenset[Operation]
    expires_ms: int = 2**62  # when the token behind this principal expires

    def allows(self, operation: Operation) -> bool:
        return Operation.ALL in self.operations or operation in self.operations


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scopes: str


@dataclass(frozen=True, slots=True)
class NewClient:
    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str
    expires_in: int


# --- The documented shapes of the OAuth endpoints (OpenAPI components) -----------------------


class TokenRequest(BaseModel):
    """`POST /oauth/v2/token`, as form fields (query parameters work as well)."""

    model_config = ConfigDict(extra="forbid")
    grant_type: Literal["refresh_token", "client_credentials"]
    client_id: str
    client_secret: str
    refresh_token: str | None = Field(None, description="For grant_type=refresh_token")
    scope: str | None = Field(
        None, description="For grant_type=client_credentials: comma-separated scopes"
    )


class TokenResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_token: str
    scope: str
    api_domain: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token lives")


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(description="A refresh token (with its access tokens) or an access token")


class RevokeResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    status: Literal[200]


class OAuthError(ErrorEnvelope):
    """The error envelope, with Zoho Accounts' `error` name where it has one."""

    error: str | None = Field(None, description="e.g. invalid_client, invalid_code")
