"""Time, as the server reads it. Tests pass their own clock to move time without waiting."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Clock:
    """Wall time in epoch milliseconds and a monotonic clock in seconds."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class ManualClock(Clock):
    """A clock that moves only when told to (tests, simulations)."""

    wall_ms: int = 1_764_000_000_000
    mono: float = 1_000.0

    def now_ms(self) -> int:
        return self.wall_ms

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall_ms += round(seconds * 1000)
        self.mono += seconds
