"""Who is calling, and what their token lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lmsplans.server.errors import ErrorEnvelope
from lmsplans.server.wire import ClosedRecord


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


# A form field or query parameter that must not be empty (an empty one is missing: 400 7019).
NonEmpty = Annotated[str, Field(min_length=1)]
GrantType = Literal["refresh_token", "client_credentials"]


def _none_required(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


class TokenRequest(BaseModel):
    """`POST /oauth/v2/token`, as form fields (query parameters work as well)."""

    # A description only (the handler reads the fields one by one). Form fields cannot be
    # null: `refresh_token` and `scope` are strings, not nullable ones.
    # Other fields are ignored, as Zoho Accounts does; none is required in the form, since
    # each may come in the query string instead.
    model_config = ConfigDict(extra="allow", json_schema_extra=_none_required)
    grant_type: GrantType
    client_id: NonEmpty
    client_secret: NonEmpty
    refresh_token: NonEmpty = Field(description="For grant_type=refresh_token")
    scope: NonEmpty = Field(description="For grant_type=client_credentials: comma-separated scopes")


class TokenResponse(ClosedRecord):
    access_token: str
    scope: str
    api_domain: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=1, le=2**31 - 1, description="Seconds the access token lives")


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra=_none_required)
    token: NonEmpty = Field(
        description="A refresh token (with its access tokens) or an access token"
    )


class RevokeResponse(ClosedRecord):
    message: str
    status: Literal[200]


class OAuthError(ErrorEnvelope):
    """The error envelope, with Zoho Accounts' `error` name where it has one."""

    error: str | None = Field(None, description="e.g. invalid_client, invalid_code")
