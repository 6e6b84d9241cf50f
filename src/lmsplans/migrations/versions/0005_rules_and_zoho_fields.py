"""The rules the API enforces and Zoho's course fields (revision 0005, after 0004,
2026-12-07).

- `progress_events.override_rule`: the rule a write overrode (an admin recording progress
  in a course locked for the learner).
- Course events' states in camelCase (`enrolledTime`, `completedTime`), as every other
  event and the wire write keys. The stored events are rewritten here rather than read in
  both forms: the event log is the source of truth, replayed and answered as it is stored,
  and one form in storage keeps every reader (the history endpoint, `events.replay`, an
  export, a person with `sqlite3`) simple forever, where a second reading would have to be
  carried, and remembered, by each of them. The rewrite is one UPDATE of the course events
  (their keys are fixed and never occur as values), reversed by the downgrade.
- `plan_removed_courses`: the courses a plan held once, so its history keeps their events.
  Filled here from what the log knows: a course a learner was enrolled in through a plan
  that no longer holds it.
- The course fields of Zoho's Create Course API: description, about the course, the unit
  of its duration, course code, categories, permission settings and course admins.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

_COURSE_EVENTS = "kind IN ('course_enrolled', 'course_progress', 'reset')"
_RENAMED = (("enrolled_time", "enrolledTime"), ("completed_time", "completedTime"))


def _rename_keys(pairs: tuple[tuple[str, str], ...]) -> None:
    for column in ("before_state", "after_state"):
        expression = column
        for old, new in pairs:
            expression = f"replace({expression}, '\"{old}\"', '\"{new}\"')"
        op.execute(f"UPDATE progress_events SET {column} = {expression} WHERE {_COURSE_EVENTS}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table.column` referencing `target.id`, named by the models' naming convention."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _course_columns() -> list[sa.Column[str]]:
    """The new course columns, fresh each time (a Column joins one table only)."""
    return [
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("about_course", sa.Text(), server_default="", nullable=False),
        sa.Column("duration_unit", sa.String(8), server_default="minute", nullable=False),
        sa.Column("course_code", sa.String(64), server_default="", nullable=False),
        sa.Column("categories", sa.Text(), server_default="[]", nullable=False),
        sa.Column("permission_settings", sa.Text(), server_default="{}", nullable=False),
        sa.Column("admin_ids", sa.Text(), server_default="[]", nullable=False),
    ]


def upgrade() -> None:
    op.add_column("progress_events", sa.Column("override_rule", sa.String(32), nullable=True))
    _rename_keys(_RENAMED)

    op.create_table(
        "plan_removed_courses",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        _fk("plan_removed_courses", "course_id", "courses"),
        _fk("plan_removed_courses", "plan_id", "learning_plans"),
        sa.PrimaryKeyConstraint("plan_id", "course_id", name=op.f("pk_plan_removed_courses")),
    )
    op.execute(
        """INSERT INTO plan_removed_courses (plan_id, course_id)
           SELECT DISTINCT e.plan_id, e.course_id FROM progress_events e
            WHERE e.kind = 'course_enrolled' AND e.plan_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM learning_plans p WHERE p.id = e.plan_id)
              AND NOT EXISTS (SELECT 1 FROM plan_courses pc
                               WHERE pc.plan_id = e.plan_id AND pc.course_id = e.course_id)"""
    )

    for column in _course_columns():
        op.add_column("courses", column)


def downgrade() -> None:
    with op.batch_alter_table("courses") as batch:
        for column in reversed(_course_columns()):
            batch.drop_column(column.name)
    op.drop_table("plan_removed_courses")
    _rename_keys(tuple((new, old) for old, new in _RENAMED))
    with op.batch_alter_table("progress_events") as batch:
        batch.drop_column("override_rule")
