"""Finding learners, and who may see whom."""

from __future__ import annotations

from dataclasses import dataclass

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.db import Connection
from lmsplans.server.errors import NoSuchLearner, PermissionDenied

_MAX_ID = 2**63 - 1

LEARNER_COLUMNS = (
    "l.id, l.org_id, l.zuid, l.employee_id, l.email, l.display_name, l.role, l.manager_id, l.status"
)


@dataclass(frozen=True, slots=True)
class Learner:
    id: int
    org_id: int
    zuid: int
    employee_id: str
    email: str
    display_name: str
    role: str
    manager_id: int | None
    status: str


async def resolve_learner(conn: Connection, *, org_id: int, learner_ref: str) -> Learner:
    """The learner named by userId (erecno), zuid or email, in the caller's organisation only."""
    ref = learner_ref.strip()
    params: dict[str, str | int]
    if "@" in ref:
        where, params = "l.email = :email", {"email": ref.lower()}
    elif ref.isascii() and ref.isdigit() and int(ref) <= _MAX_ID:
        where, params = "(l.id = :n OR l.zuid = :n)", {"n": int(ref)}
    else:
        raise NoSuchLearner()
    rows = await conn.fetch_all(
        f"SELECT {LEARNER_COLUMNS} FROM learners l WHERE l.org_id = :org_id AND {where}"
        " ORDER BY l.id = :by_id DESC LIMIT 1",
        {**params, "org_id": org_id, "by_id": params.get("n", -1)},
    )
    if not rows:
        raise NoSuchLearner()
    return Learner(*rows[0])


def ensure_can_read(principal: Principal, learner: Learner) -> None:
    """Admins read their whole organisation, managers their reportees and themselves,
    learners themselves."""
    if principal.role is Role.ADMIN or learner.id == principal.user_id:
        return
    if principal.role is Role.MANAGER and learner.manager_id == principal.user_id:
        return
    raise PermissionDenied("Permission denied: you may not read this learner's data")


def visibility_sql(principal: Principal, alias: str = "l") -> tuple[str, dict[str, int]]:
    """A WHERE fragment limiting learner rows (table alias `alias`) to what the caller may see."""
    if principal.role is Role.ADMIN:
        return "1 = 1", {}
    if principal.role is Role.MANAGER:
        return (
            f"({alias}.id = :viewer_id OR {alias}.manager_id = :viewer_id)",
            {"viewer_id": principal.user_id},
        )
    return f"{alias}.id = :viewer_id", {"viewer_id": principal.user_id}


# --- Writes ----------------------------------------------------------------------------------


async def create_organisation(conn: Connection, *, name: str, now_ms: int) -> int:
    return await conn.insert(
        "INSERT INTO organisations (name, created_time) VALUES (:name, :now)",
        {"name": name, "now": now_ms},
    )


async def create_learner(
    conn: Connection,
    *,
    org_id: int,
    zuid: int,
    employee_id: str,
    email: str,
    display_name: str,
    role: Role,
    manager_id: int | None,
    now_ms: int,
    learner_id: int | None = None,
) -> int:
    return await conn.insert(
        """INSERT INTO learners (id, org_id, zuid, employee_id, email, display_name, role,
                                 manager_id, status, created_time, modified_time)
           VALUES (:id, :org_id, :zuid, :employee_id, :email, :display_name, :role,
                   :manager_id, 'active', :now, :now)""",
        {
            "id": learner_id,
            "org_id": org_id,
            "zuid": zuid,
            "employee_id": employee_id,
            "email": email.lower(),
            "display_name": display_name,
            "role": role.value,
            "manager_id": manager_id,
            "now": now_ms,
        },
    )
