"""UI sessions: sign-in links, sessions and passwords of the web interface (revision 0004,
after 0003, 2026-12-01)."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table.column` referencing `target.id`, named by the models' naming convention."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "ui_passwords",
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("changed_time", sa.BigInteger(), nullable=False),
        _fk("ui_passwords", "learner_id", "learners"),
        _fk("ui_passwords", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("learner_id", name=op.f("pk_ui_passwords")),
    )
    op.create_table(
        "ui_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_time", sa.BigInteger(), nullable=False),
        sa.Column("revoked_time", sa.BigInteger(), nullable=True),
        _fk("ui_sessions", "learner_id", "learners"),
        _fk("ui_sessions", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_ui_sessions")),
    )
    op.create_index(op.f("ix_ui_sessions_learner_id"), "ui_sessions", ["learner_id"], unique=False)
    op.create_table(
        "ui_sign_in_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_time", sa.BigInteger(), nullable=False),
        sa.Column("used_time", sa.BigInteger(), nullable=True),
        _fk("ui_sign_in_links", "created_by", "learners"),
        _fk("ui_sign_in_links", "learner_id", "learners"),
        _fk("ui_sign_in_links", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_ui_sign_in_links")),
    )
    op.create_index(
        op.f("ix_ui_sign_in_links_learner_id"), "ui_sign_in_links", ["learner_id"], unique=False
    )


def downgrade() -> None:
    # The tables in the reverse order of their creation; each takes its indexes with it.
    for table in (
        "ui_sign_in_links",
        "ui_sessions",
        "ui_passwords",
    ):
        op.drop_table(table)
