"""Reading the change log: an organisation's changes in commit order (the feed's source)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from lmsplans.server.db import Connection, Row


@dataclass(frozen=True, slots=True)
class Change:
    """One row of `changes`, as the feed reads it."""

    seq: int
    tags: list[str]
    event_type: str | None
    learner_id: int | None
    plan_id: int | None
    course_id: int | None
    data: dict[str, Any] | None
    occurred_ms: int


def _change(row: Row) -> Change:
    return Change(
        seq=int(row["seq"]),
        tags=orjson.loads(row["tags"]),
        event_type=row["event_type"],
        learner_id=row["learner_id"],
        plan_id=row["plan_id"],
        course_id=row["course_id"],
        data=None if row["data"] is None else orjson.loads(row["data"]),
        occurred_ms=int(row["occurred_time"]),
    )


async def changes_after(
    conn: Connection, *, org_id: int, after_seq: int, limit: int
) -> list[Change]:
    """The organisation's changes numbered after `after_seq`, in commit order, at most
    `limit`. Numbers are given in commit order (see the package docstring), so a reader
    that goes on from the last `seq` it saw misses and repeats none."""
    rows = await conn.fetch_all(
        """SELECT seq, tags, event_type, learner_id, plan_id, course_id, data, occurred_time
             FROM changes
            WHERE org_id = :org_id AND seq > :after_seq
            ORDER BY seq
            LIMIT :limit""",
        {"org_id": org_id, "after_seq": after_seq, "limit": limit},
    )
    return [_change(row) for row in rows]
