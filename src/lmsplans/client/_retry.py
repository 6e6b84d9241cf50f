"""Retries: backoff on 5xx answers and network errors, waiting out a lock, one token refresh."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from lmsplans.client._answers import parse_rate_limit_headers, retry_after_seconds
from lmsplans.client._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitedError,
)
from lmsplans.client._pacing import Governor

__all__ = ["Action", "Attempts", "RetryPolicy"]

log = logging.getLogger("lmsplans.client")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries with jittered exponential backoff on 5xx answers and network errors.

    Reads are always retried; writes are retried too, each carrying one `Idempotency-Key`
    across its attempts, so the server applies it once.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_lock_waits: int = 3  # how many 429 locks one call waits out before giving up

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Delay before retry number `attempt` (0-based): capped exponential, half jittered."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return ceiling / 2 + ceiling / 2 * rng()


MAX_SERVER_WAIT = 60.0  # the longest Retry-After honoured on a 5xx before retrying


@dataclass(frozen=True, slots=True)
class Action:
    """What to do after a failed attempt: refresh the token, wait out a lock, or retry."""

    kind: str  # "refresh" | "lock" | "retry"
    seconds: float = 0.0


class Attempts:
    """The retry state of one call. Each kind of failure has its own bound, so every call
    ends: `max_retries` for 5xx and network errors, `max_lock_waits` for 429 locks, and one
    token refresh."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry
        self.retries = 0
        self.lock_waits = 0
        self.refreshed = False
        self.limit = retry.max_retries + retry.max_lock_waits + 2

    def after_transport_error(self, exc: httpx.TransportError) -> Action:
        """Back off and retry, or raise once the retries are spent."""
        if self.retries >= self.retry.max_retries:
            raise connection_error(exc) from exc
        delay = self.retry.backoff(self.retries)
        self.retries += 1
        return Action("retry", delay)

    def after_error(self, error: APIStatusError, *, can_refresh: bool) -> Action:
        """Refresh (401, once), wait out the lock (429), back off (5xx), or re-raise."""
        if error.status == 401 and can_refresh and not self.refreshed:
            self.refreshed = True
            return Action("refresh")
        if isinstance(error, RateLimitedError) and self.lock_waits < self.retry.max_lock_waits:
            self.lock_waits += 1
            return Action("lock", error.retry_after if error.retry_after is not None else -1.0)
        if (error.status >= 500 or error.status == 408) and self.retries < self.retry.max_retries:
            delay = self.retry.backoff(self.retries)
            after = (
                retry_after_seconds(error.response.headers) if error.response is not None else None
            )
            if after is not None:
                delay = max(delay, min(after, MAX_SERVER_WAIT))
            self.retries += 1
            return Action("retry", delay)
        raise error


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """The client's exception for a transport failure."""
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:
        request = None
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out: {exc}", request=request)
    return APIConnectionError(f"connection failed: {exc}", request=request)


def log_retry(api: str, action: Action, cause: Exception) -> None:
    """Say on the `lmsplans.client` logger why a call is being made again."""
    if action.kind == "lock":
        log.warning(
            "%s is locked (%s): waiting %.0f s, then the same call again",
            api,
            cause,
            action.seconds,
        )
    elif action.kind == "refresh":
        log.info("%s: the access token was refused (%s); refreshing it", api, cause)
    else:
        log.info("%s failed (%s): retrying in %.1f s", api, cause, action.seconds)


def lock_seconds(given: float, response: httpx.Response, governor: Governor, api: str) -> float:
    """`Retry-After`; else the `RateLimit` reset; else the lock period of the policy."""
    if given >= 0:
        return given
    _, _, _, reset = parse_rate_limit_headers(response.headers)
    return reset if reset is not None else governor.lock_seconds(api)
