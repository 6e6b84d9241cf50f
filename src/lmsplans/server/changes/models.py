"""The change log's tables (see the package docstring).

`changes` on PostgreSQL also has `xid xid8 DEFAULT pg_current_xact_id()`, indexed: the
writing transaction's id, by which each process finds the rows committed since its last
snapshot (`db.postgres`). It exists only there (migration 0008), so it is not declared here.
"""

from sqlalchemy import BigInteger, Column, String, Table, Text, UniqueConstraint

from lmsplans.server.db.schema import id_column, metadata

changes = Table(
    "changes",
    metadata,
    id_column(),
    Column("org_id", BigInteger, nullable=True),  # NULL: not an organisation's (a restore)
    Column("seq", BigInteger, nullable=True),  # the organisation's commit order: 1, 2, 3...
    Column("tags", Text, nullable=False),  # JSON list of the cache tags made stale
    Column("event_type", String(64), nullable=True),  # e.g. course.progress.completed
    Column("learner_id", BigInteger, nullable=True),
    Column("plan_id", BigInteger, nullable=True),
    Column("course_id", BigInteger, nullable=True),
    Column("data", Text, nullable=True),  # JSON: what the write had in hand
    Column("occurred_time", BigInteger, nullable=False),
    UniqueConstraint("org_id", "seq"),
    sqlite_autoincrement=True,  # ids never reused: SQLite's followers read them in order
)

change_sequences = Table(
    "change_sequences",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)
