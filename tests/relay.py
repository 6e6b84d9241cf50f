"""A TCP relay that can be cut: a dependency's outage, real at the network level.

A server (or an in-process app) reaches PostgreSQL or Redis through the relay; `cut()`
refuses new connections and resets every relayed one, `restore()` listens again on the
same port. No code of ours is mocked.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

RELAY_SECONDS = 5.0  # every relay operation is bounded
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset


class TcpRelay:
    """Forwards a loopback port of its own to `target`, on an asyncio loop in a thread.

    `cut()` closes the listening socket (new connections are refused) and resets every
    relayed connection, both towards the client and towards the target; `restore()`
    listens again on the same port. `close()` cuts and stops the thread.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0  # connections relayed so far
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"relay-{target_port}", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._thread.start()
        self._run(self._listen)

    def cut(self) -> None:
        self._run(self._cut)

    def restore(self) -> None:
        self._run(self._listen)

    def close(self) -> None:
        try:
            if self._thread.is_alive():
                self._run(self._shutdown)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread.ident is not None:  # started
                self._thread.join(RELAY_SECONDS)
            if not self._thread.is_alive():
                self._loop.close()

    def _run(self, operation: Callable[[], Any]) -> None:
        """Run the coroutine `operation()` on the relay's loop; wait for it (bounded)."""
        future = asyncio.run_coroutine_threadsafe(operation(), self._loop)
        future.result(RELAY_SECONDS)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        deadline = time.monotonic() + RELAY_SECONDS / 2
        while True:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.port))
                break
            except OSError:  # the port not free again yet: retry, bounded
                sock.close()
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._relay, sock=sock)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # listening no more: connecting is refused
        for writer in list(self._writers):
            _reset(writer)
        if server is not None:
            await asyncio.wait_for(server.wait_closed(), RELAY_SECONDS / 2)

    async def _shutdown(self) -> None:
        await self._cut()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=RELAY_SECONDS / 2)

    async def _relay(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        """One relayed connection: `client` to a new connection to the target, both ways."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client)
        self.accepted += 1
        try:
            try:
                upstream_reader, upstream = await asyncio.wait_for(
                    asyncio.open_connection(*self.target), RELAY_SECONDS
                )
            except (OSError, TimeoutError):
                return
            self._writers.add(upstream)
            try:
                if not client.is_closing():  # else: cut while connecting to the target
                    await asyncio.gather(
                        _pipe(client_reader, upstream), _pipe(upstream_reader, client)
                    )
            finally:
                self._writers.discard(upstream)
                upstream.transport.abort()
        finally:
            self._writers.discard(client)
            client.transport.abort()
            self._tasks.discard(task)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Drop a connection at once, with a reset (RST) rather than an orderly close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until it ends; then the whole link ends."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:  # reset or broken pipe: the link is over
        pass
    finally:
        writer.close()


@contextmanager
def relay_to(url: str, default_port: int) -> Iterator[tuple[TcpRelay, str]]:
    """A started relay to the service at `url`, and the same URL pointed at the relay."""
    parts = urlsplit(url)
    assert parts.hostname, url
    relay = TcpRelay(parts.hostname, parts.port or default_port)
    try:
        relay.start()
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@" if userinfo else ""
        yield relay, urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{relay.port}"))
    finally:
        relay.close()
