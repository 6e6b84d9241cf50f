"""The change log (revision 0008, after 0007, 2026-12-07): `changes` and
`change_sequences` replace the one `data_version` row every write transaction updated (see
`lmsplans.server.changes`). On PostgreSQL each change also keeps the id of the transaction
that wrote it (`xid`), by which processes find what committed since their last snapshot,
and a deferred trigger numbers an organisation's changes at commit (`changes_number`): its
`change_sequences` row is then locked only while the transaction commits, never across a
round trip to the client."""

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
        op.execute(_NUMBER_FUNCTION)
        op.execute(
            "CREATE CONSTRAINT TRIGGER changes_numbered AFTER INSERT ON changes"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION changes_number()"
        )
    op.drop_table("data_version")


# Run at commit for each change of an organisation: the next number of its sequence. The
# row lock taken here is held until the transaction ends, so the numbers are commit order.
_NUMBER_FUNCTION = """
CREATE FUNCTION changes_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
BEGIN
    IF NEW.org_id IS NULL OR NEW.seq IS NOT NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO change_sequences (org_id, last_seq) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET last_seq = change_sequences.last_seq + 1
        RETURNING last_seq INTO next_seq;
    UPDATE changes SET seq = next_seq WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION changes_number()")
