"""Course progress (the current state) and progress events (the append-only history)."""

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
)

from lmsplans.server.db.schema import id_column, metadata

course_progress = Table(
    "course_progress",
    metadata,
    Column("learner_id", BigInteger, ForeignKey("learners.id"), primary_key=True),
    Column("course_id", BigInteger, ForeignKey("courses.id"), primary_key=True),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("status", String(16), nullable=False),  # notStarted | inProgress | completed
    Column("percentage", SmallInteger, nullable=False),
    Column("enrolled_time", BigInteger, nullable=False),
    Column("completed_time", BigInteger, nullable=True),
    Column("modified_time", BigInteger, nullable=False),
    # A course's learners; with the status, a plan's roster reads their progress from the
    # index alone (`plans.roster`).
    Index(None, "course_id", "learner_id", "status"),
)

progress_events = Table(
    "progress_events",
    metadata,
    id_column(),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("learner_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    Column("plan_id", BigInteger, ForeignKey("learning_plans.id"), nullable=True),
    Column("course_id", BigInteger, ForeignKey("courses.id"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("source", String(16), nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("before_state", Text, nullable=True),  # JSON
    Column("after_state", Text, nullable=True),  # JSON
    Column("created_time", BigInteger, nullable=False),
    # The rule the writer overrode (`events.LEVEL_LOCK`); NULL for none.
    Column("override_rule", String(32), nullable=True),
    Index(None, "learner_id", "plan_id", "id"),
    Index(None, "org_id", "id"),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)
