"""Courses, each one unit of progress."""

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

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
    # Zoho's course fields (revision 0005). `duration_minutes` is answered in this unit.
    Column("description", Text, nullable=False, server_default=""),
    Column("about_course", Text, nullable=False, server_default=""),
    Column("duration_unit", String(8), nullable=False, server_default="minute"),
    Column("course_code", String(64), nullable=False, server_default=""),
    Column("categories", Text, nullable=False, server_default="[]"),  # JSON: id strings
    Column("permission_settings", Text, nullable=False, server_default="{}"),  # JSON, as sent
    # Zoho's `courseAdmins`: their userIds (JSON). Recorded and answered; managing courses
    # stays with the organisation's admins.
    Column("admin_ids", Text, nullable=False, server_default="[]"),
    Index(None, "org_id"),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)
