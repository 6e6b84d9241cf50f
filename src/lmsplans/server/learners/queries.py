"""Learner reads: finding a learner, listing the learners a reader may see, and the learner
record as Zoho writes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.errors import NoSuchLearner
from lmsplans.server.wire import zoho_str

_MAX_ID = 2**63 - 1


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


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which learners a reader may see (decided by `learners.service.visibility`): everyone,
    or the reader and, when `reportees`, the learners they manage.

    A query that lists learners (table alias `l`) applies it as the condition
    `(:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))` with
    `params()`: typed values, so no SQL text travels between modules.
    """

    viewer_id: int
    everyone: bool = False
    reportees: bool = False

    def params(self) -> dict[str, int | bool]:
        return {"viewer_id": self.viewer_id, "everyone": self.everyone, "reportees": self.reportees}


@dataclass(frozen=True, slots=True)
class Search:
    """Part of a learner's name, email address or employee id, case-insensitive. A query
    that searches learners (table alias `l`) applies it as the condition
    `(lower(l.display_name) LIKE :search ESCAPE '\\' OR l.email LIKE :search ESCAPE '\\'
    OR lower(l.employee_id) LIKE :search ESCAPE '\\')` with `params()` (emails are stored in
    lower case)."""

    text: str  # stripped, lower case, not empty

    @classmethod
    def of(cls, raw: str | None) -> Search | None:
        """The search a person typed; None for nothing (or only spaces)."""
        text = (raw or "").strip().lower()
        return cls(text) if text else None

    def params(self) -> dict[str, str]:
        """`:search`: `%text%`, with LIKE's wildcards in the text escaped."""
        escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return {"search": f"%{escaped}%"}


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
        "SELECT l.id, l.org_id, l.zuid, l.employee_id, l.email, l.display_name, l.role,"
        " l.manager_id, l.status"
        f" FROM learners l WHERE l.org_id = :org_id AND {where}"
        " ORDER BY l.id = :by_id DESC LIMIT 1",
        {**params, "org_id": org_id, "by_id": params.get("n", -1)},
    )
    if not rows:
        raise NoSuchLearner()
    return Learner(*rows[0])


async def org_learners(conn: Connection, *, org_id: int) -> list[Learner]:
    """Every learner of the organisation, active or not (a batch write checks against all)."""
    rows = await conn.fetch_all(
        "SELECT l.id, l.org_id, l.zuid, l.employee_id, l.email, l.display_name, l.role,"
        " l.manager_id, l.status FROM learners l WHERE l.org_id = :org_id ORDER BY l.id",
        {"org_id": org_id},
    )
    return [Learner(*row) for row in rows]


async def resolve_learners(
    conn: Connection, *, org_id: int, refs: Sequence[str], field: str
) -> list[int]:
    """The learners named by `refs` (userIds, zuids or emails); an unknown one is 404 7048
    naming its place in `field`."""
    ids = []
    for index, ref in enumerate(refs):
        try:
            ids.append((await resolve_learner(conn, org_id=org_id, learner_ref=str(ref))).id)
        except NoSuchLearner:
            raise NoSuchLearner(
                f"No such learner: {ref}",
                errors=[{"field": f"{field}.{index}", "message": "no such learner"}],
            ) from None
    return ids


async def organisation_named(conn: Connection, *, name: str) -> int | None:
    """The id of the organisation called `name`, or None."""
    org_id = await conn.fetch_value("SELECT id FROM organisations WHERE name = :n", {"n": name})
    return None if org_id is None else int(org_id)


async def display_names(
    conn: Connection, *, org_id: int, learner_ids: Sequence[int]
) -> dict[int, str]:
    """The names of the organisation's learners among `learner_ids` (others are left out)."""
    wanted = sorted(set(learner_ids))
    if not wanted:
        return {}
    marks = ", ".join(f":id{index}" for index in range(len(wanted)))
    rows = await conn.fetch_all(
        f"SELECT id, display_name FROM learners WHERE org_id = :org_id AND id IN ({marks})",
        {"org_id": org_id, **{f"id{index}": value for index, value in enumerate(wanted)}},
    )
    return {row["id"]: row["display_name"] for row in rows}


# Where assigned zuids (account ids) start in an organisation.
FIRST_ZUID = 60_000_001


async def next_zuid(conn: Connection, *, org_id: int) -> int:
    """The zuid the organisation's next learner gets when none is given."""
    largest = await conn.fetch_value(
        "SELECT max(zuid) FROM learners WHERE org_id = :org_id", {"org_id": org_id}
    )
    return FIRST_ZUID if largest is None else int(largest) + 1


def _record(row: Row) -> dict[str, Any]:
    return {
        "userId": str(row["id"]),
        "zuid": str(row["zuid"]),
        "employeeId": row["employee_id"],
        "emailId": row["email"],
        "displayName": row["display_name"],
        "role": row["role"],
        "managerId": zoho_str(row["manager_id"]),
        "isActive": row["status"] == "active",
        "createdTime": str(row["created_time"]),
        "modifiedTime": str(row["modified_time"]),
    }


async def learner_record(conn: Connection, *, learner_id: int) -> dict[str, Any]:
    """A learner, as the learner endpoints answer it."""
    row = await conn.fetch_one("SELECT * FROM learners WHERE id = :id", {"id": learner_id})
    return _record(row)


async def list_learners(
    conn: Connection,
    *,
    org_id: int,
    visibility: Visibility,
    page: Page,
    search: str | None = None,
    role: str | None = None,
    status: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the organisation's learners that `visibility` shows, by userId; `search`
    (lower case) matches part of the name, email address or employee id. Answers the
    records and whether another page follows."""
    conditions = [
        "l.org_id = :org_id",
        "(:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))",
    ]
    params: dict[str, Any] = {"org_id": org_id, **visibility.params()}
    wanted = Search.of(search)
    if wanted is not None:
        conditions.append(
            "(lower(l.display_name) LIKE :search ESCAPE '\\' OR l.email LIKE :search ESCAPE '\\'"
            " OR lower(l.employee_id) LIKE :search ESCAPE '\\')"
        )
        params.update(wanted.params())
    for column, value in (("role", role), ("status", status)):
        if value is not None:
            conditions.append(f"l.{column} = :{column}")
            params[column] = value
    return await conn.fetch_page(
        f"SELECT l.* FROM learners l WHERE {' AND '.join(conditions)}"
        " ORDER BY l.id LIMIT :page_limit OFFSET :page_offset",
        params,
        page=page,
        record=_record,
    )
