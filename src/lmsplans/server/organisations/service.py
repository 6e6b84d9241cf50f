"""Organisation writes: creating one with its first admin, and renaming one.

Names are unique ignoring case ("Newbie Ltd" and "newbie ltd" would be one organisation to
any person), so creating an organisation that exists changes nothing and says so, and a
rename to another organisation's name is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmsplans.server.auth.schemas import Role
from lmsplans.server.db import Connection, lock_key
from lmsplans.server.errors import Conflict, NoSuchRecord
from lmsplans.server.learners import service as learners
from lmsplans.server.learners.queries import next_zuid
from lmsplans.server.organisations.queries import (
    Organisation,
    active_admin_ids,
    organisation_by_id,
    organisation_named_like,
)
from lmsplans.server.organisations.schemas import NewOrganisation
from lmsplans.server.writes import WriteContext


@dataclass(frozen=True, slots=True)
class Founded:
    """An organisation asked for: created now (with its first admin), or found as it was."""

    organisation: Organisation
    created: bool
    admin_id: int | None  # the admin asked for: created now, or an active admin found there
    write: WriteContext  # the organisation's writes that go on in the same transaction


async def create_organisation_with_admin(
    conn: Connection, *, data: NewOrganisation, source: str, now_ms: int
) -> Founded:
    """The organisation `data` names, with its first admin (an active learner of role
    admin). If an organisation of that name exists (ignoring case), nothing changes: the
    answer is that one, with `admin_id` the active admin of that email there, if any.

    The write has no organisation before this one, so it takes who and when (`source`,
    `now_ms`) rather than a `WriteContext`, and answers the context of the organisation's
    first write (by the system, as an admin) for what follows in the same transaction.
    """
    await conn.lock(lock_key("organisation-name", data.name.lower()))
    email = data.adminEmail.lower()
    existing = await organisation_named_like(conn, name=data.name)
    if existing is not None:
        admins = set(await active_admin_ids(conn, org_id=existing.id))
        found = await conn.fetch_value(
            "SELECT id FROM learners WHERE org_id = :org_id AND email = :email",
            {"org_id": existing.id, "email": email},
        )
        admin_id = int(found) if found is not None and int(found) in admins else None
        write = WriteContext(org_id=existing.id, actor_id=None, source=source, now_ms=now_ms)
        return Founded(existing, False, admin_id, write)
    org_id = await learners.create_organisation(conn, name=data.name, now_ms=now_ms)
    write = WriteContext(
        org_id=org_id,
        actor_id=None,
        source=source,
        now_ms=now_ms,
        role=Role.ADMIN,
    )
    admin_id = await learners.create_learner(
        conn,
        write=write,
        zuid=await next_zuid(conn, org_id=org_id),
        employee_id=data.adminEmployeeId or email[:64],
        email=email,
        display_name=data.adminName or email.split("@")[0],
        role=Role.ADMIN,
        manager_id=None,
    )
    return Founded(Organisation(org_id, data.name, now_ms), True, admin_id, write)


async def rename_organisation(conn: Connection, *, write: WriteContext, name: str) -> bool:
    """Rename the writer's organisation; answers whether the name changed (the same name
    again changes nothing). Another organisation's name, ignoring case, is 409 7052."""
    await conn.lock(lock_key("organisation-name", name.lower()))
    current = await organisation_by_id(conn, org_id=write.org_id)
    if current is None:
        raise NoSuchRecord("No record for the given id: no such organisation")
    holder = await organisation_named_like(conn, name=name)
    if holder is not None and holder.id != write.org_id:
        raise Conflict(
            f"Conflict: another organisation is named {holder.name!r}",
            errors=[{"field": "name", "message": "is taken"}],
        )
    if current.name == name:
        return False
    await conn.execute(
        "UPDATE organisations SET name = :name WHERE id = :id", {"name": name, "id": write.org_id}
    )
    write.changes.touch_org("org")  # its name shows on every page of its people
    return True
