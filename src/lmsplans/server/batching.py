"""One round trip for many requests: what they ask while a call is in flight goes in the next.

Under load, a server process has many requests waiting on the same kind of round trip (the
look at PostgreSQL's change log, the limiter's script on Redis). Making them one after another
costs a round trip's client-side work per request; `Batcher` makes one call for all the
requests that asked while the previous call was in flight. A request alone waits for its
own call, as it would without batching.

Every call starts after all its requests asked, so an answer is never older than the
request it serves: a look at the change log made for a batch sees every write committed
before any of its requests arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class Batcher(Generic[Item, Answer]):
    """Runs `call(items)` for each batch of submitted items; it answers one result per item,
    in order. An exception it raises is every item's answer."""

    def __init__(self, call: Callable[[list[Item]], Awaitable[Sequence[Answer]]]) -> None:
        self._call = call
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run_while_waiting())
        return await future

    async def _run_while_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []  # who asks from now on: next call
                try:
                    answers = await self._call([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():  # done: its request went away
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled (shutting down): so are the waiters
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self._runner = None
