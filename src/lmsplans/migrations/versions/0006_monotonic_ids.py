"""Ids are never reused (revision 0006, after 0005, 2026-12-07).

On SQLite an `INTEGER PRIMARY KEY` without `AUTOINCREMENT` takes the largest id present plus
one, so deleting the newest row gives its id to the next one: an id a client kept, or an
idempotent replay, would then name another record. Every table with generated ids is rebuilt
with `AUTOINCREMENT` (SQLite then never hands out an id at or below the largest it ever
gave), keeping its rows, constraints and indexes. PostgreSQL's identity columns draw from a
sequence, which never goes back: nothing to do there.
"""

from alembic import op

revision = "0006"
down_revision = "0005"

# Every table whose `id` is generated (`lmsplans.server.db.schema.id_column`).
ID_TABLES = (
    "organisations",
    "learners",
    "courses",
    "learning_plans",
    "plan_enrolments",
    "progress_events",
    "oauth_clients",
    "refresh_tokens",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ID_TABLES:
        # Alembic's batch mode copies the table into a new one made with these options, then
        # swaps them (foreign keys are not enforced on the migration's connection).
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
