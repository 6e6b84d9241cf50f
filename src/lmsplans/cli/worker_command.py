"""`lmsplans worker`: send webhook deliveries outside the web processes.

Run it beside servers started with `LMSPLANS_WEBHOOK_DELIVERY=worker` (or beside any: the
claim on each delivery keeps one attempt in flight per endpoint, whoever sends it). It runs
until SIGTERM or Ctrl-C; killed outright, it loses nothing (see
`lmsplans.server.webhooks.delivery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from lmsplans.cli.runtime import console, load_settings, migrated_database, server_command


async def _work() -> None:
    from lmsplans.server.clock import Clock
    from lmsplans.server.settings import redacted
    from lmsplans.server.webhooks.delivery import Deliverer
    from lmsplans.server.webhooks.runner import DeliveryLoop
    from lmsplans.server.webhooks.secrets import SecretBox

    settings = load_settings()
    async with migrated_database(settings) as db:
        loop = DeliveryLoop(
            Deliverer(
                db,
                clock=Clock(),
                box=SecretBox.from_settings(settings),
                allow_private=settings.webhook_allow_private_targets,
            )
        )
        stop = asyncio.Event()
        running = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(signum, stop.set)
        console.print(
            f"Delivering webhooks from {redacted(settings.database_url)} (Ctrl-C stops).",
            highlight=False,
        )
        loop.start()
        try:
            await stop.wait()
        finally:
            await loop.stop()


@server_command
def worker() -> None:
    """Send webhook deliveries (outside the web processes) until stopped."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_work())
