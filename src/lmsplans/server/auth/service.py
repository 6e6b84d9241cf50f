"""Tokens: minting, checking, refreshing and revoking. Only hashes are ever stored."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import string

from lmsplans.server.auth.schemas import (
    SCOPE_PREFIX,
    IssuedToken,
    NewClient,
    Operation,
    Principal,
    Role,
)
from lmsplans.server.changes.log import tag
from lmsplans.server.db import Connection
from lmsplans.server.errors import (
    ExpiredToken,
    InvalidParameter,
    InvalidScope,
    InvalidToken,
    RateLimited,
)

_CLIENT_ID_ALPHABET = string.ascii_uppercase + string.digits


def hash_secret(secret: str) -> str:
    """Tokens and secrets are long random strings, so one SHA-256 is a safe hash for them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    """A token in Zoho's shape: `1000.<32 hex>.<32 hex>`."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def parse_scopes(raw: str) -> str:
    """Validate a comma-separated scope list and answer it in canonical spelling."""
    scopes: list[str] = []
    for item in raw.replace(" ", ",").split(","):
        if not item:
            continue
        prefix, _, operation = item.rpartition(".")
        if (
            prefix.lower() != SCOPE_PREFIX[:-1].lower()
            or operation.upper() not in Operation.__members__
        ):
            raise InvalidParameter("scope", f"unknown scope {item!r}")
        canonical = SCOPE_PREFIX + operation.upper()
        if canonical not in scopes:
            scopes.append(canonical)
    if not scopes:
        raise InvalidParameter("scope", "at least one scope is required")
    return ",".join(scopes)


def operations_of(scopes: str) -> frozenset[Operation]:
    return frozenset(Operation(s.rpartition(".")[2]) for s in scopes.split(",") if s)


def token_from_header(authorization: str | None) -> str:
    """The token of `Zoho-oauthtoken <token>` or `Bearer <token>`."""
    if not authorization:
        raise InvalidToken("Missing OAuth token: send 'Authorization: Zoho-oauthtoken <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in ("zoho-oauthtoken", "bearer") or not token or " " in token:
        raise InvalidToken("Malformed Authorization header: expected 'Zoho-oauthtoken <token>'")
    return token


async def authenticate(conn: Connection, *, token: str, now_ms: int) -> Principal:
    """The principal behind an access token, or InvalidToken / ExpiredToken."""
    row = await conn.fetch_one(
        """SELECT t.org_id, t.user_id, t.scopes, t.expires_time, t.revoked_time,
                  l.role, l.status
             FROM access_tokens t JOIN learners l ON l.id = t.user_id
            WHERE t.token_hash = :token_hash""",
        {"token_hash": hash_secret(token)},
    )
    if row is None or row["revoked_time"] is not None or row["status"] != "active":
        raise InvalidToken()
    if row["expires_time"] <= now_ms:
        raise ExpiredToken()
    return Principal(
        org_id=row["org_id"],
        user_id=row["user_id"],
        role=Role(row["role"]),
        operations=operations_of(row["scopes"]),
        expires_ms=row["expires_time"],
    )


async def issue_access_token(
    conn: Connection,
    *,
    org_id: int,
    user_id: int,
    scopes: str,
    now_ms: int,
    ttl_seconds: int,
    client_pk: int | None = None,
    refresh_token_id: int | None = None,
) -> IssuedToken:
    token = new_token()
    conn.changes.nothing_cached()  # a new token: no process can have kept it
    await conn.execute(
        """INSERT INTO access_tokens (token_hash, client_pk, refresh_token_id, org_id, user_id,
                                      scopes, created_time, expires_time)
           VALUES (:token_hash, :client_pk, :refresh_token_id, :org_id, :user_id,
                   :scopes, :now, :expires)""",
        {
            "token_hash": hash_secret(token),
            "client_pk": client_pk,
            "refresh_token_id": refresh_token_id,
            "org_id": org_id,
            "user_id": user_id,
            "scopes": scopes,
            "now": now_ms,
            "expires": now_ms + ttl_seconds * 1000,
        },
    )
    return IssuedToken(access_token=token, expires_in=ttl_seconds, scopes=scopes)


async def create_client(
    conn: Connection,
    *,
    org_id: int,
    user_id: int,
    scopes: str,
    name: str,
    now_ms: int,
    ttl_seconds: int,
) -> NewClient:
    """A self client for one user: id, secret, a refresh token and a first access token."""
    scopes = parse_scopes(scopes)
    client_id = "1000." + "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(30))
    client_secret = secrets.token_hex(21)
    client_pk = await conn.insert(
        """INSERT INTO oauth_clients (client_id, secret_hash, org_id, user_id, scopes, name,
                                      created_time)
           VALUES (:client_id, :secret_hash, :org_id, :user_id, :scopes, :name, :now)""",
        {
            "client_id": client_id,
            "secret_hash": hash_secret(client_secret),
            "org_id": org_id,
            "user_id": user_id,
            "scopes": scopes,
            "name": name,
            "now": now_ms,
        },
    )
    refresh_token = new_token()
    refresh_id = await conn.insert(
        """INSERT INTO refresh_tokens (token_hash, client_pk, scopes, created_time)
           VALUES (:token_hash, :client_pk, :scopes, :now)""",
        {
            "token_hash": hash_secret(refresh_token),
            "client_pk": client_pk,
            "scopes": scopes,
            "now": now_ms,
        },
    )
    issued = await issue_access_token(
        conn,
        org_id=org_id,
        user_id=user_id,
        scopes=scopes,
        now_ms=now_ms,
        ttl_seconds=ttl_seconds,
        client_pk=client_pk,
        refresh_token_id=refresh_id,
    )
    return NewClient(client_id, client_secret, refresh_token, issued.access_token, ttl_seconds)


async def _client(conn: Connection, *, client_id: str, client_secret: str) -> dict[str, int | str]:
    row = await conn.fetch_one(
        """SELECT c.id, c.secret_hash, c.org_id, c.user_id, c.scopes, l.status
             FROM oauth_clients c JOIN learners l ON l.id = c.user_id
            WHERE c.client_id = :client_id AND c.revoked_time IS NULL""",
        {"client_id": client_id},
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], hash_secret(client_secret)):
        raise InvalidToken("Invalid client", extra={"error": "invalid_client"})
    if row["status"] != "active":
        raise InvalidToken("The client's user is inactive", extra={"error": "invalid_client"})
    return dict(row)


async def refresh_token_grant(
    conn: Connection,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    now_ms: int,
    ttl_seconds: int,
    mint_limit: int,
    mint_period_seconds: int,
) -> IssuedToken:
    """Zoho's `grant_type=refresh_token`, with its limit of tokens per refresh token and period."""
    client = await _client(conn, client_id=client_id, client_secret=client_secret)
    row = await conn.fetch_one(
        """SELECT id, scopes FROM refresh_tokens
            WHERE token_hash = :token_hash AND client_pk = :client_pk AND revoked_time IS NULL""",
        {"token_hash": hash_secret(refresh_token), "client_pk": client["id"]},
    )
    if row is None:
        raise InvalidToken("Invalid refresh token", extra={"error": "invalid_code"})
    since = now_ms - mint_period_seconds * 1000
    recent = await conn.fetch_all(
        """SELECT created_time FROM access_tokens
            WHERE refresh_token_id = :rid AND created_time > :since
            ORDER BY created_time""",
        {"rid": row["id"], "since": since},
    )
    if len(recent) >= mint_limit:
        # The oldest of the recent tokens leaves the period first.
        oldest = recent[len(recent) - mint_limit]["created_time"]
        wait = max(1, math.ceil((oldest - since) / 1000))
        raise RateLimited(
            "You have made too many requests continuously. Please try again after some time.",
            headers={"Retry-After": str(wait)},
            extra={"error": "Access Denied"},
        )
    return await issue_access_token(
        conn,
        org_id=int(client["org_id"]),
        user_id=int(client["user_id"]),
        scopes=row["scopes"],
        now_ms=now_ms,
        ttl_seconds=ttl_seconds,
        client_pk=int(client["id"]),
        refresh_token_id=row["id"],
    )


