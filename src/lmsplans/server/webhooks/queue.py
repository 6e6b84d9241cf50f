"""On PostgreSQL, pgqueuer carries the work to the deliverers: a job per endpoint with
something to send, enqueued in the transaction that queued the delivery (so a rolled-back
write wakes nobody), announced by pgqueuer's NOTIFY to every deliverer listening
(`JobConsumer`), whichever process it runs in.

The deliveries themselves stay in the outbox (`webhook_deliveries`): a job only says "look
at endpoint N". Order per endpoint, the claim, the retry schedule on the server's clock and
the delivery log are the outbox's, which pgqueuer has no notion of (its jobs are
independent, retried on the database's clock). A retry's job is enqueued to run when the
retry falls due; the deliverer's sweep (`runner.DeliveryLoop`) still runs, every few
seconds, so nothing waits on a job that was lost with a crashed consumer.

pgqueuer's tables are installed by migration 0008 on PostgreSQL; SQLite has one process
that delivers (the server's loop), which needs no queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.core.qm import QueueManager
from pgqueuer.domain.models import Job

from lmsplans.server.webhooks.delivery import Deliverer
from lmsplans.server.webhooks.jobs import ENTRYPOINT

logger = logging.getLogger("lmsplans.webhooks")

# How long a consumer waits on its LISTEN before looking at the queue table anyway.
DEQUEUE_TIMEOUT = timedelta(seconds=5)


class JobConsumer:
    """A pgqueuer `QueueManager` on a connection of its own (its LISTEN), running each
    job by delivering what its endpoint has due."""

    def __init__(self, database_url: str, deliverer: Deliverer) -> None:
        self.database_url = database_url
        self.deliverer = deliverer
        self._conn: asyncpg.Connection | None = None
        self._manager: QueueManager | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._conn = await asyncpg.connect(self.database_url)
        manager = QueueManager(Queries(AsyncpgDriver(self._conn)))

        @manager.entrypoint(ENTRYPOINT)
        async def deliver(job: Job) -> None:
            if job.payload is not None:
                await self.deliverer.deliver_endpoint(int(job.payload.decode()))

        self._manager = manager
        self._task = asyncio.create_task(
            manager.run(dequeue_timeout=DEQUEUE_TIMEOUT), name="webhook-jobs"
        )

    async def stop(self) -> None:
        if self._manager is not None:
            self._manager.shutdown.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 15)
            except Exception:
                logger.exception("the webhook job consumer did not stop cleanly")
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        if self._conn is not None:
            await self._conn.close()
