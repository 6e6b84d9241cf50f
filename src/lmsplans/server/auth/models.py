"""OAuth self clients, refresh tokens and access tokens. Secrets and tokens are stored hashed."""

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table

from lmsplans.server.db.schema import id_column, metadata

oauth_clients = Table(
    "oauth_clients",
    metadata,
    id_column(),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("user_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    Column("scopes", String(500), nullable=False),  # comma-separated
    Column("name", String(200), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("revoked_time", BigInteger, nullable=True),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    id_column(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("client_pk", BigInteger, ForeignKey("oauth_clients.id"), nullable=False),
    Column("scopes", String(500), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("revoked_time", BigInteger, nullable=True),
    sqlite_autoincrement=True,  # ids never reused (`db.schema.id_column`)
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_pk", BigInteger, ForeignKey("oauth_clients.id"), nullable=True),
    Column("refresh_token_id", BigInteger, ForeignKey("refresh_tokens.id"), nullable=True),
    Column("org_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("user_id", BigInteger, ForeignKey("learners.id"), nullable=False),
    Column("scopes", String(500), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("expires_time", BigInteger, nullable=False),
    Column("revoked_time", BigInteger, nullable=True),
    Index(None, "refresh_token_id", "created_time"),
)
