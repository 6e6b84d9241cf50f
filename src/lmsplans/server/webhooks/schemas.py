"""Webhook payloads (`webhookData`, `replayData`) and the documented shapes of the answers.

An endpoint subscribes to event types by pattern: an exact type (`plan.enrollment.completed`),
a family (`plan.*`: every type that starts `plan.`) or everything (`*`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

from lmsplans.server.wire import Envelope, EpochMs, Flag, Patch, ZohoId, ZohoRecord, ZohoTime

MAX_PATTERNS = 50
MAX_REPLAY = 100
TEST_EVENT = "webhook.test"

Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        description="Where deliveries are POSTed: an http or https URL whose host resolves "
        "to public addresses only (unless the server allows private targets).",
    ),
]
EventPattern = Annotated[
    str,
    Field(
        pattern=r"^(\*|[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?)$",
        max_length=100,
        description="An event type, a family (`plan.*`) or `*` (every type).",
    ),
]
EventPatterns = Annotated[list[EventPattern], Field(min_length=1, max_length=MAX_PATTERNS)]
Description = Annotated[str, Field(max_length=500)]
EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="An event's id (the `webhook-id` of its deliveries)",
    ),
]


class WebhookIn(ZohoRecord):
    """A new endpoint."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Url
    eventTypes: EventPatterns
    description: Description = ""


class WebhookPatch(Patch):
    """Changes to an endpoint: absent fields stay as they are. `enabled: true` re-enables an
    endpoint the deliverer disabled; its queue resumes where it stopped."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    url: Url | None = None
    eventTypes: EventPatterns | None = None
    description: Description | None = None
    enabled: Flag | None = None


class ReplayIn(ZohoRecord):
    """Events to send again: `eventIds`, ids of events already sent to this endpoint, or
    `after`, a cursor of the change feed (`nextCursor` of `GET /api/v1/events`): the feed's
    events after it that the endpoint subscribes to, up to 100 examined per call. One of the
    two."""

    eventIds: Annotated[list[EventId], Field(min_length=1, max_length=MAX_REPLAY)] | None = None
    after: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class WebhookRecord(ZohoRecord):
    """An endpoint, without its secret."""

    webhookId: ZohoId
    url: str
    description: str
    eventTypes: list[str]
    enabled: bool
    disabledReason: str = Field(
        description='Why the server disabled it (a 410 answer, days of failures); "" otherwise'
    )
    previousSecretExpiresTime: ZohoTime = Field(
        description="Until when the secret before the last rotation still signs"
    )
    createdTime: EpochMs
    modifiedTime: EpochMs


class WebhookWithSecret(WebhookRecord):
    secret: str | None = Field(
        pattern=r"^whsec_[A-Za-z0-9+/=]+$",
        description="The signing secret (Standard Webhooks); shown only in this answer: "
        "an idempotent replay of the request (same `Idempotency-Key`) answers null, since "
        "the secret is not kept in the clear (rotate-secret makes a new one)",
    )


class WebhookOne(Envelope):
    webhook: WebhookRecord


class WebhookCreated(Envelope):
    webhook: WebhookWithSecret


class WebhooksPage(Envelope):
    webhooks: list[WebhookRecord]
    isNextAvailable: bool


class EventQueued(Envelope):
    eventIds: list[EventId] = Field(description="The events queued for delivery, in order")
    nextCursor: str | None = Field(
        default=None,
        description="A replay by `after`: the cursor to replay on from (past every event "
        "examined, queued or not)",
    )
    isNextAvailable: bool | None = Field(
        default=None, description="A replay by `after`: whether the feed holds more events"
    )


class AttemptRecord(ZohoRecord):
    """One attempt to deliver an event."""

    attemptId: ZohoId
    eventId: EventId
    eventType: str
    attempt: ZohoId = Field(description="1 for an event's first attempt")
    attemptTime: EpochMs
    statusCode: str = Field(
        pattern=r"^([0-9]{3}|null)$", description='The HTTP status answered; "null": none'
    )
    durationMs: ZohoId
    responseExcerpt: str = Field(description="The start of the answer's body")
    error: str = Field(description='What went wrong without an answer; "" otherwise')
    succeeded: bool


class AttemptsPage(Envelope):
    deliveries: list[AttemptRecord]
    isNextAvailable: bool
