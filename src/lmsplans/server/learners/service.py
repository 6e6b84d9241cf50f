"""Who may see whom, and the learner writes: create, update, deactivate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.changes.log import tag
from lmsplans.server.db import Connection, lock_key
from lmsplans.server.errors import Conflict, InvalidParameter, PermissionDenied
from lmsplans.server.learners import queries
from lmsplans.server.learners.queries import Learner, Visibility, resolve_learner
from lmsplans.server.learners.schemas import LearnerIn, LearnerPatch
from lmsplans.server.wire import zoho_str
from lmsplans.server.writes import WriteContext


def ensure_can_read(learner: Learner, *, viewer_id: int | None, role: Role | None) -> None:
    """Admins read their whole organisation, managers their reportees and themselves,
    learners themselves (a viewer of no role, nobody)."""
    if role is Role.ADMIN or learner.id == viewer_id:
        return
    if role is Role.MANAGER and viewer_id is not None and learner.manager_id == viewer_id:
        return
    raise PermissionDenied("Permission denied: you may not read this learner's data")


def visibility(principal: Principal) -> Visibility:
    """The learners a caller may see in lists: as `ensure_can_read` allows one by one."""
    return Visibility(
        principal.user_id,
        everyone=principal.role is Role.ADMIN,
        reportees=principal.role is Role.MANAGER,
    )


# --- Writes ----------------------------------------------------------------------------------


async def create_organisation(conn: Connection, *, name: str, now_ms: int) -> int:
    org_id = await conn.insert(
        "INSERT INTO organisations (name, created_time) VALUES (:name, :now)",
        {"name": name, "now": now_ms},
    )
    conn.changes.touch(org_id, tag("org", org_id))
    return org_id


async def create_learner(
    conn: Connection,
    *,
    write: WriteContext,
    zuid: int,
    employee_id: str,
    email: str,
    display_name: str,
    role: Role,
    manager_id: int | None,
    learner_id: int | None = None,
) -> int:
    """One active learner of the writer's organisation; answers its userId."""
    created = await conn.insert_row(
        "learners",
        {
            "id": learner_id,
            "org_id": write.org_id,
            "zuid": zuid,
            "employee_id": employee_id,
            "email": email.lower(),
            "display_name": display_name,
            "role": role.value,
            "manager_id": manager_id,
            "status": "active",
            "created_time": write.now_ms,
            "modified_time": write.now_ms,
        },
    )
    write.changes.event(
        "learner.created",
        learner_id=created,
        data={
            "employeeId": employee_id,
            "emailId": email.lower(),
            "displayName": display_name,
            "role": role.value,
            "managerId": manager_id,
        },
    )
    return created


@dataclass(frozen=True, slots=True)
class NewLearner:
    """A learner for `insert_learners`: its manager is set afterwards (`set_managers`)."""

    zuid: int
    employee_id: str
    email: str
    display_name: str
    role: Role
    status: str = "active"


async def insert_learners(
    conn: Connection, *, write: WriteContext, learners: Sequence[NewLearner]
) -> list[int]:
    """Many learners of the writer's organisation at once, without managers (an import's
    thousands: one batched statement rather than a round trip each); answers their userIds
    in order. Like `create_learner`, it checks nothing: the caller has."""
    await conn.execute_many(
        """INSERT INTO learners (org_id, zuid, employee_id, email, display_name, role,
                                 manager_id, status, created_time, modified_time)
           VALUES (:org_id, :zuid, :employee_id, :email, :display_name, :role,
                   NULL, :status, :now, :now)""",
        [
            {
                "org_id": write.org_id,
                "zuid": new.zuid,
                "employee_id": new.employee_id,
                "email": new.email.lower(),
                "display_name": new.display_name,
                "role": new.role.value,
                "status": new.status,
                "now": write.now_ms,
            }
            for new in learners
        ],
    )
    ids = {
        learner.employee_id: learner.id
        for learner in await queries.org_learners(conn, org_id=write.org_id)
    }
    for new in learners:
        write.changes.event(
            "learner.created",
            learner_id=ids[new.employee_id],
            data={
                "employeeId": new.employee_id,
                "emailId": new.email.lower(),
                "displayName": new.display_name,
                "role": new.role.value,
                "status": new.status,
            },
        )
    return [ids[new.employee_id] for new in learners]


