"""What the overdue sweep has announced (`events.overdue`)."""

from sqlalchemy import BigInteger, Column, Table

from lmsplans.server.db.schema import metadata

# One row per enrolment period announced overdue: the enrolment (its planuserId) and the
# enrolment time it had, so a learner enrolled again is announced again when the new due
# time passes, and never twice for one. The key is what makes the announcement happen once
# when several processes sweep at the same time.
overdue_notices = Table(
    "overdue_notices",
    metadata,
    Column("enrolment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("enrolled_time", BigInteger, primary_key=True, autoincrement=False),
    Column("org_id", BigInteger, nullable=False),
    Column("due_time", BigInteger, nullable=False),
    Column("noticed_time", BigInteger, nullable=False),
)
