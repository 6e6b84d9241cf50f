"""Who is calling, and what their token lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
