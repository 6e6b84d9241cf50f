"""Reads make way for writes: how many reads a process starts in one turn of its event loop,
and how many it has under way at once.

A server process runs every request on one event loop, and on the cached path a read is a
step or two of it (SQLite is even called inline). With many concurrent reads, each turn of
the loop runs the steps of every read that is ready, and a write waits for all of them at
each of its own steps (its bytes are noticed after one turn, its step runs after the next,
and on PostgreSQL each round trip costs another): with 64 connections reading, a write
answered alone in under a millisecond took tens.

`ReadGate` bounds both: at most `per_turn` reads start in one turn of the loop (the others
wait, in the order they came, for the next turns), and at most `in_flight` are under way
(the others wait for one to end). A turn then holds a few reads' steps, the loop comes back
to the network often, and a write, which passes no gate, is answered within a turn or two
of each of its steps. Reads lose nothing when there are few of them: passing an open gate
costs a counter; when it is shut, a read waits once, for as long as the reads before it
take anyway.

A write is also seen before its handler runs: `serve`'s protocol layer calls `write_arrived`
as soon as a write's head is read, and the next turn starts no read, so the write's handler
is the next heavy step the loop takes (instead of the step after a turn of reads).

The bounds depend on the storage (`gate_for`). SQLite answers a read in one step, so it is
the reads started in a turn that make the turn long: four a turn. A PostgreSQL read waits
on round trips (the change log, the limiter on Redis) that the reads under way share, and
resumes with all of them when the answer comes: sixteen under way.
"""

from __future__ import annotations

import asyncio
from collections import deque

# Measured with `bench/mixed.py` (64 reading connections, 10 and 100 writes a second): on
# SQLite, 8 reads a turn left a write's median at about 6 times its time alone, 4 and 2 at
# about 4 times (the rest is the load generator's own busy core); bounding the reads under
# way does nothing there (none is ever suspended).
_BOUNDS = {"sqlite": (4, 0), "postgresql": (0, 16)}


class ReadGate:
    """At most `per_turn` reads start in one turn of the event loop and at most `in_flight`
    are under way (0: no bound), first come first served."""

    def __init__(self, *, per_turn: int, in_flight: int) -> None:
        self.per_turn = per_turn
        self.in_flight = in_flight
        self._slots = asyncio.Semaphore(in_flight) if in_flight > 0 else None
        self._started = 0  # reads started in this turn
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._turn_ends = False  # whether the end of this turn is scheduled
        self._hold = False  # a write arrived: the next turn starts no read

    def held(self) -> ReadGate:
        """Passage for the block's read: `async with gate.held():` (a plain context
        manager, not a generator: it is on every cached read's path)."""
        return self

    async def __aenter__(self) -> None:
        if self.per_turn > 0:
            await self._turn()
        if self._slots is not None:
            await self._slots.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._slots is not None:
            self._slots.release()

    def write_arrived(self) -> None:
        """A write's request has come (its handler is about to be scheduled): the reads
        that come now wait, and the next turn starts none, so the write runs first."""
        if self.per_turn > 0:
            self._hold = True
            self._end_turn_later()

    async def _turn(self) -> None:
        if not self._hold and not self._waiting and self._started < self.per_turn:
            self._started += 1
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
        self._started = 0
        if self._hold:  # this turn is the write's: the reads start in the next
            self._hold = False
            if self._waiting:
                self._end_turn_later()
            return
        while self._waiting and self._started < self.per_turn:
            ready = self._waiting.popleft()
            if not ready.done():  # done: its request went away
                ready.set_result(None)
                self._started += 1
        if self._waiting or self._started:
            self._end_turn_later()


def gate_for(dialect: str) -> ReadGate:
    """The read gate for a process on this storage."""
    per_turn, in_flight = _BOUNDS.get(dialect, (0, 0))
    return ReadGate(per_turn=per_turn, in_flight=in_flight)
