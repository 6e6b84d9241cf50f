"""Stored first responses of writes made with an `Idempotency-Key`."""

from sqlalchemy import BigInteger, Column, Index, LargeBinary, SmallInteger, String, Table

from lmsplans.server.db.schema import metadata

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Index(None, "created_time"),
)
