"""Sessions of the web interface, the one-time links that start them, and passwords.

Session ids and link tokens are stored as SHA-256 hashes (they are long random strings),
passwords as argon2id hashes; nothing stored lets anyone sign in.
"""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table

from lmsplans.server.db.schema import metadata

ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("learner_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("last_seen_time", BigInteger, nullable=False),
    Column("expires_time", BigInteger, nullable=False),
    Column("revoked_time", BigInteger, nullable=True),
    Index(None, "learner_id"),  # signing out ends every session of one person
)

ui_sign_in_links = Table(
    "ui_sign_in_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("learner_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    # The admin who made it; None when made on the server (`lmsplans ui link`, the demo).
    Column("created_by", BigInteger, ForeignKey("learners.id"), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("expires_time", BigInteger, nullable=False),
    Column("used_time", BigInteger, nullable=True),
    Index(None, "learner_id"),
)

ui_passwords = Table(
    "ui_passwords",
    metadata,
    Column("learner_id", BigInteger, ForeignKey("learners.id"), primary_key=True),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2's encoded form
    Column("changed_time", BigInteger, nullable=False),
)
