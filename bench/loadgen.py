"""Bounded Python load generators, each run as its own (pinned) process, loopback only.

    python bench/loadgen.py reads --port 8000 --pairs pairs.txt --connections 64 --duration 10

`reads` is the fallback when wrk is absent: keep-alive HTTP/1.1 over asyncio, rotating
through (learner id, token) pairs on the reference endpoint. It prints its figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness import HOST, percentile, read_pairs

_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)")


class Connection:
    """One keep-alive HTTP/1.1 connection that sends ready-made requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; its answer's status and body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = _CONTENT_LENGTH.search(head)
        body = await self.reader.readexactly(int(length[1]) if length else 0)
        return int(head[9:12]), body

    def close(self) -> None:
        self.writer.close()


def figures(
    latencies: list[float], statuses: Counter[int], errors: int, elapsed: float
) -> dict[str, float | int]:
    """A run's figures in `harness.LoadResult`'s fields."""
    latencies.sort()
    done = len(latencies)
    return {
        "seconds": elapsed,
        "requests": done,
        "rps": done / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "non_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "socket_errors": errors,
    }


async def reads(
    port: int, pairs: Sequence[tuple[str, str]], connections: int, seconds: float
) -> dict[str, float | int]:
    """`connections` connections asking for the reference endpoint in turn for `seconds`."""
    requests = [
        (
            f"GET /api/v1/learners/{learner_id}/learning-plans/progress HTTP/1.1\r\n"
            f"Host: {HOST}:{port}\r\nAuthorization: Zoho-oauthtoken {token}\r\n\r\n"
        ).encode()
        for learner_id, token in pairs
    ]
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    started = loop.time()
    deadline = started + seconds

    async def connection(index: int) -> None:
        nonlocal errors
        try:
            conn = await Connection.open(port)
        except OSError:
            errors += 1
            return
        i = index * len(requests) // connections
        try:
            while loop.time() < deadline:
                begun = time.perf_counter()
                status, _ = await conn.exchange(requests[i % len(requests)])
                latencies.append(time.perf_counter() - begun)
                statuses[status] += 1
                i += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        finally:
            conn.close()

    await asyncio.wait_for(
        asyncio.gather(*(connection(i) for i in range(connections))), timeout=seconds + 30
    )
    return figures(latencies, statuses, errors, loop.time() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bounded Python HTTP/1.1 load generators.")
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("reads", help="The reference endpoint, rotating over learners.")
    read.add_argument("--port", type=int, required=True)
    read.add_argument("--pairs", type=Path, required=True)
    read.add_argument("--connections", type=int, default=64)
    read.add_argument("--duration", type=float, default=10)
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600]")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(reads(args.port, read_pairs(args.pairs), args.connections, args.duration))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
