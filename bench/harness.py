"""The benchmark's machinery: servers on loopback, pinning, and the load generators.

`wrk` drives the servers with a Lua script rotating through (learner id, token) pairs.
Without wrk, this module is also a bounded Python load generator, run as its own process:

    python bench/harness.py --port 8000 --pairs pairs.txt --connections 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from dataset import read_pairs

HOST = "127.0.0.1"
ROUTE = "/api/v1/learners/{learnerId}/learning-plans/progress"
BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SERVER_CORE, LOAD_CORE = 0, 1
WRK_HINT = (
    "wrk is not installed. Install it for the reference figures: "
    "`sudo apt-get install wrk` (Debian/Ubuntu), `sudo dnf install wrk` (Fedora), "
    "`brew install wrk` (macOS), or build https://github.com/wg/wrk."
)

# Rotates through (learner id, token) pairs, one request each, every thread from its own
# offset. The requests are formatted once in init(), so wrk spends no time building them.
WRK_SCRIPT = r"""
local counter = 0
function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local requests = {}
local n = 0
local i = 0

function init(args)
  local threads = tonumber(args[2])
  for line in io.lines(args[1]) do
    local id, token = line:match("^(%S+)%s+(%S+)$")
    if id then
      n = n + 1
      requests[n] = wrk.format("GET", "/api/v1/learners/" .. id .. "/learning-plans/progress",
        { ["Authorization"] = "Zoho-oauthtoken " .. token })
    end
  end
  if n == 0 then error("no (learner id, token) pairs in " .. args[1]) end
  i = math.floor(n * thread_index / threads)
end

function request()
  i = i % n + 1
  return requests[i]
end
"""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One timed load run, as the load generator reported it."""

    tool: str
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    raw: str = field(repr=False, default="")
    server_cpu_s: float = math.nan  # CPU time the server process used during the run
    machine_busy: float = math.nan  # share of all cores busy during the run (every process)

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else math.nan

    @property
    def core_share(self) -> float:
        """How much of its core the server used: well under 1 means it was not saturated."""
        return self.server_cpu_s / self.seconds if self.seconds else math.nan


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def can_pin() -> bool:
    return shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if can_pin() else command


def http_get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 (always http://127.0.0.1)
    if token:
        request.add_header("Authorization", f"Zoho-oauthtoken {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (Linux /proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Server:
    """A server process on loopback, started and stopped by us (by its own pid only)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_url: str, timeout: float = 60) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if http_get(ready_url, timeout=2)[0] == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        if self.process is None:
            return math.nan
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return math.nan
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def measure(self, load: Load, port: int, seconds: float) -> LoadResult:
        """One load run, with the server's own CPU time and the machine's over it."""
        before, (busy, total) = self.cpu_seconds(), machine_ticks()
        result = load.run(port, seconds)
        after, (busy_after, total_after) = self.cpu_seconds(), machine_ticks()
        share = (busy_after - busy) / (total_after - total) if total_after > total else math.nan
        return replace(result, server_cpu_s=after - before, machine_busy=share)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running(server: Server, ready_url: str) -> Iterator[Server]:
    server.start(ready_url)
    try:
        yield server
    finally:
        server.stop()


def uvicorn_app_command(script: Path, port: int, body_file: Path) -> list[str]:
    """A bench/ static app (`static_app.py`, `static_starlette.py`) on `port`."""
    return [
        sys.executable,
        str(script),
        "--host",
        HOST,
        "--port",
        str(port),
        "--body",
        str(body_file),
        "--log-level",
        "warning",
    ]


# --------------------------------------------------------------------------- load generators


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> LoadResult:
    """The figures of `wrk --latency` output."""
    percentiles = {
        int(m[1]): float(m[2]) * _UNITS_MS[m[3]]
        for m in re.finditer(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if total is None or rps is None or 50 not in percentiles or 99 not in percentiles:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return LoadResult(
        tool="wrk",
        seconds=float(total[2]) * _UNITS_MS[total[3]] / 1000,
        requests=int(total[1]),
        rps=float(rps[1]),
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        raw=output,
    )


@dataclass(frozen=True, slots=True)
class Load:
    """How to drive a server: the tool, its shape, and the (learner id, token) pairs."""

    tool: str  # wrk | python
    threads: int
    connections: int
    script: Path
    pairs_file: Path

    def run(self, port: int, seconds: float) -> LoadResult:
        if self.tool == "wrk":
            command = [
                "wrk",
                f"-t{self.threads}",
                f"-c{self.connections}",
                f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
                "--latency",
                "-s",
                str(self.script),
                f"http://{HOST}:{port}/",
                "--",
                str(self.pairs_file),
                str(self.threads),
            ]
        else:
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--port",
                str(port),
                "--pairs",
                str(self.pairs_file),
                "--connections",
                str(self.connections),
                "--duration",
                f"{seconds:g}",
            ]
        done = subprocess.run(
            pinned(LOAD_CORE, command),
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{self.tool} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        if self.tool == "wrk":
            return parse_wrk(done.stdout)
        return LoadResult(tool="python", raw=done.stdout, **json.loads(done.stdout))


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    index = max(0, math.ceil(fraction * len(sorted_values)) - 1)
    return sorted_values[index]


async def python_load(
    port: int, pairs_file: Path, connections: int, seconds: float
) -> dict[str, float | int]:
    """A bounded keep-alive HTTP/1.1 load generator: the fallback when wrk is absent."""
    requests = [
        (
            f"GET /api/v1/learners/{learner_id}/learning-plans/progress HTTP/1.1\r\n"
            f"Host: {HOST}:{port}\r\nAuthorization: Zoho-oauthtoken {token}\r\n\r\n"
        ).encode()
        for learner_id, token in read_pairs(pairs_file)
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
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            errors += 1
            return
        i = index * len(requests) // connections
        try:
            while loop.time() < deadline:
                request = requests[i % len(requests)]
                i += 1
                begun = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                await reader.readexactly(int(length[1]) if length else 0)
                latencies.append(time.perf_counter() - begun)
                statuses[int(head[9:12])] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        finally:
            writer.close()

    await asyncio.wait_for(
        asyncio.gather(*(connection(i) for i in range(connections))), timeout=seconds + 30
    )
    elapsed = loop.time() - started
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


def main() -> None:
    """The fallback load generator, as its own (pinned) process; prints its figures."""
    parser = argparse.ArgumentParser(description="Bounded Python HTTP/1.1 load generator.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    figures = asyncio.run(python_load(args.port, args.pairs, args.connections, args.duration))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
