"""A short-lived cache of checked tokens, so the hot path does not query the database for
the token on every call.

Entries live `ttl_seconds` (default 1 s): a revocation or deactivation made through any
process is seen by every process within that time, and at once by the process that made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lmsplans.server.auth.schemas import Principal

_MAX_ENTRIES = 100_000


class TokenCache:
    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal, int]] = {}

    def get(self, token: str, *, now_ms: int) -> Principal | None:
        """The cached principal, unless the entry or the token itself has expired."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        cached_at, principal, expires_ms = entry
        if self._clock() - cached_at >= self.ttl or now_ms >= expires_ms:
            del self._entries[token]
            return None
        return principal

    def put(self, token: str, principal: Principal, *, expires_ms: int) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()  # bounded memory; the next calls simply re-check
        self._entries[token] = (self._clock(), principal, expires_ms)

    def forget_all(self) -> None:
        """After a revocation or deactivation here: this process sees it at once."""
        self._entries.clear()
