"""Looking up and storing first responses, inside the write's own transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lmsplans.server.db import Connection

# Keys are kept at least this long (spec: at least 24 hours).
RETENTION_MS = 24 * 3600 * 1000
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: bytes


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def find(
    conn: Connection, *, org_id: int, user_id: int, key: str, now_ms: int
) -> StoredResponse | None:
    row = await conn.fetch_one(
        """SELECT request_hash, status_code, response_body FROM idempotency_keys
            WHERE org_id = :org_id AND user_id = :user_id AND key = :key
              AND created_time > :horizon""",
        {"org_id": org_id, "user_id": user_id, "key": key, "horizon": now_ms - RETENTION_MS},
    )
    if row is None:
        return None
    return StoredResponse(row["request_hash"], row["status_code"], bytes(row["response_body"]))


async def store(
    conn: Connection,
    *,
    org_id: int,
    user_id: int,
    key: str,
    request_hash: str,
    status_code: int,
    body: bytes,
    now_ms: int,
) -> None:
    """Store a first response; expired keys of the same caller are forgotten on the way.
    Stored responses are never kept in a cache: when the write stored alongside changed
    nothing, this row is no change to record (a write that did change something still has
    to say what)."""
    if not conn.wrote:
        conn.changes.nothing_cached()
    await conn.execute(
        """DELETE FROM idempotency_keys
            WHERE org_id = :org_id AND user_id = :user_id
              AND (key = :key OR created_time <= :horizon)""",
        {"org_id": org_id, "user_id": user_id, "key": key, "horizon": now_ms - RETENTION_MS},
    )
    await conn.execute(
        """INSERT INTO idempotency_keys (org_id, user_id, key, request_hash, status_code,
                                         response_body, created_time)
           VALUES (:org_id, :user_id, :key, :request_hash, :status_code, :body, :now)""",
        {
            "org_id": org_id,
            "user_id": user_id,
            "key": key,
            "request_hash": request_hash,
            "status_code": status_code,
            "body": body,
            "now": now_ms,
        },
    )
