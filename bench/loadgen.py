"""Bounded Python load generators, each run as its own (pinned) process, loopback only.
Keep-alive HTTP/1.1 over asyncio; each prints its figures as JSON.

    python bench/loadgen.py reads --port 8000 --pairs pairs.txt --connections 64 --duration 10
    python bench/loadgen.py writes --port 8000 --targets targets.txt --rate 10 --duration 10
    python bench/loadgen.py writes --port 8000 --targets targets.txt --connections 16 ...

`reads` is the fallback when wrk is absent: the reference endpoint, rotating through
(learner id, token) pairs. `writes` records course progress
(`PUT /api/v1/courses/{courseId}/learners/{learnerId}/course-progress`), each learner with
their own token, in courses they are in and have not completed: at a fixed rate
(`--rate`: the writes are sent on schedule whether or not the earlier ones were answered,
and their latency counts from when they were due), or as fast as `--connections`
connections go. Every write moves a percentage (1 to 99, never the one it was: it never
completes a course), and counts only when answered 200 with the state it recorded. At the
end it writes the targets file back with the percentages it recorded, for the next run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import orjson

from harness import HOST, percentile, read_pairs, read_targets, write_targets

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
) -> dict[str, object]:
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
) -> dict[str, object]:
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


@dataclass(slots=True)
class Target:
    """A learner's progress in one course, as this generator last recorded it."""

    learner_id: str
    token: str
    course_id: str
    percentage: int

    def next_write(self, port: int) -> tuple[bytes, int]:
        """The request that moves the percentage, and the percentage it records."""
        percentage = self.percentage % 99 + 1  # 1..99, never the current one
        body = b'{"completionPercentage":%d}' % percentage
        head = (
            f"PUT /api/v1/courses/{self.course_id}/learners/{self.learner_id}/course-progress"
            f" HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Zoho-oauthtoken {self.token}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body, percentage

    def recorded(self, body: bytes, percentage: int) -> bool:
        """Whether a 200 answer holds the state the write recorded."""
        try:
            record = orjson.loads(body)["courseProgress"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return False
        return bool(
            record.get("userId") == self.learner_id
            and record.get("courseId") == self.course_id
            and record.get("completionPercentage") == str(percentage)
            and record.get("completionStatus") == "inProgress"
        )


class Writes:
    """The writes of one run: which targets are free, and what came back."""

    def __init__(self, port: int, targets: Sequence[Target]) -> None:
        self.port = port
        self.free = deque(targets)  # a target is written by one request at a time
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.sent = self.wrong = self.errors = self.starved = 0
        self.problems: list[str] = []  # the first few, for the report
        self.last_answer = 0.0

    async def write(self, conn: Connection, begun: float) -> bool:
        """One write on `conn`, its latency counted from `begun`. False when the
        connection is unusable afterwards."""
        if not self.free:
            self.starved += 1  # every target in flight: not sent
            return True
        target = self.free.popleft()
        request, percentage = target.next_write(self.port)
        self.sent += 1
        try:
            status, body = await conn.exchange(request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors += 1  # the state is unknown: the target is not written again
            self._note(f"{target.learner_id}/{target.course_id}: {type(exc).__name__}")
            return False
        self.last_answer = time.perf_counter()
        self.statuses[status] += 1
        if status == 200 and target.recorded(body, percentage):
            self.latencies.append(self.last_answer - begun)
            target.percentage = percentage
            self.free.append(target)
        elif status == 200:
            self.wrong += 1
            self._note(f"200 without the recorded state: {body[:300]!r}")
        else:
            self._note(f"{status}: {body[:300]!r}")
            if status < 500:  # refused: nothing changed
                self.free.append(target)
        return True

    def _note(self, problem: str) -> None:
        if len(self.problems) < 5:
            self.problems.append(problem)

    def figures(self, started: float, window: float) -> dict[str, object]:
        latencies = sorted(self.latencies)
        seconds = max(window, self.last_answer - started)
        return {
            "sent": self.sent,
            "ok": len(latencies),
            "wrong": self.wrong,
            "errors": self.errors,
            "starved": self.starved,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": seconds,
            "achieved_per_s": len(latencies) / seconds,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "problems": self.problems,
        }


async def paced_writes(
    writes: Writes, rate: float, seconds: float, start_at: float, max_connections: int
) -> dict[str, object]:
    """`rate` writes a second for `seconds`, each sent when it is due (from `start_at`, a
    wall-clock time) on an idle connection, or a new one up to `max_connections`."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened = 0
    for _ in range(min(4, max_connections)):
        idle.put_nowait(await Connection.open(writes.port))
        opened += 1
    count = round(rate * seconds)
    lags: list[float] = []

    async def one(due: float) -> None:
        nonlocal opened
        if idle.empty() and opened < max_connections:
            opened += 1
            try:
                conn = await Connection.open(writes.port)
            except OSError:
                writes.errors += 1
                return
        else:
            conn = await idle.get()
        lags.append(time.perf_counter() - due)
        if await writes.write(conn, due):
            idle.put_nowait(conn)
        else:
            conn.close()
            opened -= 1

    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    tasks = []
    for n in range(count):
        due = started + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due)))
    # Answers still owed when the window closes may come in for up to 10 s more.
    _, pending = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    while not idle.empty():
        idle.get_nowait().close()
    lags.sort()
    return writes.figures(started, seconds) | {
        "mode": "paced",
        "rate": rate,
        "requested": count,
        "unanswered": len(pending),
        "max_connections": opened,
        "send_lag_p99_ms": percentile(lags, 0.99) * 1000,
    }


async def closed_writes(
    writes: Writes, connections: int, seconds: float, start_at: float
) -> dict[str, object]:
    """`connections` connections, each writing as soon as its previous write is answered."""
    conns = [await Connection.open(writes.port) for _ in range(connections)]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    deadline = started + seconds

    async def loop(conn: Connection) -> None:
        try:
            while time.perf_counter() < deadline:
                if not await writes.write(conn, time.perf_counter()):
                    return
        finally:
            conn.close()

    await asyncio.wait_for(asyncio.gather(*(loop(c) for c in conns)), timeout=seconds + 30)
    return writes.figures(started, seconds) | {"mode": "closed", "connections": connections}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bounded Python HTTP/1.1 load generators.")
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("reads", help="The reference endpoint, rotating over learners.")
    read.add_argument("--pairs", type=Path, required=True)
    read.add_argument("--connections", type=int, default=64)
    write = commands.add_parser("writes", help="Course progress, moving percentages.")
    write.add_argument(
        "--targets", type=Path, required=True, help="learner id, token, course id, percentage"
    )
    shape = write.add_mutually_exclusive_group(required=True)
    shape.add_argument("--rate", type=float, help="Writes a second, sent on schedule.")
    shape.add_argument("--connections", type=int, help="Connections writing back to back.")
    write.add_argument("--max-connections", type=int, default=256, help="With --rate.")
    write.add_argument("--start-at", type=float, default=0.0, help="Wall-clock start time.")
    for command in (read, write):
        command.add_argument("--port", type=int, required=True)
        command.add_argument("--duration", type=float, default=10)
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600]")
    if args.command == "writes" and not (0 < (args.rate or args.connections) <= 10_000):
        parser.error("--rate and --connections must be in (0, 10000]")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    result: dict[str, object]
    if args.command == "reads":
        pairs = read_pairs(args.pairs)
        result = asyncio.run(reads(args.port, pairs, args.connections, args.duration))
    else:
        writes = Writes(args.port, [Target(*row) for row in read_targets(args.targets)])
        if args.rate:
            work = paced_writes(writes, args.rate, args.duration, args.start_at,
                                args.max_connections)  # fmt: skip
        else:
            work = closed_writes(writes, args.connections, args.duration, args.start_at)
        result = asyncio.run(work)
        # The targets as they stand now, for the next run (a target whose state is unknown
        # after an error is left out).
        write_targets(args.targets, [astuple(target) for target in writes.free])
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