async def client_credentials_grant(
    conn: Connection,
    *,
    client_id: str,
    client_secret: str,
    scope: str,
    now_ms: int,
    ttl_seconds: int,
) -> IssuedToken:
    """`grant_type=client_credentials`: a token for the client's user, within its scopes."""
    client = await _client(conn, client_id=client_id, client_secret=client_secret)
    wanted = parse_scopes(scope)
    granted = operations_of(str(client["scopes"]))
    if Operation.ALL not in granted and not operations_of(wanted) <= granted:
        raise InvalidScope(
            "The requested scope exceeds the client's scopes", extra={"error": "invalid_scope"}
        )
    return await issue_access_token(
        conn,
        org_id=int(client["org_id"]),
        user_id=int(client["user_id"]),
        scopes=wanted,
        now_ms=now_ms,
        ttl_seconds=ttl_seconds,
        client_pk=int(client["id"]),
    )


async def revoke(conn: Connection, *, token: str, now_ms: int) -> bool:
    """Revoke a refresh token (and every access token it minted) or one access token.

    Answers whether a live token was found.
    """
    token_hash = hash_secret(token)
    refresh_id = await conn.fetch_value(
        "SELECT id FROM refresh_tokens WHERE token_hash = :h AND revoked_time IS NULL",
        {"h": token_hash},
    )
    if refresh_id is not None:
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_time = :now WHERE id = :id",
            {"now": now_ms, "id": refresh_id},
        )
        revoked = await conn.fetch_all(
            """UPDATE access_tokens SET revoked_time = :now
                WHERE refresh_token_id = :id AND revoked_time IS NULL
            RETURNING token_hash""",
            {"now": now_ms, "id": refresh_id},
        )
        conn.wrote = True
        conn.changes.touch(None, *(tag("token", row["token_hash"]) for row in revoked))
        conn.changes.nothing_cached()  # a refresh token itself is never kept
        return True
    changed = await conn.execute(
        """UPDATE access_tokens SET revoked_time = :now
            WHERE token_hash = :h AND revoked_time IS NULL""",
        {"now": now_ms, "h": token_hash},
    )
    conn.changes.touch(None, tag("token", token_hash))
    return changed > 0
