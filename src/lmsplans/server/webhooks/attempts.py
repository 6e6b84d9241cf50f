"""The deliverer's writes: claiming a due delivery, and recording an attempt's outcome
(delivered; retried on the schedule; given up; the endpoint disabled by a 410 or by five
days of failures). Each runs in its own short transaction (`webhooks.delivery`).
"""

from __future__ import annotations

import secrets as random
from typing import Any

from lmsplans.server.db import Connection
from lmsplans.server.webhooks import jobs
from lmsplans.server.webhooks.queries import EXCERPT_CHARS
from lmsplans.server.webhooks.service import DELIVERED, FAILED, PENDING

# After each failed attempt, the wait before the next one (seconds): about three days in all.
RETRY_DELAYS_S = (5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000, 36000, 36000)
# An endpoint that has failed for this long is disabled.
FAILING_DISABLES_MS = 5 * 24 * 3600 * 1000


async def claim(conn: Connection, *, delivery_id: int, now_ms: int, lease_ms: int) -> str | None:
    """Claim a due delivery for `lease_ms`; answers the claim's token, or None when another
    deliverer holds it, or it is no longer pending, or no longer due (another deliverer
    tried it since this one saw it due: its retry waits for its time)."""
    token = random.token_hex(16)
    claimed = await conn.execute(
        """UPDATE webhook_deliveries SET lease_until = :until, lease_token = :token
            WHERE id = :id AND state = 'pending' AND next_attempt_time <= :now
              AND (lease_until IS NULL OR lease_until <= :now)""",
        {"until": now_ms + lease_ms, "token": token, "id": delivery_id, "now": now_ms},
    )
    return token if claimed == 1 else None


async def record_attempt(
    conn: Connection,
    *,
    delivery_id: int,
    token: str,
    now_ms: int,
    attempt_time: int,
    status_code: int | None,
    duration_ms: int,
    excerpt: str,
    error: str,
) -> None:
    """Log one attempt and decide what follows: a 2xx delivers; a 410 disables the endpoint
    (the delivery waits, to resume when it is enabled again); anything else is retried after
    the next wait of `RETRY_DELAYS_S`, then given up. An endpoint failing for five days is
    disabled. A claim another deliverer has since taken over only logs its attempt."""
    row = await conn.fetch_one(
        """SELECT d.*, e.failing_since FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = :id""",
        {"id": delivery_id},
    )
    if row is None:  # deleted with its endpoint meanwhile
        return
    succeeded = status_code is not None and 200 <= status_code < 300
    attempt = int(row["attempts"]) + 1
    endpoint_id = int(row["endpoint_id"])
    await conn.insert_row(
        "webhook_attempts",
        {
            "id": None,
            "delivery_id": delivery_id,
            "endpoint_id": endpoint_id,
            "event_id": row["event_id"],
            "event_type": row["event_type"],
            "attempt": attempt,
            "attempt_time": attempt_time,
            "status_code": status_code,
            "duration_ms": duration_ms,
            "response_excerpt": excerpt[:EXCERPT_CHARS],
            "error": error[:EXCERPT_CHARS],
            "succeeded": succeeded,
        },
    )
    if row["lease_token"] != token or row["state"] != PENDING:
        return
    changes: dict[str, Any] = {"attempts": attempt, "lease_until": None, "lease_token": None}
    retry_after_ms: int | None = None  # when a retry falls due (None: none waits)
    endpoint: dict[str, Any] = {}
    if succeeded:
        changes.update(state=DELIVERED, finished_time=now_ms)
        endpoint["failing_since"] = None
    else:
        failing_since = row["failing_since"] or now_ms
        endpoint["failing_since"] = failing_since
        if status_code == 410:
            changes["next_attempt_time"] = now_ms
            endpoint.update(enabled=False, disabled_reason="The endpoint answered 410 Gone")
            retry_after_ms = None
        elif now_ms - failing_since >= FAILING_DISABLES_MS:
            changes["next_attempt_time"] = now_ms
            endpoint.update(enabled=False, disabled_reason="Deliveries failed for five days")
            retry_after_ms = None
        elif attempt <= len(RETRY_DELAYS_S):
            retry_after_ms = RETRY_DELAYS_S[attempt - 1] * 1000
            changes["next_attempt_time"] = now_ms + retry_after_ms
        else:
            changes.update(state=FAILED, finished_time=now_ms)
            retry_after_ms = 0  # given up: the endpoint's next event goes now
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    await conn.execute(
        f"UPDATE webhook_deliveries SET {assignments} WHERE id = :id",
        {**changes, "id": delivery_id},
    )
    assignments = ", ".join(f"{column} = :{column}" for column in endpoint)
    await conn.execute(
        f"UPDATE webhook_endpoints SET {assignments} WHERE id = :id",
        {**endpoint, "id": endpoint_id},
    )
    if retry_after_ms is not None:  # wake a deliverer when the endpoint has more to send
        await jobs.wake(conn, [endpoint_id], after_ms=retry_after_ms)
