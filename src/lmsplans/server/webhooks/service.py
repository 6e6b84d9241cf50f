"""Webhook decisions and writes: endpoints (create, change, rotate, delete) and what is
queued for them (`enqueue_event`, `publish`: the feed's events; a test event, a replay). The
deliverer's claims and outcomes are `webhooks.attempts`.

Every function runs in its caller's transaction. Admin-only access is the routes'
declaration; here an endpoint is always looked up within the caller's organisation.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from lmsplans.server.db import Connection, lock_key
from lmsplans.server.errors import InvalidParameter
from lmsplans.server.events import queries as feed
from lmsplans.server.events.queries import event_record
from lmsplans.server.webhooks import jobs, queries
from lmsplans.server.webhooks.schemas import MAX_REPLAY, TEST_EVENT, WebhookIn, WebhookPatch
from lmsplans.server.webhooks.secrets import SecretBox, new_secret
from lmsplans.server.webhooks.targets import TargetRefused, check_target
from lmsplans.server.writes import WriteContext

# A rotated secret signs beside its successor this long, so receivers can switch.
ROTATION_OVERLAP_MS = 24 * 3600 * 1000
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to `patterns` wants an event of `event_type`."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


async def checked_url(url: str, *, allow_private: bool, field: str = "url") -> str:
    """`url` when it may be a webhook's target (`targets`), else 400 7204 naming `field`."""
    try:
        await check_target(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise InvalidParameter(field, str(exc)) from None
    return url


async def create_endpoint(
    conn: Connection, *, write: WriteContext, data: WebhookIn, box: SecretBox, url: str
) -> tuple[int, str]:
    """A new enabled endpoint (its `url` already checked); answers its id and its secret,
    which is never answered again."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    secret = new_secret()
    webhook_id = await conn.insert_row(
        "webhook_endpoints",
        {
            "id": None,
            "org_id": write.org_id,
            "url": url,
            "description": data.description,
            "event_types": orjson.dumps(list(dict.fromkeys(data.eventTypes))).decode(),
            "enabled": True,
            "disabled_reason": "",
            "secret": box.seal(secret),
            "previous_secret": None,
            "previous_secret_expires": None,
            "failing_since": None,
            "created_time": write.now_ms,
            "modified_time": write.now_ms,
        },
    )
    return webhook_id, secret


async def update_endpoint(
    conn: Connection, *, write: WriteContext, webhook_id: int, patch: WebhookPatch, url: str | None
) -> None:
    """Apply `patch` (its `url`, if any, already checked). Enabling a disabled endpoint
    resumes its queue at once, where it stopped."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    await conn.lock(lock_key("webhook", webhook_id))
    row = await queries.endpoint_row(conn, org_id=write.org_id, webhook_id=webhook_id)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = url
    if patch.eventTypes is not None:
        changes["event_types"] = orjson.dumps(list(dict.fromkeys(patch.eventTypes))).decode()
    if patch.description is not None:
        changes["description"] = patch.description
    if patch.enabled is not None:
        changes["enabled"] = patch.enabled
        if patch.enabled and not row["enabled"]:
            changes.update(disabled_reason="", failing_since=None)
            await conn.execute(
                """UPDATE webhook_deliveries SET next_attempt_time = :now
                    WHERE endpoint_id = :id AND state = 'pending'""",
                {"now": write.now_ms, "id": webhook_id},
            )
            await jobs.wake(conn, [webhook_id])
        elif not patch.enabled:
            changes["disabled_reason"] = ""
    await conn.update_row("webhook_endpoints", webhook_id, changes, now_ms=write.now_ms)


async def rotate_secret(
    conn: Connection, *, write: WriteContext, webhook_id: int, box: SecretBox
) -> str:
    """A new secret for the endpoint; the one it replaces signs beside it for 24 hours."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    await conn.lock(lock_key("webhook", webhook_id))
    row = await queries.endpoint_row(conn, org_id=write.org_id, webhook_id=webhook_id)
    secret = new_secret()
    await conn.update_row(
        "webhook_endpoints",
        webhook_id,
        {
            "secret": box.seal(secret),
            "previous_secret": row["secret"],
            "previous_secret_expires": write.now_ms + ROTATION_OVERLAP_MS,
        },
        now_ms=write.now_ms,
    )
    return secret


async def delete_endpoint(conn: Connection, *, write: WriteContext, webhook_id: int) -> Any:
    """Delete the endpoint with its queue and its log; answers its row as it was."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    await conn.lock(lock_key("webhook", webhook_id))
    row = await queries.endpoint_row(conn, org_id=write.org_id, webhook_id=webhook_id)
    for table in ("webhook_attempts", "webhook_deliveries"):
        await conn.execute(f"DELETE FROM {table} WHERE endpoint_id = :id", {"id": webhook_id})
    await conn.execute("DELETE FROM webhook_endpoints WHERE id = :id", {"id": webhook_id})
    return row


async def _queue(
    conn: Connection,
    *,
    endpoint_id: int,
    org_id: int,
    event_id: str,
    event_type: str,
    payload: str,
    now_ms: int,
) -> None:
    await conn.insert_row(
        "webhook_deliveries",
        {
            "id": None,
            "endpoint_id": endpoint_id,
            "org_id": org_id,
            "event_id": event_id,
            "event_type": event_type,
            "payload": payload,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_time": 0,  # due at once
            "lease_until": None,
            "lease_token": None,
            "created_time": now_ms,
            "finished_time": None,
        },
    )


async def enqueue_event(
    conn: Connection, *, org_id: int, event: dict[str, Any], now_ms: int | None = None
) -> int:
    """Queue `event` (with its `id` and `type`, as receivers get it) for every enabled
    endpoint of the organisation whose event types match its type, inside the caller's
    transaction: committed with the change it reports, or not at all. Answers how many
    deliveries were queued."""
    event_id, event_type = str(event["id"]), str(event["type"])
    if now_ms is None:
        now_ms = int(event.get("occurredTime") or 0)
    payload = orjson.dumps(event).decode()
    woken = []
    for endpoint_id, patterns in await queries.subscribed_endpoints(conn, org_id=org_id):
        if matches(patterns, event_type):
            await _queue(
                conn,
                endpoint_id=endpoint_id,
                org_id=org_id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                now_ms=now_ms,
            )
            woken.append(endpoint_id)
    await jobs.wake(conn, woken)
    return len(woken)


async def queue_test_event(conn: Connection, *, write: WriteContext, webhook_id: int) -> str:
    """A `webhook.test` event for this endpoint only (whatever it subscribes to, enabled
    or not: a disabled endpoint gets it when enabled). Answers its id."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    await queries.endpoint_row(conn, org_id=write.org_id, webhook_id=webhook_id)
    event_id = f"test_{uuid.uuid4().hex}"
    event = {
        "id": event_id,
        "type": TEST_EVENT,
        "occurredTime": str(write.now_ms),
        "webhookId": str(webhook_id),
        "data": {"message": "A test event from lmsplans: this endpoint receives deliveries."},
    }
    await _queue(
        conn,
        endpoint_id=webhook_id,
        org_id=write.org_id,
        event_id=event_id,
        event_type=TEST_EVENT,
        payload=orjson.dumps(event).decode(),
        now_ms=write.now_ms,
    )
    await jobs.wake(conn, [webhook_id])
    return event_id


async def replay_events(
    conn: Connection, *, write: WriteContext, webhook_id: int, event_ids: list[str]
) -> list[str]:
    """Queue again, after what is queued, events already sent to this endpoint, with their
    ids (so `webhook-id`) and bodies unchanged. An id never sent to it is 400 7204, and
    nothing is queued."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    await queries.endpoint_row(conn, org_id=write.org_id, webhook_id=webhook_id)
    sent = await queries.sent_payloads(conn, endpoint_id=webhook_id, event_ids=event_ids)
    unknown = [(i, event_id) for i, event_id in enumerate(event_ids) if event_id not in sent]
    if unknown:
        error = InvalidParameter("eventIds")
        error.errors = [
            {"field": f"eventIds.{i}", "message": "no event with this id was sent to this webhook"}
            for i, _ in unknown
        ]
        raise error
    for event_id in event_ids:
        event_type, payload = sent[event_id]
        await _queue(
            conn,
            endpoint_id=webhook_id,
            org_id=write.org_id,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            now_ms=write.now_ms,
        )
    await jobs.wake(conn, [webhook_id])
    return event_ids


async def replay_after(
    conn: Connection, *, write: WriteContext, webhook_id: int, after_seq: int
) -> tuple[list[str], int, bool]:
    """Queue, after what is queued, the feed's events after the organisation's change
    `after_seq` that the endpoint subscribes to, with the feed's ids and bodies (sent before
    or not: an endpoint registered later can catch up). At most `MAX_REPLAY` events are
    examined; answers the ids queued, the `seq` to go on from and whether more follow."""
    write.changes.nothing_cached()  # no process keeps webhook rows
    row = await queries.endpoint_row(conn, org_id=write.org_id, webhook_id=webhook_id)
    patterns: list[str] = orjson.loads(row["event_types"])
    newest = await feed.last_seq(conn, org_id=write.org_id)
    rows = await feed.events_after(
        conn,
        org_id=write.org_id,
        after_seq=after_seq,
        up_to_seq=newest,
        types=None,
        limit=MAX_REPLAY,
    )
    queued: list[str] = []
    for found in rows:
        if not matches(patterns, found["event_type"]):
            continue
        event = event_record(found)
        await _queue(
            conn,
            endpoint_id=webhook_id,
            org_id=write.org_id,
            event_id=event["id"],
            event_type=event["type"],
            payload=orjson.dumps(event).decode(),
            now_ms=write.now_ms,
        )
        queued.append(event["id"])
    if queued:
        await jobs.wake(conn, [webhook_id])
    last = int(rows[-1]["seq"]) if rows else after_seq
    return queued, last, len(rows) == MAX_REPLAY and last < newest


class _Outbox:
    """The change log's `Publisher` of the webhooks (`publish`)."""

    # Asked of each event as it is stored, in the INSERT's own answer: most organisations
    # have no endpoint, and then a write's events cost the webhooks no statement at all.
    returning = (
        "EXISTS (SELECT 1 FROM webhook_endpoints w"
        " WHERE w.org_id = changes.org_id AND w.enabled) AS subscribed"
    )

    async def __call__(self, conn: Connection, events: list[Any], /) -> None:
        """Queue the events a write transaction records (rows of `changes`, as the feed
        reads them: `events.queries.event_record`) for the webhooks of their organisations,
        in that transaction: a webhook gets the feed's own events, with the feed's ids.
        Nothing is looked up for an organisation that had no enabled endpoint when its
        events were stored (`subscribed`)."""
        for row in events:
            if row["subscribed"]:
                await enqueue_event(conn, org_id=int(row["org_id"]), event=event_record(row))


publish = _Outbox()
