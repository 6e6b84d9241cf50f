"""Overdue notices (revision 0010, after 0009, 2026-12-07): the enrolment periods the overdue
sweep has announced as `plan.enrollment.overdue` events, once each (`events.overdue`)."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "overdue_notices",
        sa.Column("enrolment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enrolled_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("due_time", sa.BigInteger(), nullable=False),
        sa.Column("noticed_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("enrolment_id", "enrolled_time", name=op.f("pk_overdue_notices")),
    )


def downgrade() -> None:
    op.drop_table("overdue_notices")
