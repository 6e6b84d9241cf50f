"""The delivery engine: send what is due, each endpoint's events in order, and record how
it went.

One pass (`Deliverer.deliver_due`) finds the deliveries due now, at most one per endpoint
(the oldest pending one), claims each for `LEASE_MS` in its own committed transaction,
POSTs it signed (Standard Webhooks: `webhook-id` is the event's id, the same on every
attempt), and records the outcome (`attempts.record_attempt`). A 2xx within
`TIMEOUT_SECONDS` counts; anything else is retried. A deliverer killed after its claim
leaves the lease to run out; the delivery is then sent again with the same `webhook-id`:
at least once, never lost. Times come from the server's clock, so tests move them.

The same code runs in every server process (`runner.Delivery`, SQLite or PostgreSQL) or in
`lmsplans worker` alone (`LMSPLANS_WEBHOOK_DELIVERY=worker`); on PostgreSQL several
deliverers share the queue, the claim keeping one attempt in flight per endpoint, and
pgqueuer's jobs start them (`webhooks.queue`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx

import lmsplans
from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.webhooks import attempts, queries
from lmsplans.server.webhooks.queries import EXCERPT_CHARS, Due
from lmsplans.server.webhooks.secrets import SecretBox, signature
from lmsplans.server.webhooks.targets import TargetRefused, check_target

logger = logging.getLogger("lmsplans.webhooks")

TIMEOUT_SECONDS = 10.0
# A claim outlives the longest attempt (the timeout) with room to record it.
LEASE_MS = 20_000
# Endpoints served at once by one pass (one attempt in flight each).
BATCH = 32
USER_AGENT = f"lmsplans-webhooks/{lmsplans.__version__}"


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    excerpt: str
    error: str


class Deliverer:
    """Sends due deliveries from one database (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        box: SecretBox,
        allow_private: bool,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.box = box
        self.allow_private = allow_private
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(TIMEOUT_SECONDS), follow_redirects=False
        )
        self._owns_http = http is None

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def deliver_due(self) -> int:
        """One pass: every delivery due now (up to `BATCH` endpoints), sent and recorded.
        Answers how many attempts were made."""
        now = self.clock.now_ms()
        async with self.db.read() as conn:
            due = await queries.due_deliveries(conn, now_ms=now, limit=BATCH)
        if not due:
            return 0
        results = await asyncio.gather(*(self._deliver(item) for item in due))
        return sum(results)

    async def deliver_endpoint(self, endpoint_id: int) -> int:
        """What one endpoint has due, in order, until nothing more is (a pgqueuer job's
        work, `webhooks.queue`). Answers how many attempts were made."""
        made = 0
        while True:
            async with self.db.read() as conn:
                due = await queries.due_deliveries(
                    conn, now_ms=self.clock.now_ms(), limit=1, endpoint_id=endpoint_id
                )
            if not due or not await self._deliver(due[0]):
                return made
            made += 1

    async def _deliver(self, due: Due) -> int:
        async with self.db.transaction() as conn:
            conn.changes.nothing_cached()  # deliveries are kept by no process's cache
            token = await attempts.claim(
                conn, delivery_id=due.delivery_id, now_ms=self.clock.now_ms(), lease_ms=LEASE_MS
            )
        if token is None:  # another deliverer has it
            return 0
        attempt_time = self.clock.now_ms()
        started = time.monotonic()
        outcome = await self._send(due, now_ms=attempt_time)
        duration_ms = round((time.monotonic() - started) * 1000)
        async with self.db.transaction() as conn:
            conn.changes.nothing_cached()
            await attempts.record_attempt(
                conn,
                delivery_id=due.delivery_id,
                token=token,
                now_ms=self.clock.now_ms(),
                attempt_time=attempt_time,
                status_code=outcome.status_code,
                duration_ms=duration_ms,
                excerpt=outcome.excerpt,
                error=outcome.error,
            )
        return 1

    def _secrets(self, due: Due, *, now_ms: int) -> list[str]:
        """The secrets that sign now: the current one, and the one before it for a day."""
        sealed = [due.secret]
        if due.previous_secret and (due.previous_secret_expires or 0) > now_ms:
            sealed.append(due.previous_secret)
        return [self.box.open(value) for value in sealed]

    async def _send(self, due: Due, *, now_ms: int) -> Outcome:
        try:
            await check_target(due.url, allow_private=self.allow_private)
        except TargetRefused as exc:
            return Outcome(None, "", f"refused: the URL {exc}")
        # The signature's time is the wall clock's: the receiver checks it against its own.
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": due.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(
                self._secrets(due, now_ms=now_ms),
                msg_id=due.event_id,
                timestamp_s=timestamp,
                body=due.payload,
            ),
        }
        try:
            async with self._http.stream(
                "POST", due.url, content=due.payload.encode(), headers=headers
            ) as response:
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_CHARS * 4:
                        break
        except httpx.TimeoutException:
            return Outcome(None, "", f"no answer within {TIMEOUT_SECONDS:g} s")
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}".replace("\x00", "")
            return Outcome(None, "", error[:EXCERPT_CHARS])
        # Whatever the receiver answered, as text a database keeps (PostgreSQL refuses NUL).
        text = excerpt.decode("utf-8", "replace").replace("\x00", "")[:EXCERPT_CHARS]
        return Outcome(response.status_code, text, "")
