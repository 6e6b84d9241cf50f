"""Reads make way for writes (`ReadGate`): at most so many start in one turn of the event
loop, or are under way at once, in the order they came, and a write, which passes no gate,
runs before the reads still waiting."""

from __future__ import annotations

import asyncio

from lmsplans.server.reads import ReadGate, gate_for


async def test_reads_start_a_turn_at_a_time_in_order_and_a_write_goes_first() -> None:
    gate = ReadGate(per_turn=2, in_flight=0)
    started: list[str] = []

    async def read(name: str) -> None:
        async with gate.held():
            started.append(name)  # a SQLite read: one step, nothing awaited

    async def write() -> None:
        started.append("write")

    reads = [asyncio.create_task(read(f"r{n}")) for n in range(5)]
    await asyncio.sleep(0)  # one turn: every read asked, two started
    assert started == ["r0", "r1"]
    writer = asyncio.create_task(write())
    await asyncio.gather(*reads, writer)
    assert started.index("write") < started.index("r2")
    assert [name for name in started if name != "write"] == ["r0", "r1", "r2", "r3", "r4"]


async def test_a_write_announced_by_the_protocol_runs_before_the_next_turn_of_reads() -> None:
    """`write_arrived` (a write's head was read): the turn already scheduled starts no
    read, so the write's handler, scheduled after that turn, still runs first."""
    gate = ReadGate(per_turn=2, in_flight=0)
    started: list[str] = []

    async def read(name: str) -> None:
        async with gate.held():
            started.append(name)

    async def write() -> None:
        started.append("write")

    reads = [asyncio.create_task(read(f"r{n}")) for n in range(6)]
    await asyncio.sleep(0)  # one turn: two reads started, the next turn scheduled
    assert started == ["r0", "r1"]
    gate.write_arrived()
    await asyncio.sleep(0)  # that turn runs: without the hint, r2 and r3 would start
    writer = asyncio.create_task(write())  # the write's handler, scheduled only now
    await asyncio.gather(*reads, writer)
    assert started.index("write") == 2
    assert [name for name in started if name != "write"] == [f"r{n}" for n in range(6)]


async def test_reads_under_way_are_bounded_and_a_write_goes_first() -> None:
    gate = ReadGate(per_turn=0, in_flight=2)
    started: list[str] = []

    async def read(name: str) -> None:
        async with gate.held():
            started.append(name)
            await asyncio.sleep(0)  # a round trip: the read stays under way meanwhile

    async def write() -> None:
        started.append("write")

    reads = [asyncio.create_task(read(f"r{n}")) for n in range(5)]
    await asyncio.sleep(0)
    assert started == ["r0", "r1"]
    writer = asyncio.create_task(write())
    await asyncio.gather(*reads, writer)
    assert started.index("write") < started.index("r2")
    assert [name for name in started if name != "write"] == ["r0", "r1", "r2", "r3", "r4"]


async def test_a_read_that_went_away_leaves_its_place_to_the_next() -> None:
    gate = ReadGate(per_turn=1, in_flight=0)
    started: list[int] = []

    async def read(n: int) -> None:
        async with gate.held():
            started.append(n)

    reads = [asyncio.create_task(read(n)) for n in range(4)]
    await asyncio.sleep(0)  # one turn: the first started, the others wait in line
    reads[1].cancel()  # its client went away
    await asyncio.gather(reads[0], reads[2], reads[3])
    assert reads[1].cancelled() and started == [0, 2, 3]


async def test_each_storage_has_its_bounds_and_none_means_no_wait() -> None:
    sqlite, postgres = gate_for("sqlite"), gate_for("postgresql")
    assert (sqlite.per_turn, sqlite.in_flight) == (4, 0)
    assert (postgres.per_turn, postgres.in_flight) == (0, 16)
    open_gate = ReadGate(per_turn=0, in_flight=0)
    for _ in range(100):
        async with open_gate.held():
            pass
    assert open_gate.per_turn == 0
