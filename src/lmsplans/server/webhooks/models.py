"""Webhook endpoints, their queue of deliveries (the outbox) and the log of attempts.

A delivery row is written in the transaction that makes its event, before anything is
sent, so a crash loses nothing: a deliverer claims the oldest pending delivery of an
endpoint for a while (`lease_until`), sends it, and records the outcome; a deliverer that
dies before recording leaves the lease to run out, and the delivery is sent again with the
same `webhook-id`.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from lmsplans.server.db.schema import id_column, metadata

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    id_column(),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("event_types", Text, nullable=False),  # JSON list of patterns (`plan.*`, `*`)
    Column("enabled", Boolean, nullable=False),
    # Why it was disabled by the deliverer (a 410, five days of failures); "" otherwise.
    Column("disabled_reason", Text, nullable=False, server_default=""),
    # The signing secrets, encrypted (`webhooks.secrets`): the current one, and the one
    # it replaced, which signs beside it until `previous_secret_expires`.
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_expires", BigInteger, nullable=True),
    # When the present run of failed attempts began (None after a success).
    Column("failing_since", BigInteger, nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("modified_time", BigInteger, nullable=False),
    Index(None, "org_id"),
    sqlite_autoincrement=True,
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    id_column(),  # the order of an endpoint's deliveries
    Column(
        "endpoint_id",
        BigInteger,
        ForeignKey("webhook_endpoints.id"),
        nullable=False,
    ),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("event_id", String(100), nullable=False),  # the `webhook-id` of every attempt
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False),  # the event as JSON, the body sent
    Column("state", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_time", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),  # claimed by a deliverer until then
    Column("lease_token", String(32), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("finished_time", BigInteger, nullable=True),
    Index(None, "endpoint_id", "state", "id"),
    Index(None, "state", "next_attempt_time"),
    Index(None, "endpoint_id", "event_id"),
    sqlite_autoincrement=True,
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    id_column(),
    Column(
        "delivery_id",
        BigInteger,
        ForeignKey("webhook_deliveries.id"),
        nullable=False,
    ),
    Column(
        "endpoint_id",
        BigInteger,
        ForeignKey("webhook_endpoints.id"),
        nullable=False,
    ),
    Column("event_id", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("attempt", Integer, nullable=False),  # 1 for the first
    Column("attempt_time", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no answer (timeout, refused)
    Column("duration_ms", Integer, nullable=False),
    Column("response_excerpt", Text, nullable=False, server_default=""),
    Column("error", Text, nullable=False, server_default=""),
    Column("succeeded", Boolean, nullable=False),
    Index(None, "endpoint_id", "id"),
    sqlite_autoincrement=True,
)
