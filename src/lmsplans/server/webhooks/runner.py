"""Running the deliverer: a loop over `Deliverer.deliver_due`, in the server (a background
task of each process) or in `lmsplans worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.errors import DatabaseUnavailable
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks.delivery import Deliverer
from lmsplans.server.webhooks.secrets import SecretBox

logger = logging.getLogger("lmsplans.webhooks")

# How often an idle deliverer looks for due deliveries (one indexed read).
POLL_SECONDS = 0.5
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

    @classmethod
    def for_settings(cls, settings: Settings, *, db: Database, clock: Clock) -> DeliveryLoop:
        deliverer = Deliverer(
            db,
            clock=clock,
            box=SecretBox.from_settings(settings),
            allow_private=settings.webhook_allow_private_targets,
        )
        return cls(deliverer)

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


class Webhooks:
    """What the webhook routes need from the process (`app.state.webhooks`): the secret
    box, whether private targets are allowed, and this process's delivery loop, if it
    delivers (`LMSPLANS_WEBHOOK_DELIVERY=server`)."""

    def __init__(self, settings: Settings, *, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.box = SecretBox.from_settings(settings)
        self.loop: DeliveryLoop | None = None
        if settings.webhook_delivery == "server":
            self.loop = DeliveryLoop(
                Deliverer(
                    db,
                    clock=clock,
                    box=self.box,
                    allow_private=settings.webhook_allow_private_targets,
                )
            )

    @property
    def allow_private(self) -> bool:
        return self.settings.webhook_allow_private_targets

    def start(self) -> None:
        if self.loop is not None:
            self.loop.start()

    async def stop(self) -> None:
        if self.loop is not None:
            await self.loop.stop()

    def wake(self) -> None:
        """Start a delivery pass now, when this process delivers (a poll finds it else)."""
        if self.loop is not None:
            self.loop.wake()
