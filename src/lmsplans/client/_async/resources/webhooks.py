"""`client.webhooks`: webhook endpoints, their secrets, test events, the delivery log and
replays (`/api/v1/webhooks/...`, this product's own; admins only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lmsplans.client._async.pager import AsyncPager, AsyncResource
from lmsplans.client._endpoints import (
    WEBHOOK,
    WEBHOOK_CREATE,
    WEBHOOK_DELETE,
    WEBHOOK_DELIVERIES,
    WEBHOOK_REPLAY,
    WEBHOOK_ROTATE,
    WEBHOOK_TEST,
    WEBHOOK_UPDATE,
    WEBHOOKS,
    Endpoint,
)
from lmsplans.client._models import Webhook, WebhookAttempt
from lmsplans.client._requests import fields

__all__ = ["AsyncWebhooks"]


class AsyncWebhooks(AsyncResource):
    """Webhook endpoints (`/api/v1/webhooks/...`). A delivery is verified with
    `lmsplans.client.webhooks.verify(payload, headers, secret)`."""

    async def create(
        self,
        url: str,
        event_types: Iterable[str],
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Register an endpoint, POST /api/v1/webhooks; `event_types` are types, families
        (`plan.*`) or `*`. The answer's `secret` is shown this once."""
        data = fields(url=url, eventTypes=list(event_types), description=description)
        return await self._record(
            WEBHOOK_CREATE, Webhook, json=data, idempotency_key=idempotency_key
        )

    def list(
        self, *, page_size: int | None = None, start_index: int | None = None
    ) -> AsyncPager[Webhook]:
        """The organisation's endpoints, oldest first, GET /api/v1/webhooks."""
        return self._pager(WEBHOOKS, Webhook, page_size=page_size, start_index=start_index)

    async def get(self, webhook_id: str | int) -> Webhook:
        """One endpoint, GET /api/v1/webhooks/{webhookId}."""
        return await self._record(WEBHOOK, Webhook, webhookId=webhook_id)

    async def update(
        self,
        webhook_id: str | int,
        *,
        url: str | None = None,
        event_types: Iterable[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Change an endpoint, PATCH /api/v1/webhooks/{webhookId}; arguments left as None
        stay as they are. `enabled=True` resumes a disabled endpoint where it stopped."""
        types = None if event_types is None else list(event_types)
        data = fields(url=url, eventTypes=types, description=description, enabled=enabled)
        return await self._record(
            WEBHOOK_UPDATE,
            Webhook,
            json=data,
            idempotency_key=idempotency_key,
            webhookId=webhook_id,
        )

    async def delete(self, webhook_id: str | int, *, idempotency_key: str | None = None) -> Webhook:
        """Delete an endpoint with its queue and log, DELETE /api/v1/webhooks/{webhookId};
        returns it as it was."""
        return await self._record(
            WEBHOOK_DELETE, Webhook, idempotency_key=idempotency_key, webhookId=webhook_id
        )

    async def rotate_secret(
        self, webhook_id: str | int, *, idempotency_key: str | None = None
    ) -> Webhook:
        """A new signing secret (in the answer's `secret`, shown this once), POST
        /api/v1/webhooks/{webhookId}/rotate-secret; the old one signs beside it for 24 h."""
        return await self._record(
            WEBHOOK_ROTATE, Webhook, idempotency_key=idempotency_key, webhookId=webhook_id
        )

    async def test(
        self, webhook_id: str | int, *, idempotency_key: str | None = None
    ) -> tuple[str, ...]:
        """Queue a `webhook.test` event for the endpoint, POST
        /api/v1/webhooks/{webhookId}/test; returns its event id (in a tuple)."""
        return await self._event_ids(WEBHOOK_TEST, None, idempotency_key, webhook_id)

    def deliveries(
        self, webhook_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> AsyncPager[WebhookAttempt]:
        """The endpoint's delivery log, newest attempt first, GET
        /api/v1/webhooks/{webhookId}/deliveries."""
        return self._pager(
            WEBHOOK_DELIVERIES,
            WebhookAttempt,
            page_size=page_size,
            start_index=start_index,
            webhookId=webhook_id,
        )

    async def replay(
        self,
        webhook_id: str | int,
        event_ids: Iterable[str],
        *,
        idempotency_key: str | None = None,
    ) -> tuple[str, ...]:
        """Send events already sent to the endpoint again (same ids), POST
        /api/v1/webhooks/{webhookId}/replay; returns the ids queued."""
        data = {"eventIds": list(event_ids)}
        return await self._event_ids(WEBHOOK_REPLAY, data, idempotency_key, webhook_id)

    async def _event_ids(
        self,
        endpoint: Endpoint,
        data: dict[str, Any] | None,
        idempotency_key: str | None,
        webhook_id: str | int,
    ) -> tuple[str, ...]:
        body = await self._client._call(
            endpoint,
            endpoint.path(webhookId=webhook_id),
            json=data,
            idempotency_key=idempotency_key,
        )
        ids = body.get("eventIds")
        return tuple(str(i) for i in ids) if isinstance(ids, list) else ()
