"""Running the deliverer: a sweep over `Deliverer.deliver_due` (and, on PostgreSQL, the
pgqueuer consumer), in the server (background tasks of each process) or in
`lmsplans worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.errors import DatabaseUnavailable
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks.delivery import Deliverer
from lmsplans.server.webhooks.secrets import SecretBox

if TYPE_CHECKING:
    from lmsplans.server.webhooks.queue import JobConsumer

logger = logging.getLogger("lmsplans.webhooks")

# How often an idle deliverer looks for due deliveries (one indexed read): on SQLite, and
# on PostgreSQL where pgqueuer's jobs start deliveries and the sweep only catches up.
POLL_SECONDS = 0.5
SWEEP_SECONDS = 5.0
# After the database could not be reached.
OUTAGE_PAUSE_SECONDS = 5.0


class DeliveryLoop:
    """`Deliverer.deliver_due` again and again until stopped; `wake` starts the next pass
    at once (after a write queued something)."""

    def __init__(self, deliverer: Deliverer, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                made = await self.deliverer.deliver_due()
            except DatabaseUnavailable:
                logger.warning("webhook delivery paused: the database cannot be reached")
                await asyncio.sleep(OUTAGE_PAUSE_SECONDS)
                continue
            except Exception:
                logger.exception("webhook delivery pass failed")
                made = 0
            if made:
                continue  # more may be due behind what was just sent
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="webhook-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.deliverer.close()


class Delivery:
    """The deliverer of one process: the sweep (`DeliveryLoop`) and, on PostgreSQL, the
    pgqueuer consumer that starts a delivery as soon as a write commits it
    (`webhooks.queue`); with it, the sweep need only look every few seconds."""

    def __init__(self, settings: Settings, *, db: Database, clock: Clock, box: SecretBox) -> None:
        self.settings = settings
        self.deliverer = Deliverer(
            db, clock=clock, box=box, allow_private=settings.webhook_allow_private_targets
        )
        self.jobs = db.dialect == "postgresql"
        self.loop = DeliveryLoop(
            self.deliverer, poll_seconds=SWEEP_SECONDS if self.jobs else POLL_SECONDS
        )
        self._consumer: JobConsumer | None = None

    async def start(self) -> None:
        if self.jobs:
            from lmsplans.server.webhooks.queue import JobConsumer

            self._consumer = JobConsumer(self.settings.database_url, self.deliverer)
            await self._consumer.start()
        self.loop.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        await self.loop.stop()

    def wake(self) -> None:
        self.loop.wake()


class Webhooks:
    """What the webhook routes need from the process (`app.state.webhooks`): the secret
    box, whether private targets are allowed, and this process's deliverer, if it delivers
    (`LMSPLANS_WEBHOOK_DELIVERY=server`)."""

    def __init__(self, settings: Settings, *, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.box = SecretBox.from_settings(settings)
        self.delivery: Delivery | None = None
        if settings.webhook_delivery == "server":
            self.delivery = Delivery(settings, db=db, clock=clock, box=self.box)

    @property
    def allow_private(self) -> bool:
        return self.settings.webhook_allow_private_targets

    async def start(self) -> None:
        if self.delivery is not None:
            await self.delivery.start()

    async def stop(self) -> None:
        if self.delivery is not None:
            await self.delivery.stop()

    def wake(self) -> None:
        """Start a sweep now, when this process delivers (on SQLite; on PostgreSQL the job
        the write enqueued wakes a deliverer at its commit)."""
        if self.delivery is not None:
            self.delivery.wake()
