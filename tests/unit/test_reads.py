"""Reads make way for writes (`ReadSlots`): at most so many reads are under way at once, in
the order they came, and a write, which takes no slot, runs before the reads still waiting."""

from __future__ import annotations

import asyncio

from lmsplans.server.reads import ReadSlots, limit_for


async def test_reads_wait_for_a_slot_in_order_and_a_write_goes_first() -> None:
    slots = ReadSlots(2)
    started: list[str] = []

    async def read(name: str) -> None:
        async with slots.held():
            started.append(name)
            await asyncio.sleep(0)  # a round trip: the slot stays taken meanwhile

    async def write() -> None:
        started.append("write")

    reads = [asyncio.create_task(read(f"r{n}")) for n in range(5)]
    await asyncio.sleep(0)  # every read asked: two are under way
    assert started == ["r0", "r1"]
    writer = asyncio.create_task(write())
    await asyncio.gather(*reads, writer)
    assert started.index("write") < started.index("r2")
    assert [name for name in started if name != "write"] == ["r0", "r1", "r2", "r3", "r4"]


async def test_a_read_that_went_away_leaves_its_place_to_the_next() -> None:
    slots = ReadSlots(1)
    started: list[int] = []

    async def read(n: int) -> None:
        async with slots.held():
            started.append(n)
            await asyncio.sleep(0)

    reads = [asyncio.create_task(read(n)) for n in range(4)]
    await asyncio.sleep(0)  # the first is under way, the others wait in line
    reads[1].cancel()  # its client went away
    await asyncio.gather(reads[0], reads[2], reads[3])
    assert reads[1].cancelled() and started == [0, 2, 3]


async def test_each_storage_has_its_limit_and_none_means_no_wait() -> None:
    assert limit_for("sqlite") == 4 and limit_for("postgresql") == 16
    slots = ReadSlots(0)
    for _ in range(100):
        async with slots.held():
            pass
    assert slots.limit == 0
