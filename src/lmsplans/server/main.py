"""Entry points for ASGI servers: `uvicorn --factory lmsplans.server.main:app_from_env`."""

from __future__ import annotations

import gc

from starlette.applications import Starlette

from lmsplans.server.app import create_app
from lmsplans.server.settings import Settings


def app_from_env() -> Starlette:
    """The app with settings read from `LMSPLANS_*` environment variables."""
    # A server process allocates many short-lived objects per request: with the default
    # thresholds the collector ran so often that its pauses made most of the p99 latency
    # (bench/). Collect young objects less often, and never walk what start-up created.
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    return create_app(Settings())
