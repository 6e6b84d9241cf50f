"""Reading the feed: an organisation's events after a number, in commit order."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson

from lmsplans.server.db import Connection, Row
from lmsplans.server.wire import zoho_str


async def last_seq(conn: Connection, *, org_id: int) -> int:
    """The number of the organisation's newest committed change (0: none yet)."""
    value = await conn.fetch_value(
        "SELECT last_seq FROM change_sequences WHERE org_id = :org_id", {"org_id": org_id}
    )
    return 0 if value is None else int(value)


async def events_after(
    conn: Connection,
    *,
    org_id: int,
    after_seq: int,
    up_to_seq: int,
    types: Collection[str] | None,
    limit: int,
) -> list[Row]:
    """The organisation's events numbered after `after_seq` and up to `up_to_seq`, of
    `types` (None: every type), in commit order, at most `limit`. Rows without an event
    type (tags only) are not events."""
    params: dict[str, Any] = {
        "org_id": org_id,
        "after_seq": after_seq,
        "up_to_seq": up_to_seq,
        "limit": limit,
    }
    if types is None:
        only = "AND event_type IS NOT NULL"
    else:
        marks = ", ".join(f":t{index}" for index in range(len(types)))
        only = f"AND event_type IN ({marks})"
        params.update((f"t{index}", value) for index, value in enumerate(sorted(types)))
    return await conn.fetch_all(
        f"""SELECT id, seq, event_type, learner_id, plan_id, course_id, data, occurred_time
              FROM changes
             WHERE org_id = :org_id AND seq > :after_seq AND seq <= :up_to_seq {only}
             ORDER BY seq
             LIMIT :limit""",
        params,
    )


def event_record(row: Row) -> dict[str, Any]:
    """One event as the feed answers it: ids and times as strings, `data` as recorded."""
    return {
        "id": str(row["id"]),
        "type": row["event_type"],
        "occurredTime": str(row["occurred_time"]),
        "learnerId": zoho_str(row["learner_id"]),
        "planId": zoho_str(row["plan_id"]),
        "courseId": zoho_str(row["course_id"]),
        "data": None if row["data"] is None else _wire(orjson.loads(row["data"])),
    }


def _wire(value: Any) -> Any:
    """A recorded snapshot as the wire writes values: numbers (ids, counts, times) as
    decimal strings, `"null"` for an absent one inside a state; flags and text as they are."""
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
