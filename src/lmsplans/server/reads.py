"""Reads make way for writes: at most so many reads are under way at once in a process.

A server process runs every request on one event loop, and on the cached path a read is a
step or two of it (SQLite is even called inline). With many concurrent reads, each turn of
the loop runs the steps of every read that is ready, and a write waits for all of them at
each of its own steps (its bytes are noticed after one turn, its step runs after the next,
and on PostgreSQL each round trip costs another): with 64 connections reading, a write
answered alone in half a millisecond took tens.

`ReadSlots` lets at most `limit` reads be under way; the others wait, in the order they
came, for a slot. A turn of the loop then holds a few reads' steps, the loop comes back to
the network often, and a write, which takes no slot, is answered within a turn or two of
each step. Reads lose nothing when there are few of them: a free slot costs a counter;
when all are taken, a read waits once, for as long as the reads before it take anyway.

The limit depends on the storage (`limit_for`): SQLite answers a read in one step, so a
few slots keep every turn short; PostgreSQL reads wait on round trips (the change log, the
limiter on Redis) shared by the reads under way, so more slots keep those batches full.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Measured with `bench/mixed.py` (64 reading connections, 10 and 100 writes a second): on
# SQLite, 8 reads a turn left a write's median at about 6 times its time alone, 4 and 2 at
# about 4 times (the rest is the load generator's own busy core).
_LIMITS = {"sqlite": 4, "postgresql": 16}


def limit_for(dialect: str) -> int:
    return _LIMITS.get(dialect, 0)


class ReadSlots:
    """At most `limit` reads under way at once (0: no limit), first come first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """A slot for the block's read."""
        if self._slots is None:
            yield
            return
        async with self._slots:
            yield