async def set_managers(
    conn: Connection, *, write: WriteContext, managers: Sequence[tuple[int, int]]
) -> None:
    """(learner, manager) pairs at once, for learners `insert_learners` just made (it
    checks no loop: a new learner manages no one yet)."""
    # By id alone: on a table just filled, PostgreSQL's generic plan may prefer an
    # (org_id, ...) index for `org_id = ...` and read the organisation for every row.
    await conn.execute_many(
        "UPDATE learners SET manager_id = :manager_id, modified_time = :now WHERE id = :id",
        [{"id": i, "manager_id": m, "now": write.now_ms} for i, m in managers],
    )
    for learner_id, manager_id in managers:
        write.changes.event(
            "learner.updated",
            learner_id=learner_id,
            data={"changed": {"managerId": zoho_str(manager_id)}},
        )


async def _ensure_unique(
    conn: Connection,
    *,
    org_id: int,
    email: str | None,
    employee_id: str | None,
    zuid: int | None,
    except_id: int | None = None,
    field_prefix: str = "",
) -> None:
    """409 7052 naming the field when another learner of the organisation has the value."""
    for field, column, value in (
        ("emailId", "email", email),
        ("employeeId", "employee_id", employee_id),
        ("zuid", "zuid", zuid),
    ):
        if value is None:
            continue
        taken = await conn.fetch_value(
            f"SELECT id FROM learners WHERE org_id = :org_id AND {column} = :value"
            " AND (CAST(:except_id AS BIGINT) IS NULL OR id <> :except_id)",
            {"org_id": org_id, "value": value, "except_id": except_id},
        )
        if taken is not None:
            raise Conflict(
                f"Conflict: another learner already has this {field}",
                errors=[{"field": field_prefix + field, "message": f"{value!r} is taken"}],
            )


# The lock key (with the organisation) that orders the writes that create learners.
NEW_LEARNERS = "new-learners"


async def create_learners(
    conn: Connection, *, write: WriteContext, items: list[LearnerIn]
) -> list[int]:
    """Create learners in order (a learner may name an earlier one of the batch as manager).
    Any refusal refuses the whole batch: the caller's transaction is rolled back."""
    org_id = write.org_id
    created: list[int] = []
    # One creation of the organisation's learners at a time (and upserts, which create
    # too): concurrent ones would both take the next zuid, or both pass the unique checks.
    await conn.lock(lock_key(NEW_LEARNERS, org_id))
    next_zuid = await queries.next_zuid(conn, org_id=org_id) - 1
    for index, item in enumerate(items):
        prefix = f"learnerData.{index}." if len(items) > 1 else ""
        email = item.emailId.lower()
        await _ensure_unique(
            conn,
            org_id=org_id,
            email=email,
            employee_id=item.employeeId,
            zuid=item.zuid,
            field_prefix=prefix,
        )
        manager_id = None
        if item.managerId is not None:
            manager_id = (await resolve_learner(conn, org_id=org_id, learner_ref=item.managerId)).id
        if item.zuid is None:
            next_zuid += 1
        created.append(
            await create_learner(
                conn,
                write=write,
                zuid=item.zuid if item.zuid is not None else next_zuid,
                employee_id=item.employeeId,
                email=email,
                display_name=item.displayName,
                role=Role(item.role),
                manager_id=manager_id,
            )
        )
    return created


