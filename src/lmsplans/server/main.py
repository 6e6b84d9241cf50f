"""Entry points for ASGI servers: `uvicorn --factory lmsplans.server.main:app_from_env`."""

from __future__ import annotations

from starlette.applications import Starlette

from lmsplans.server.app import create_app
from lmsplans.server.settings import Settings


def app_from_env() -> Starlette:
    """The app with settings read from `LMSPLANS_*` environment variables."""
    return create_app(Settings())
