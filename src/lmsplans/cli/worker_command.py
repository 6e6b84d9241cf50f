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
    from lmsplans.server.webhooks.runner import Delivery
    from lmsplans.server.webhooks.secrets import SecretBox

    settings = load_settings()
    async with migrated_database(settings) as db:
        delivery = Delivery(settings, db=db, clock=Clock(), box=SecretBox.from_settings(settings))
        stop = asyncio.Event()
        running = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(signum, stop.set)
        await delivery.start()
        console.print(
            f"Delivering webhooks from {redacted(settings.database_url)} (Ctrl-C stops).",
            highlight=False,
        )
        try:
            await stop.wait()
        finally:
            await delivery.stop()


@server_command
def worker() -> None:
    """Send webhook deliveries (outside the web processes) until stopped."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_work())
