"""Managing webhooks: endpoints, their secrets, a test event, the delivery log, replays.

Admins only, within their organisation (another organisation's webhook is 404 7049).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.db import Row
from lmsplans.server.errors import InvalidParameter, NoSuchRecord
from lmsplans.server.events.service import Cursor
from lmsplans.server.http import Call, WriteCall
from lmsplans.server.params import payload
from lmsplans.server.routing import RouteTable
from lmsplans.server.webhooks import queries, service
from lmsplans.server.webhooks.runner import Webhooks
from lmsplans.server.webhooks.schemas import (
    AttemptsPage,
    EventQueued,
    ReplayIn,
    WebhookCreated,
    WebhookIn,
    WebhookOne,
    WebhookPatch,
    WebhooksPage,
)
from lmsplans.server.wire import ok, ok_page, ok_shown_once

routes = RouteTable(tags=("Webhooks",))


def _webhooks(request: Request) -> Webhooks:
    webhooks: Webhooks = request.app.state.webhooks
    return webhooks


def _webhook_id(call: Call) -> int:
    return call.id_param("webhookId", "webhook")


def _webhook(row: Row, message: str) -> Response:
    return ok({"webhook": queries.endpoint_record(row)}, message)


def _with_secret(row: Row, secret: str, message: str) -> Response:
    """The endpoint and its signing secret, shown only in this answer (`ok_shown_once`)."""
    record = {**queries.endpoint_record(row), "secret": secret}
    return ok_shown_once({"webhook": record}, message, record="webhook", field="secret")


@routes.post(
    "/api/v1/webhooks",
    role=Role.ADMIN,
    response=WebhookCreated,
    body=WebhookIn,
    payload="webhookData",
)
async def create_webhook(call: WriteCall) -> Response:
    """Register a webhook endpoint

    Admins only. `url` (http or https; a host on a private, loopback or link-local address
    is 400 7204 unless the server allows private targets), `eventTypes` (exact types,
    families such as `plan.*`, or `*`) and an optional `description`. The answer holds the
    endpoint's signing `secret` (Standard Webhooks, `whsec_...`): it is shown only here.
    """
    data = await payload(call.request, "webhookData", WebhookIn)
    webhooks = _webhooks(call.request)
    url = await service.checked_url(data.url, allow_private=webhooks.allow_private)
    webhook_id, secret = await service.create_endpoint(
        call.conn, write=call.write, data=data, box=webhooks.box, url=url
    )
    row = await queries.endpoint_row(call.conn, org_id=call.write.org_id, webhook_id=webhook_id)
    return _with_secret(row, secret, "Webhook created successfully")


@routes.get("/api/v1/webhooks", role=Role.ADMIN, response=WebhooksPage, paging=0)
async def list_webhooks(call: Call) -> Response:
    """The organisation's webhook endpoints

    Admins only; oldest first, without their secrets.
    """
    page = call.page()
    async with call.db.read() as conn:
        webhooks, more = await queries.list_endpoints(conn, org_id=call.principal.org_id, page=page)
    return ok_page("webhooks", webhooks, more, "Webhooks fetched successfully")


@routes.get(
    "/api/v1/webhooks/{webhookId}", role=Role.ADMIN, response=WebhookOne, errors=(NoSuchRecord,)
)
async def read_webhook(call: Call) -> Response:
    """One webhook endpoint

    Admins only; without its secret.
    """
    async with call.db.read() as conn:
        row = await queries.endpoint_row(
            conn, org_id=call.principal.org_id, webhook_id=_webhook_id(call)
        )
    return _webhook(row, "Webhook fetched successfully")


@routes.patch(
    "/api/v1/webhooks/{webhookId}",
    role=Role.ADMIN,
    response=WebhookOne,
    body=WebhookPatch,
    payload="webhookData",
    errors=(NoSuchRecord,),
)
async def update_webhook(call: WriteCall) -> Response:
    """Update a webhook endpoint

    Admins only: `url`, `eventTypes`, `description`, `enabled`; absent fields stay as they
    are. `enabled: true` on an endpoint the server disabled (a 410 answer, five days of
    failures) resumes its deliveries where they stopped.
    """
    webhook_id = _webhook_id(call)
    patch = await payload(call.request, "webhookData", WebhookPatch)
    webhooks = _webhooks(call.request)
    await queries.endpoint_row(call.conn, org_id=call.write.org_id, webhook_id=webhook_id)
    url = None
    if patch.url is not None:
        url = await service.checked_url(patch.url, allow_private=webhooks.allow_private)
    await service.update_endpoint(
        call.conn, write=call.write, webhook_id=webhook_id, patch=patch, url=url
    )
    row = await queries.endpoint_row(call.conn, org_id=call.write.org_id, webhook_id=webhook_id)
    webhooks.wake()
    return _webhook(row, "Webhook updated successfully")


@routes.delete(
    "/api/v1/webhooks/{webhookId}", role=Role.ADMIN, response=WebhookOne, errors=(NoSuchRecord,)
)
async def delete_webhook(call: WriteCall) -> Response:
    """Delete a webhook endpoint

    Admins only; its undelivered events and its delivery log go with it. Answers the
    endpoint as it was.
    """
    row = await service.delete_endpoint(call.conn, write=call.write, webhook_id=_webhook_id(call))
    return _webhook(row, "Webhook deleted successfully")


@routes.post(
    "/api/v1/webhooks/{webhookId}/rotate-secret",
    role=Role.ADMIN,
    response=WebhookCreated,
    errors=(NoSuchRecord,),
)
async def rotate_webhook_secret(call: WriteCall) -> Response:
    """Rotate a webhook's signing secret

    Admins only. Answers the new `secret` (shown only here). For 24 hours deliveries carry
    two signatures in `webhook-signature`, by the new secret and by the old one, so the
    receiver can switch without losing any.
    """
    webhook_id = _webhook_id(call)
    secret = await service.rotate_secret(
        call.conn, write=call.write, webhook_id=webhook_id, box=_webhooks(call.request).box
    )
    row = await queries.endpoint_row(call.conn, org_id=call.write.org_id, webhook_id=webhook_id)
    return _with_secret(row, secret, "Webhook secret rotated successfully")


@routes.post(
    "/api/v1/webhooks/{webhookId}/test",
    role=Role.ADMIN,
    response=EventQueued,
    errors=(NoSuchRecord,),
)
async def test_webhook(call: WriteCall) -> Response:
    """Send a test event

    Admins only. Queues a `webhook.test` event for this endpoint, whatever types it
    subscribes to, delivered signed like every event; the delivery log shows how it went.
    """
    event_id = await service.queue_test_event(
        call.conn, write=call.write, webhook_id=_webhook_id(call)
    )
    _webhooks(call.request).wake()
    return ok({"eventIds": [event_id]}, "Test event queued successfully")


@routes.get(
    "/api/v1/webhooks/{webhookId}/deliveries",
    role=Role.ADMIN,
    response=AttemptsPage,
    paging=0,
    errors=(NoSuchRecord,),
)
async def list_deliveries(call: Call) -> Response:
    """A webhook's delivery log

    Admins only; newest attempt first: when, the status answered, how long it took, the
    start of the answer, and what went wrong when nothing was answered.
    """
    page = call.page()
    async with call.db.read() as conn:
        row = await queries.endpoint_row(
            conn, org_id=call.principal.org_id, webhook_id=_webhook_id(call)
        )
        attempts, more = await queries.list_attempts(conn, endpoint_id=int(row["id"]), page=page)
    return ok_page("deliveries", attempts, more, "Deliveries fetched successfully")


@routes.post(
    "/api/v1/webhooks/{webhookId}/replay",
    role=Role.ADMIN,
    response=EventQueued,
    body=ReplayIn,
    payload="replayData",
    errors=(NoSuchRecord,),
)
async def replay_webhook(call: WriteCall) -> Response:
    """Send events again

    Admins only. One of: `eventIds`, events already sent to this endpoint, queued again
    after what is queued, with the same ids (`webhook-id`) and bodies (an id never sent to
    this endpoint is 400 7204, and nothing is queued); or `after`, a cursor of the change
    feed (`nextCursor` of `GET /api/v1/events`): the feed's events after it that the
    endpoint subscribes to, with the feed's ids and bodies, up to 100 examined per call
    (the answer's `nextCursor` and `isNextAvailable` say where to go on).
    """
    webhook_id = _webhook_id(call)
    data = await payload(call.request, "replayData", ReplayIn)
    if (data.eventIds is None) == (data.after is None):
        raise InvalidParameter("replayData", "gives either eventIds or after")
    answer: dict[str, Any]
    if data.eventIds is not None:
        queued = await service.replay_events(
            call.conn, write=call.write, webhook_id=webhook_id, event_ids=data.eventIds
        )
        answer = {"eventIds": queued}
    elif data.after is not None:
        org_id = call.write.org_id
        cursor = Cursor.decode(data.after, org_id=org_id)
        queued, last, more = await service.replay_after(
            call.conn, write=call.write, webhook_id=webhook_id, after_seq=cursor.seq
        )
        answer = {
            "eventIds": queued,
            "nextCursor": Cursor(org_id, last).encode(),
            "isNextAvailable": more,
        }
    _webhooks(call.request).wake()
    return ok(answer, "Events queued successfully")
