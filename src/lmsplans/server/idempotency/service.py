"""Looking up and storing first responses, inside the write's own transaction.

A write sent with a key (an API call's `Idempotency-Key`, a form's one-time key) takes the
same two steps wherever it comes from: `claim` before it writes (a stored first response
answers instead), `keep` after, in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lmsplans.server.db import Connection, lock_key
from lmsplans.server.errors import IdempotencyKeyReused
from lmsplans.server.writes import WriteContext

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


async def claim(
    conn: Connection, write: WriteContext, request_hash: str, *, reused: str | None = None
) -> StoredResponse | None:
    """The first response stored under the write's key for this request (its replay), or
    None when there is none (or the write has no key): the write then goes ahead. The key
    is held until the transaction ends, so a concurrent retry waits for the first to commit
    and answers its response. The same key with another request is 422 7054 (`reused`:
    its message, when not the API's own)."""
    key = write.idempotency_key
    if key is None:
        return None
    user_id = _writer(write)
    await conn.lock(lock_key("idempotency", write.org_id, user_id, key))
    stored = await _find(conn, org_id=write.org_id, user_id=user_id, key=key, now_ms=write.now_ms)
    if stored is not None and stored.request_hash != request_hash:
        raise IdempotencyKeyReused(reused)
    return stored


async def keep(
    conn: Connection, write: WriteContext, request_hash: str, *, status_code: int, body: bytes
) -> None:
    """Store the write's first response under its key (nothing, without a key), for its
    retries to answer (`claim`)."""
    if write.idempotency_key is None:
        return
    await _store(
        conn,
        org_id=write.org_id,
        user_id=_writer(write),
        key=write.idempotency_key,
        request_hash=request_hash,
        status_code=status_code,
        body=body,
        now_ms=write.now_ms,
    )


def _writer(write: WriteContext) -> int:
    assert write.actor_id is not None, "a key is its writer's: the system sends none"
    return write.actor_id


async def _find(
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


async def _store(
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
