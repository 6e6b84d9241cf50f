"""Reads take turns, so that a write never waits behind a crowd of them.

A server process runs every request on one event loop, and on the cached path a read is a
single step of it (SQLite is even called inline). Under many concurrent reads, each turn of
the loop runs the steps of every read that is ready, and a write that arrives waits for all
of them, twice (its bytes are noticed after one turn, its step runs after the next): with
64 connections reading, a write alone answered in half a millisecond took tens.

`ReadTurns` lets at most `per_turn` reads start in one turn of the loop; the others wait,
in the order they came, for the next turns. A turn is then short, the loop comes back to
the network often, and a write (which takes no turn) runs within a turn or two of
arriving. Reads lose nothing when there are few of them: below `per_turn` a turn, taking
one costs a counter; above it, a read waits once, for as long as the reads before it take
anyway.
"""

from __future__ import annotations

import asyncio
from collections import deque

# Reads started in one turn of the loop: about a millisecond of cached answers.
READS_PER_TURN = 8


class ReadTurns:
    """At most `per_turn` reads start in each turn of the event loop (0: no limit)."""

    def __init__(self, *, per_turn: int = READS_PER_TURN) -> None:
        self.per_turn = per_turn
        self._taken = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._turn_ends = False  # whether the end of this turn is scheduled

    async def take(self) -> None:
        """Return when this read may start: now, or in a later turn."""
        if self.per_turn <= 0:
            return
        if not self._waiting and self._taken < self.per_turn:
            self._taken += 1
            self._end_turn_later()
            return
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(ready)
        self._end_turn_later()
        await ready

    def _end_turn_later(self) -> None:
        if not self._turn_ends:
            self._turn_ends = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        """Runs once the loop has come around (after its look at the network): the next
        reads in line may start, as many as a turn holds."""
        self._turn_ends = False
        self._taken = 0
        while self._waiting and self._taken < self.per_turn:
            ready = self._waiting.popleft()
            if not ready.done():  # done: its request went away
                ready.set_result(None)
                self._taken += 1
        if self._waiting or self._taken:
            self._end_turn_later()
