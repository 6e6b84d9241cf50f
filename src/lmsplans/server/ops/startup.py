"""What a server process says when it starts: where it listens and what it runs on, and a
warning for each dependency that does not answer (the process starts all the same, and its
API calls answer 503 7503 until that dependency is back)."""

from __future__ import annotations

import logging
import os

import lmsplans
from lmsplans.server.db import Database
from lmsplans.server.ratelimit import Limiter
from lmsplans.server.settings import Settings, redacted

logger = logging.getLogger("lmsplans")


def limiter_description(settings: Settings) -> str:
    if settings.redis_url:
        return f"Redis at {redacted(settings.redis_url)}"
    return "in-process (this process only)"


def start_line(settings: Settings) -> str:
    """One line: version, address, database (password hidden), limiter, data directory."""
    access = f"on ({settings.log_format})" if settings.access_log else "off"
    return (
        f"lmsplans {lmsplans.__version__} serving http://{settings.host}:{settings.port} "
        f"(process {os.getpid()}): database {redacted(settings.database_url)}, "
        f"limiter {limiter_description(settings)}, data dir {settings.data_dir}, "
        f"access log {access}"
    )


async def announce(settings: Settings, *, db: Database, limiter: Limiter) -> None:
    """Log the start line, then warn for the database or Redis if it does not answer."""
    logger.info("%s", start_line(settings))
    if not await db.ping():
        logger.warning(
            "The database %s does not answer: API calls answer 503 7503 until it does",
            redacted(settings.database_url),
        )
    if not await limiter.ping():
        logger.warning(
            "The limiter (%s) does not answer: API calls answer 503 7503 until it does",
            limiter_description(settings),
        )
