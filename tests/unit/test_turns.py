"""Reads take turns of the event loop (`ReadTurns`): at most so many start in one turn, in
the order they came, and a write, which takes no turn, runs before the reads still waiting."""

from __future__ import annotations

import asyncio

from lmsplans.server.turns import ReadTurns


async def test_reads_start_a_turn_at_a_time_in_order_and_a_write_goes_first() -> None:
    turns = ReadTurns(per_turn=2)
    started: list[str] = []

    async def read(name: str) -> None:
        await turns.take()
        started.append(name)

    async def write() -> None:
        started.append("write")

    reads = [asyncio.create_task(read(f"r{n}")) for n in range(5)]
    await asyncio.sleep(0)  # one turn: every read asked, two started
    assert started == ["r0", "r1"]
    writer = asyncio.create_task(write())
    await asyncio.gather(*reads, writer)
    assert started[:3] == ["r0", "r1", "write"]
    assert [name for name in started if name != "write"] == ["r0", "r1", "r2", "r3", "r4"]


async def test_a_read_that_went_away_gives_its_turn_to_the_next() -> None:
    turns = ReadTurns(per_turn=1)
    started: list[int] = []

    async def read(n: int) -> None:
        await turns.take()
        started.append(n)

    reads = [asyncio.create_task(read(n)) for n in range(4)]
    await asyncio.sleep(0)  # one turn: the first started, the others wait in line
    reads[1].cancel()  # its client went away
    await asyncio.gather(reads[0], reads[2], reads[3])
    assert reads[1].cancelled() and started == [0, 2, 3]


async def test_without_a_limit_no_read_waits() -> None:
    turns = ReadTurns(per_turn=0)
    for _ in range(100):
        await turns.take()
    assert turns.per_turn == 0
