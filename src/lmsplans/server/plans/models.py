"""Learning plans, their courses and admins, and the learners enrolled in them."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from lmsplans.server.db.schema import id_column, metadata

learning_plans = Table(
    "learning_plans",
    metadata,
    id_column(),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("image_is_system", Boolean, nullable=False),
    Column("image", String(64), nullable=False),
    Column("image_url", String(500), nullable=False),
    Column("duration", Integer, nullable=False),
    Column("duration_type", SmallInteger, nullable=False),  # 0 days, 1 weeks, 2 months
    Column("publish_state", SmallInteger, nullable=False),  # 0 draft, 1 published
    Column("disabled", Boolean, nullable=False),
    Column("owner_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("modified_time", BigInteger, nullable=False),
    Column("published_time", BigInteger, nullable=True),
    Index(None, "org_id", "id"),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)

plan_admins = Table(
    "plan_admins",
    metadata,
    Column("plan_id", BigInteger, ForeignKey("learning_plans.id"), primary_key=True),
    Column("learner_id", BigInteger, ForeignKey("learners.id"), primary_key=True),
    Index(None, "learner_id"),
)

plan_courses = Table(
    "plan_courses",
    metadata,
    Column("plan_id", BigInteger, ForeignKey("learning_plans.id"), primary_key=True),
    Column("course_id", BigInteger, ForeignKey("courses.id"), primary_key=True),
    Column("level", Integer, nullable=False),
    Column("is_mandatory", Boolean, nullable=False),
    # Locked until every mandatory course of the previous level is completed.
    Column("is_locked", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Index(None, "course_id"),
)

# Courses a plan held once and no longer does: their events stay in the plan's history
# (marked `removedFromPlan`). A course put back in the plan leaves this table.
plan_removed_courses = Table(
    "plan_removed_courses",
    metadata,
    Column("plan_id", BigInteger, ForeignKey("learning_plans.id"), primary_key=True),
    Column("course_id", BigInteger, ForeignKey("courses.id"), primary_key=True),
)

plan_enrolments = Table(
    "plan_enrolments",
    metadata,
    # `id` is Zoho's planuserId.
    id_column(),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("plan_id", BigInteger, ForeignKey("learning_plans.id"), nullable=False),
    Column("learner_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    Column("user_type", SmallInteger, nullable=False),
    Column("enrolled_time", BigInteger, nullable=False),
    Column("enrolled_by", BigInteger, ForeignKey("learners.id"), nullable=True),
    Column("is_joined", Boolean, nullable=False),
    Column("joined_time", BigInteger, nullable=True),
    # Projection of the progress events; sticky once true.
    Column("is_completed", Boolean, nullable=False),
    Column("completed_time", BigInteger, nullable=True),
    Column("unenrolled_time", BigInteger, nullable=True),  # set: no longer enrolled
    UniqueConstraint("plan_id", "learner_id"),
    Index(None, "learner_id", "id"),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)
