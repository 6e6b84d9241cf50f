"""`Batcher`: one call per batch, never a call that started before one of its items asked."""

from __future__ import annotations

import asyncio

import pytest

from lmsplans.server.batching import Batcher


class Recorder:
    """A call that records its batches and holds each one until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [item * 10 for item in items]


async def settle() -> None:
    """Let every task that can run, run (a few turns of the loop)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_request_alone_gets_its_own_call() -> None:
    recorder = Recorder()
    recorder.release.set()
    batcher: Batcher[int, int] = Batcher(recorder)
    assert await batcher.submit(1) == 10
    assert await batcher.submit(2) == 20
    assert recorder.batches == [[1], [2]]


async def test_what_is_asked_during_a_call_goes_in_the_next_one_in_order() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder)
    first = asyncio.create_task(batcher.submit(1))
    await settle()  # the first call starts, and holds
    assert recorder.batches == [[1]]
    later = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await settle()
    assert recorder.batches == [[1]]  # none of them joined the call already in flight
    recorder.release.set()
    assert await first == 10
    assert [await task for task in later] == [20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_failed_call_is_every_item_s_answer_and_the_next_call_still_runs() -> None:
    recorder = Recorder()
    recorder.fail_with = ConnectionError("down")
    recorder.release.set()
    batcher: Batcher[int, int] = Batcher(recorder)
    results = await asyncio.gather(*(batcher.submit(n) for n in (1, 2)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    recorder.fail_with = None
    assert await batcher.submit(3) == 30


async def test_a_request_that_goes_away_does_not_disturb_the_others() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder)
    gone = asyncio.create_task(batcher.submit(1))
    kept = asyncio.create_task(batcher.submit(2))
    await settle()
    assert recorder.batches == [[1, 2]]
    gone.cancel()
    recorder.release.set()
    assert await kept == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert recorder.batches == [[1, 2]]