async def update_learner(
    conn: Connection, *, write: WriteContext, learner_ref: str, patch: LearnerPatch
) -> int:
    """Change what `patch` names; absent fields stay as they are. Nobody deactivates
    themself, takes an email address or employee id another learner has, or makes a
    reporting loop (409 7052). Answers the learner's userId."""
    learner = await resolve_learner(conn, org_id=write.org_id, learner_ref=learner_ref)
    if learner.id == write.actor_id and patch.status == "inactive":
        raise Conflict("Conflict: you cannot deactivate yourself")
    fields = patch.model_fields_set
    if patch.role not in (None, Role.ADMIN.value) or patch.status == "inactive":
        await ensure_another_active_admin(conn, learner=learner)
    changes: dict[str, Any] = {}
    email = patch.emailId.lower() if patch.emailId is not None else None
    await _ensure_unique(
        conn,
        org_id=learner.org_id,
        email=email,
        employee_id=patch.employeeId,
        zuid=None,
        except_id=learner.id,
    )
    changed: dict[str, Any] = {}  # the event's: by the API's names, as the API writes them
    for field, column, value in (
        ("emailId", "email", email),
        ("displayName", "display_name", patch.displayName),
        ("employeeId", "employee_id", patch.employeeId),
        ("role", "role", patch.role),
        ("status", "status", patch.status),
    ):
        if field in fields:
            if value is None:
                raise InvalidParameter(field, "may not be null")
            changes[column] = changed[field] = value
    if "managerId" in fields:
        if patch.managerId is None:
            changes["manager_id"] = None
            changed["managerId"] = zoho_str(None)
        else:
            manager = await resolve_learner(
                conn, org_id=learner.org_id, learner_ref=patch.managerId
            )
            if manager.id == learner.id or await _reports_to(
                conn, manager_id=manager.id, learner_id=learner.id
            ):
                raise Conflict(
                    "Conflict: a learner cannot be managed by themself or their own reportee",
                    errors=[{"field": "managerId", "message": "would make a reporting loop"}],
                )
            changes["manager_id"] = manager.id
            changed["managerId"] = zoho_str(manager.id)
    if changes:
        await conn.update_row("learners", learner.id, changes, now_ms=write.now_ms)
        deactivated = changes.get("status") == "inactive" and learner.status != "inactive"
        write.changes.event(
            "learner.deactivated" if deactivated else "learner.updated",
            learner_id=learner.id,
            data={"changed": changed},
        )
    return learner.id


async def ensure_another_active_admin(conn: Connection, *, learner: Learner) -> None:
    """Before `learner` stops being an active admin (demoted or deactivated): another
    active admin of the organisation remains, or 409 7052. An organisation never loses its
    last admin, who alone manages it.

    Every such write takes the organisation's admin lock first and only then counts, so of
    two writes racing to demote the last two admins the second counts after the first has
    committed, and is refused."""
    await conn.lock(lock_key("org-admins", learner.org_id))
    current = await conn.fetch_one(
        "SELECT role, status FROM learners WHERE id = :id", {"id": learner.id}
    )
    if current is None or (current["role"], current["status"]) != (Role.ADMIN.value, "active"):
        return  # not an active admin now: nothing is lost
    others = await conn.fetch_value(
        """SELECT count(*) FROM learners
            WHERE org_id = :org_id AND role = 'admin' AND status = 'active' AND id <> :id""",
        {"org_id": learner.org_id, "id": learner.id},
    )
    if not others:
        raise Conflict(
            f"Conflict: {learner.display_name} is the organisation's last active admin; "
            "make another learner admin first"
        )


async def _reports_to(conn: Connection, *, manager_id: int, learner_id: int) -> bool:
    """Whether `manager_id` is (transitively) a reportee of `learner_id`."""
    seen: set[int] = set()
    current: int | None = manager_id
    while current is not None and current not in seen:
        seen.add(current)
        current = await conn.fetch_value(
            "SELECT manager_id FROM learners WHERE id = :id", {"id": current}
        )
        if current == learner_id:
            return True
    return False


async def deactivate_learner(conn: Connection, *, write: WriteContext, learner_ref: str) -> int:
    """Deactivate: every record and the history stay; the learner can no longer sign in.
    Nobody deactivates themself (409 7052). Answers the learner's userId."""
    learner = await resolve_learner(conn, org_id=write.org_id, learner_ref=learner_ref)
    if learner.id == write.actor_id:
        raise Conflict("Conflict: you cannot deactivate yourself")
    await ensure_another_active_admin(conn, learner=learner)
    await conn.execute(
        "UPDATE learners SET status = 'inactive', modified_time = :now WHERE id = :id",
        {"now": write.now_ms, "id": learner.id},
    )
    write.changes.event("learner.deactivated", learner_id=learner.id)
    return learner.id
