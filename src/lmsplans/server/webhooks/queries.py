"""Webhook reads: an endpoint, the organisation's endpoints, the delivery log, and what the
deliverer finds due."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.errors import NoSuchRecord
from lmsplans.server.wire import zoho_str

EXCERPT_CHARS = 500


async def endpoint_row(conn: Connection, *, org_id: int, webhook_id: int) -> Row:
    """An endpoint of the organisation, or 404 7049 (another organisation's is none)."""
    row = await conn.fetch_one(
        "SELECT * FROM webhook_endpoints WHERE id = :id AND org_id = :org_id",
        {"id": webhook_id, "org_id": org_id},
    )
    if row is None:
        raise NoSuchRecord("No record for the given id: no such webhook")
    return row


def endpoint_record(row: Row) -> dict[str, Any]:
    """An endpoint row as the webhook endpoints answer it (never its secret)."""
    return {
        "webhookId": str(row["id"]),
        "url": row["url"],
        "description": row["description"],
        "eventTypes": orjson.loads(row["event_types"]),
        "enabled": bool(row["enabled"]),
        "disabledReason": row["disabled_reason"],
        "previousSecretExpiresTime": zoho_str(row["previous_secret_expires"]),
        "createdTime": str(row["created_time"]),
        "modifiedTime": str(row["modified_time"]),
    }


async def list_endpoints(
    conn: Connection, *, org_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """The organisation's endpoints, oldest first."""
    return await conn.fetch_page(
        """SELECT * FROM webhook_endpoints WHERE org_id = :org_id
            ORDER BY id LIMIT :page_limit OFFSET :page_offset""",
        {"org_id": org_id},
        page=page,
        record=endpoint_record,
    )


def _attempt_record(row: Row) -> dict[str, Any]:
    return {
        "attemptId": str(row["id"]),
        "eventId": row["event_id"],
        "eventType": row["event_type"],
        "attempt": str(row["attempt"]),
        "attemptTime": str(row["attempt_time"]),
        "statusCode": zoho_str(row["status_code"]),
        "durationMs": str(row["duration_ms"]),
        "responseExcerpt": row["response_excerpt"],
        "error": row["error"],
        "succeeded": bool(row["succeeded"]),
    }


async def list_attempts(
    conn: Connection, *, endpoint_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """An endpoint's delivery log, newest attempt first."""
    return await conn.fetch_page(
        """SELECT * FROM webhook_attempts WHERE endpoint_id = :endpoint_id
            ORDER BY id DESC LIMIT :page_limit OFFSET :page_offset""",
        {"endpoint_id": endpoint_id},
        page=page,
        record=_attempt_record,
    )


async def sent_payloads(
    conn: Connection, *, endpoint_id: int, event_ids: list[str]
) -> dict[str, tuple[str, str]]:
    """The type and body of each of `event_ids` already queued for the endpoint, by id."""
    found: dict[str, tuple[str, str]] = {}
    for event_id in dict.fromkeys(event_ids):
        row = await conn.fetch_one(
            """SELECT event_type, payload FROM webhook_deliveries
                WHERE endpoint_id = :endpoint_id AND event_id = :event_id
                ORDER BY id LIMIT 1""",
            {"endpoint_id": endpoint_id, "event_id": event_id},
        )
        if row is not None:
            found[event_id] = (row["event_type"], row["payload"])
    return found


async def subscribed_endpoints(conn: Connection, *, org_id: int) -> list[tuple[int, list[str]]]:
    """The organisation's enabled endpoints and the event types each wants."""
    rows = await conn.fetch_all(
        "SELECT id, event_types FROM webhook_endpoints WHERE org_id = :org_id AND enabled",
        {"org_id": org_id},
    )
    return [(int(row["id"]), orjson.loads(row["event_types"])) for row in rows]


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery the deliverer may send now: the oldest pending one of its endpoint."""

    delivery_id: int
    endpoint_id: int
    event_id: str
    payload: str
    attempts: int
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires: int | None


async def due_deliveries(
    conn: Connection, *, now_ms: int, limit: int, endpoint_id: int | None = None
) -> list[Due]:
    """Deliveries due now, at most one per endpoint (the oldest pending one: an endpoint's
    events go in order), none claimed by a deliverer whose lease still runs; only
    `endpoint_id`'s when it is given."""
    rows = await conn.fetch_all(
        """SELECT d.id, d.endpoint_id, d.event_id, d.payload, d.attempts, e.url, e.secret,
                  e.previous_secret, e.previous_secret_expires
             FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.state = 'pending' AND e.enabled
              AND d.next_attempt_time <= :now
              AND (CAST(:endpoint_id AS BIGINT) IS NULL OR d.endpoint_id = :endpoint_id)
              AND (d.lease_until IS NULL OR d.lease_until <= :now)
              AND d.id = (SELECT min(h.id) FROM webhook_deliveries h
                           WHERE h.endpoint_id = d.endpoint_id AND h.state = 'pending')
            ORDER BY d.next_attempt_time, d.id
            LIMIT :limit""",
        {"now": now_ms, "limit": limit, "endpoint_id": endpoint_id},
    )
    return [
        Due(
            int(row["id"]),
            int(row["endpoint_id"]),
            row["event_id"],
            row["payload"],
            int(row["attempts"]),
            row["url"],
            row["secret"],
            row["previous_secret"],
            row["previous_secret_expires"],
        )
        for row in rows
    ]


async def next_due_time(conn: Connection) -> int | None:
    """When the next pending delivery of an enabled endpoint falls due (None: none)."""
    value = await conn.fetch_value(
        """SELECT min(d.next_attempt_time) FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.state = 'pending' AND e.enabled"""
    )
    return None if value is None else int(value)
