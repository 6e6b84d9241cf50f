"""The threshold and lock of spec section 4, behind a small interface.

Calls 1..threshold inside any sliding window pass; the next one starts a lock during which
every call is refused with the seconds left. Calls during the lock do not extend it, and
when it ends the window starts empty. A Redis implementation shares this across processes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    window_seconds: float
    reset_seconds: int  # until a call is certainly allowed again
    retry_after: int | None = None  # set when refused

    def headers(self) -> dict[str, str]:
        """IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers)."""
        window = math.ceil(self.window_seconds)
        headers = {
            "RateLimit-Policy": f'"api";q={self.limit};w={window}',
            "RateLimit": f'"api";r={self.remaining};t={self.reset_seconds}',
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class Limiter(Protocol):
    async def hit(self, key: str) -> Decision:
        """Count one call for `key` and say whether it may proceed."""
        ...

    async def ping(self) -> bool:
        """Whether the limiter's storage is reachable."""
        ...


@dataclass(slots=True)
class _KeyState:
    calls: deque[float]
    locked_until: float = 0.0


class InProcessLimiter:
    """A sliding-log limiter in this process's memory; right for one server process only."""

    def __init__(
        self,
        *,
        threshold: int,
        window_seconds: float,
        lock_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window_seconds
        self.lock = lock_seconds
        self._clock = clock
        self._keys: dict[str, _KeyState] = {}
        self._next_sweep = 0.0

    async def ping(self) -> bool:
        return True

    async def hit(self, key: str) -> Decision:
        now = self._clock()
        self._sweep(now)
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(deque())
        if state.locked_until:
            if now < state.locked_until:
                return self._refused(state.locked_until - now)
            state.locked_until = 0.0  # the lock is over: the window starts empty
            state.calls.clear()
        calls = state.calls
        horizon = now - self.window
        while calls and calls[0] <= horizon:
            calls.popleft()
        if len(calls) >= self.threshold:
            calls.clear()
            state.locked_until = now + self.lock
            return self._refused(self.lock)
        calls.append(now)
        remaining = self.threshold - len(calls)
        # Quota comes back when the oldest call in the window slides out of it.
        reset = calls[0] + self.window - now
        return Decision(True, self.threshold, remaining, self.window, math.ceil(reset))

    def _refused(self, seconds_left: float) -> Decision:
        wait = max(1, math.ceil(seconds_left))
        return Decision(False, self.threshold, 0, self.window, wait, retry_after=wait)

    def _sweep(self, now: float) -> None:
        """Forget idle keys now and then, so memory stays bounded by the active callers."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        horizon = now - self.window
        idle = [
            key
            for key, state in self._keys.items()
            if state.locked_until <= now and (not state.calls or state.calls[-1] <= horizon)
        ]
        for key in idle:
            del self._keys[key]
