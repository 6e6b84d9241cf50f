"""Initial schema (revision 0001, 2026-11-27)."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table.column` referencing `target.id`, named by the models' naming convention."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _id() -> sa.Column[int]:
    """A generated 64-bit id (INTEGER on SQLite, to be the rowid) starting where Zoho's do."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.Identity(start=100002000000100000),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "organisations",
        _id(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "courses",
        _id(),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("course_type", sa.SmallInteger(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("modified_time", sa.BigInteger(), nullable=False),
        sa.Column("deleted_time", sa.BigInteger(), nullable=True),
        _fk("courses", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
    )
    op.create_index(op.f("ix_courses_org_id"), "courses", ["org_id"], unique=False)
    op.create_table(
        "learners",
        _id(),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("zuid", sa.BigInteger(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("modified_time", sa.BigInteger(), nullable=False),
        _fk("learners", "manager_id", "learners"),
        _fk("learners", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learners")),
        sa.UniqueConstraint("org_id", "email", name=op.f("uq_learners_org_id_email")),
        sa.UniqueConstraint("org_id", "employee_id", name=op.f("uq_learners_org_id_employee_id")),
        sa.UniqueConstraint("org_id", "zuid", name=op.f("uq_learners_org_id_zuid")),
    )
    op.create_index(op.f("ix_learners_manager_id"), "learners", ["manager_id"], unique=False)
    op.create_table(
        "course_progress",
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("percentage", sa.SmallInteger(), nullable=False),
        sa.Column("enrolled_time", sa.BigInteger(), nullable=False),
        sa.Column("completed_time", sa.BigInteger(), nullable=True),
        sa.Column("modified_time", sa.BigInteger(), nullable=False),
        _fk("course_progress", "course_id", "courses"),
        _fk("course_progress", "learner_id", "learners"),
        _fk("course_progress", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("learner_id", "course_id", name=op.f("pk_course_progress")),
    )
    with op.batch_alter_table("course_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_progress_course_id_learner_id"),
            ["course_id", "learner_id"],
            unique=False,
        )

    op.create_table(
        "learning_plans",
        _id(),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_is_system", sa.Boolean(), nullable=False),
        sa.Column("image", sa.String(length=64), nullable=False),
        sa.Column("image_url", sa.String(length=500), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("duration_type", sa.SmallInteger(), nullable=False),
        sa.Column("publish_state", sa.SmallInteger(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("modified_time", sa.BigInteger(), nullable=False),
        sa.Column("published_time", sa.BigInteger(), nullable=True),
        _fk("learning_plans", "org_id", "organisations"),
        _fk("learning_plans", "owner_id", "learners"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_plans")),
    )
    op.create_index(
        op.f("ix_learning_plans_org_id_id"), "learning_plans", ["org_id", "id"], unique=False
    )
    op.create_table(
        "oauth_clients",
        _id(),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("revoked_time", sa.BigInteger(), nullable=True),
        _fk("oauth_clients", "org_id", "organisations"),
        _fk("oauth_clients", "user_id", "learners"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_clients_client_id")),
    )
    op.create_table(
        "plan_admins",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        _fk("plan_admins", "learner_id", "learners"),
        _fk("plan_admins", "plan_id", "learning_plans"),
        sa.PrimaryKeyConstraint("plan_id", "learner_id", name=op.f("pk_plan_admins")),
    )
    op.create_index(op.f("ix_plan_admins_learner_id"), "plan_admins", ["learner_id"], unique=False)
    op.create_table(
        "plan_courses",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("is_mandatory", sa.Boolean(), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _fk("plan_courses", "course_id", "courses"),
        _fk("plan_courses", "plan_id", "learning_plans"),
        sa.PrimaryKeyConstraint("plan_id", "course_id", name=op.f("pk_plan_courses")),
    )
    op.create_index(op.f("ix_plan_courses_course_id"), "plan_courses", ["course_id"], unique=False)
    op.create_table(
        "plan_enrolments",
        _id(),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("user_type", sa.SmallInteger(), nullable=False),
        sa.Column("enrolled_time", sa.BigInteger(), nullable=False),
        sa.Column("enrolled_by", sa.BigInteger(), nullable=True),
        sa.Column("is_joined", sa.Boolean(), nullable=False),
        sa.Column("joined_time", sa.BigInteger(), nullable=True),
        sa.Column("is_completed", sa.Boolean(), nullable=False),
        sa.Column("completed_time", sa.BigInteger(), nullable=True),
        sa.Column("unenrolled_time", sa.BigInteger(), nullable=True),
        _fk("plan_enrolments", "enrolled_by", "learners"),
        _fk("plan_enrolments", "learner_id", "learners"),
        _fk("plan_enrolments", "org_id", "organisations"),
        _fk("plan_enrolments", "plan_id", "learning_plans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_enrolments")),
        sa.UniqueConstraint(
            "plan_id", "learner_id", name=op.f("uq_plan_enrolments_plan_id_learner_id")
        ),
    )
    op.create_index(
        op.f("ix_plan_enrolments_learner_id_id"),
        "plan_enrolments",
        ["learner_id", "id"],
        unique=False,
    )
    op.create_table(
        "progress_events",
        _id(),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("learner_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=True),
        sa.Column("course_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("before_state", sa.Text(), nullable=True),
        sa.Column("after_state", sa.Text(), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        _fk("progress_events", "course_id", "courses"),
        _fk("progress_events", "learner_id", "learners"),
        _fk("progress_events", "org_id", "organisations"),
        _fk("progress_events", "plan_id", "learning_plans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_events")),
    )
    with op.batch_alter_table("progress_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_events_learner_id_plan_id_id"),
            ["learner_id", "plan_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_progress_events_org_id_id"), ["org_id", "id"], unique=False
        )

    op.create_table(
        "refresh_tokens",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_pk", sa.BigInteger(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("revoked_time", sa.BigInteger(), nullable=True),
        _fk("refresh_tokens", "client_pk", "oauth_clients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_pk", sa.BigInteger(), nullable=True),
        sa.Column("refresh_token_id", sa.BigInteger(), nullable=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_time", sa.BigInteger(), nullable=False),
        sa.Column("revoked_time", sa.BigInteger(), nullable=True),
        _fk("access_tokens", "client_pk", "oauth_clients"),
        _fk("access_tokens", "org_id", "organisations"),
        _fk("access_tokens", "refresh_token_id", "refresh_tokens"),
        _fk("access_tokens", "user_id", "learners"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_tokens")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_tokens_refresh_token_id_created_time"),
            ["refresh_token_id", "created_time"],
            unique=False,
        )


def downgrade() -> None:
    # The tables in the reverse order of their creation; each takes its indexes with it.
    for table in (
        "access_tokens",
        "refresh_tokens",
        "progress_events",
        "plan_enrolments",
        "plan_courses",
        "plan_admins",
        "oauth_clients",
        "learning_plans",
        "course_progress",
        "learners",
        "courses",
        "organisations",
    ):
        op.drop_table(table)
