"""Organisations and their learners."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, UniqueConstraint

from lmsplans.server.db.schema import id_column, metadata

organisations = Table(
    "organisations",
    metadata,
    id_column(),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_time", BigInteger, nullable=False),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)

learners = Table(
    "learners",
    metadata,
    # `id` is Zoho's userId / erecno.
    id_column(),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("zuid", BigInteger, nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("email", String(320), nullable=False),  # stored lower-case
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # admin | manager | learner
    Column("manager_id", BigInteger, ForeignKey("learners.id"), nullable=True),
    Column("status", String(16), nullable=False),  # active | inactive
    Column("created_time", BigInteger, nullable=False),
    Column("modified_time", BigInteger, nullable=False),
    UniqueConstraint("org_id", "email"),
    UniqueConstraint("org_id", "zuid"),
    UniqueConstraint("org_id", "employee_id"),
    Index(None, "manager_id"),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)
