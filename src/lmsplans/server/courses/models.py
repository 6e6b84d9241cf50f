"""Courses, each one unit of progress."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, SmallInteger, String, Table

from lmsplans.server.db.schema import id_column, metadata

courses = Table(
    "courses",
    metadata,
    id_column(),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("course_type", SmallInteger, nullable=False),  # 1 self-paced, 2 blended, 3 e-material
    Column("duration_minutes", Integer, nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("modified_time", BigInteger, nullable=False),
    Column("deleted_time", BigInteger, nullable=True),
    Index(None, "org_id"),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)
