"""Course progress by course, with its status in the index (revision 0007, after 0006,
2026-12-07): a plan's roster reads its learners' progress in its courses from the index
alone (`plans.roster`), the same index that served the course's reads before."""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("course_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_progress_course_id_learner_id_status"),
            ["course_id", "learner_id", "status"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_course_progress_course_id_learner_id"))


def downgrade() -> None:
    with op.batch_alter_table("course_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_progress_course_id_learner_id"),
            ["course_id", "learner_id"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_course_progress_course_id_learner_id_status"))
