"""Organisation reads: finding one by name or id, listing them with their head counts."""

from __future__ import annotations

from dataclasses import dataclass

from lmsplans.server.db import Connection, Row


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    name: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class OrganisationSummary:
    organisation: Organisation
    learners: int  # active
    inactive: int
    admins: int  # active


def _organisation(row: Row) -> Organisation:
    return Organisation(int(row["id"]), row["name"], int(row["created_time"]))


async def organisation_named_like(conn: Connection, *, name: str) -> Organisation | None:
    """The organisation whose name is `name` ignoring case (names are unique that way)."""
    row = await conn.fetch_one(
        "SELECT id, name, created_time FROM organisations WHERE lower(name) = lower(:name)"
        " ORDER BY name = :name DESC, id LIMIT 1",
        {"name": name.strip()},
    )
    return None if row is None else _organisation(row)


async def organisation_by_id(conn: Connection, *, org_id: int) -> Organisation | None:
    row = await conn.fetch_one(
        "SELECT id, name, created_time FROM organisations WHERE id = :id", {"id": org_id}
    )
    return None if row is None else _organisation(row)


async def find_organisation(conn: Connection, *, ref: str) -> Organisation | None:
    """The organisation `ref` names: its name (ignoring case) or its id."""
    found = await organisation_named_like(conn, name=ref)
    text = ref.strip()
    if found is None and text.isascii() and text.isdigit() and int(text) < 2**63:
        found = await organisation_by_id(conn, org_id=int(text))
    return found


async def list_organisations(conn: Connection) -> list[OrganisationSummary]:
    """Every organisation, oldest first, with its active and inactive learners and admins."""
    rows = await conn.fetch_all(
        """SELECT o.id, o.name, o.created_time,
                  count(CASE WHEN l.status = 'active' THEN 1 END) AS active,
                  count(CASE WHEN l.status <> 'active' THEN 1 END) AS inactive,
                  count(CASE WHEN l.status = 'active' AND l.role = 'admin' THEN 1 END) AS admins
             FROM organisations o LEFT JOIN learners l ON l.org_id = o.id
            GROUP BY o.id, o.name, o.created_time ORDER BY o.id"""
    )
    return [
        OrganisationSummary(_organisation(row), row["active"], row["inactive"], row["admins"])
        for row in rows
    ]


async def active_admin_ids(conn: Connection, *, org_id: int) -> list[int]:
    """The organisation's active admins, oldest first."""
    rows = await conn.fetch_all(
        "SELECT id FROM learners WHERE org_id = :org_id AND role = 'admin'"
        " AND status = 'active' ORDER BY id",
        {"org_id": org_id},
    )
    return [int(row["id"]) for row in rows]
