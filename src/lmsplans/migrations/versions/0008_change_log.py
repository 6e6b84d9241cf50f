"""The change log (revision 0008, after 0007, 2026-12-07): `changes` and
`change_sequences` replace the one `data_version` row every write transaction updated (see
`lmsplans.server.changes`). On PostgreSQL each change also keeps the id of the transaction
that wrote it (`xid`), by which processes find what committed since their last snapshot."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(start=100002000000100000),
            nullable=False,
        ),
        sa.Column("org_id", sa.BigInteger(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("learner_id", sa.BigInteger(), nullable=True),
        sa.Column("plan_id", sa.BigInteger(), nullable=True),
        sa.Column("course_id", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("occurred_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
        sa.UniqueConstraint("org_id", "seq", name=op.f("uq_changes_org_id_seq")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "change_sequences",
        sa.Column("org_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_change_sequences")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE changes ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()")
        op.execute("CREATE INDEX ix_changes_xid ON changes (xid)")
    op.drop_table("data_version")


def downgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    op.drop_table("change_sequences")
    op.drop_table("changes")
