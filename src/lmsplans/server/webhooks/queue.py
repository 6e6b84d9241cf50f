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

pgqueuer's tables are installed by migration 0009 on PostgreSQL; SQLite has one process
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
RECONNECT_SECONDS = 5.0
STOP_SECONDS = 15.0


class JobConsumer:
    """A pgqueuer `QueueManager` on a connection of its own (its LISTEN), running each job
    by delivering what its endpoint has due. A lost connection is opened again after a
    pause; meanwhile the sweep delivers."""

    def __init__(self, database_url: str, deliverer: Deliverer) -> None:
        self.database_url = database_url
        self.deliverer = deliverer
        self._manager: QueueManager | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _deliver(self, job: Job) -> None:
        if job.payload is not None:
            await self.deliverer.deliver_endpoint(int(job.payload.decode()))

    async def _run_once(self) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            manager = QueueManager(Queries(AsyncpgDriver(conn)))
            manager.entrypoint(ENTRYPOINT)(self._deliver)
            self._manager = manager
            if self._stopping.is_set():
                return
            await manager.run(dequeue_timeout=DEQUEUE_TIMEOUT)
        finally:
            self._manager = None
            await conn.close()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._run_once()
            except Exception as exc:
                logger.warning("webhook jobs paused (%s); the sweep delivers meanwhile", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RECONNECT_SECONDS)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-jobs")

    async def stop(self) -> None:
        self._stopping.set()
        if self._manager is not None:
            self._manager.shutdown.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
