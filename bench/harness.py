"""The benchmarks' machinery: paths, servers on loopback, pinning, wrk, and the options and
steps that `reference.py` and `mixed.py` share.

`wrk` drives the servers with a Lua script rotating through (learner id, token) pairs;
without wrk, `loadgen.py` (a bounded Python load generator, its own process) does.
"""

from __future__ import annotations

import argparse
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
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROUTE = "/api/v1/learners/{learnerId}/learning-plans/progress"
BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
SERVER_CORE, LOAD_CORE = 0, 1
MAX_WARMUP_S = 30.0  # the longest warm-up, however slow the cold path
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BACKENDS = ("sqlite", "postgresql")
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL + Redis"}
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


def label(size: int) -> str:
    """10000 -> '10k', 1000000 -> '1m'."""
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def shown(size: int) -> str:
    """10000 -> '10k', 1000000 -> '1M'."""
    return label(size).replace("m", "M")


# --------------------------------------------------------------------------- pairs files


def read_pairs(pairs_file: Path) -> list[tuple[str, str]]:
    """The (learner id, token) pairs of a pairs file: one `id token` a line."""
    pairs = []
    for line in pairs_file.read_text().splitlines():
        learner_id, _, token = line.partition(" ")
        pairs.append((learner_id, token))
    return pairs


def write_pairs(pairs_file: Path, pairs: Sequence[tuple[object, str]]) -> None:
    pairs_file.write_text("".join(f"{learner_id} {token}\n" for learner_id, token in pairs))


def read_targets(targets_file: Path) -> list[tuple[str, str, str, int]]:
    """The write targets of a targets file: `learner_id token course_id percentage` a line."""
    targets = []
    for line in targets_file.read_text().splitlines():
        learner_id, token, course_id, percentage = line.split()
        targets.append((learner_id, token, course_id, int(percentage)))
    return targets


def write_targets(targets_file: Path, targets: Sequence[tuple[object, str, object, int]]) -> None:
    targets_file.write_text("".join(" ".join(map(str, target)) + "\n" for target in targets))


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


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (NaN for none)."""
    if not sorted_values:
        return math.nan
    index = max(0, math.ceil(fraction * len(sorted_values)) - 1)
    return sorted_values[index]


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


def route_statuses(port: int, route: str = ROUTE) -> dict[str, int]:
    """Answers the server counted on `route`, by status (from its `/metrics`)."""
    status, body = http_get(f"http://{HOST}:{port}/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    counts: dict[str, int] = {}
    for line in body.decode().splitlines():
        if not line.startswith("lmsplans_http_requests_total{"):
            continue
        labels_text, _, value = line.rpartition("} ")
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if labels.get("route") == route:
            counts[labels["status"]] = counts.get(labels["status"], 0) + int(float(value))
    return counts


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (Linux /proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def lmsplans_command() -> list[str]:
    """The installed `lmsplans` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("lmsplans")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from lmsplans.cli.main import main; main()"]


def clean_env(**ours: str) -> dict[str, str]:
    """This process's environment without any of its `LMSPLANS_*`, plus `ours`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    return env | ours


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_s: float  # the server process's CPU time so far
    busy_ticks: int  # the machine's, every core
    total_ticks: int


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
            time.sleep(0.05)
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

    def usage(self) -> Usage:
        """The server's CPU time and the machine's ticks now: give it to `with_usage` after
        a load run to add what the run used."""
        return Usage(self.cpu_seconds(), *machine_ticks())

    def with_usage(self, result: LoadResult, since: Usage) -> LoadResult:
        """`result` with the server's CPU time and the machine's busy share since `since`."""
        now = self.usage()
        total = now.total_ticks - since.total_ticks
        share = (now.busy_ticks - since.busy_ticks) / total if total > 0 else math.nan
        return replace(result, server_cpu_s=now.cpu_s - since.cpu_s, machine_busy=share)

    def measure(self, load: Load, port: int, seconds: float) -> LoadResult:
        """One load run, with the server's own CPU time and the machine's over it."""
        since = self.usage()
        return self.with_usage(load.run(port, seconds), since)

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


# --------------------------------------------------------------------------- load


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


def run_bounded(command: list[str], seconds: float) -> str:
    """Run a load generator pinned to the load core; its standard output. Bounded: killed
    a minute past the time it was given."""
    done = subprocess.run(
        pinned(LOAD_CORE, command),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass(frozen=True, slots=True)
class Load:
    """How to drive a server with reads: the tool, its shape, and the (learner id, token)
    pairs."""

    tool: str  # wrk | python
    threads: int
    connections: int
    script: Path
    pairs_file: Path

    def command(self, port: int, seconds: float) -> list[str]:
        if self.tool == "wrk":
            return [
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
        return [
            sys.executable,
            str(BENCH_DIR / "loadgen.py"),
            "reads",
            "--port",
            str(port),
            "--pairs",
            str(self.pairs_file),
            "--connections",
            str(self.connections),
            "--duration",
            f"{seconds:g}",
        ]

    def result(self, output: str) -> LoadResult:
        if self.tool == "wrk":
            return parse_wrk(output)
        return LoadResult(tool="python", raw=output, **json.loads(output))

    def run(self, port: int, seconds: float) -> LoadResult:
        return self.result(run_bounded(self.command(port, seconds), seconds))


def warm_up(server: Server, load: Load, port: int, warmup: float, keys: int) -> LoadResult:
    """`warmup` seconds of load, prolonged (up to `MAX_WARMUP_S`) until about `keys`
    requests were made: with the caches on, every benchmarked learner is then cached and
    the measured run sees the steady state, whatever the dataset's size.

    Answers the warm-up as one result (requests, seconds and rate summed up)."""
    first = server.measure(load, port, warmup)
    requests, seconds, non_2xx = first.requests, first.seconds, first.non_2xx
    while requests < keys * 1.1 and seconds < MAX_WARMUP_S - 1:
        rps = max(requests / seconds, 100.0)
        more = math.ceil(min(MAX_WARMUP_S - seconds, (keys * 1.1 - requests) / rps + 1))
        print(f"  warm-up: {requests:,} requests so far, {more:.0f} s more ...", flush=True)
        extra = server.measure(load, port, more)
        requests += extra.requests
        seconds += extra.seconds
        non_2xx += extra.non_2xx
    return replace(
        first, seconds=seconds, requests=requests, rps=requests / seconds, non_2xx=non_2xx
    )


# --------------------------------------------------------------------------- shared steps


def csv_of(
    kind: Callable[[str], Any], choices: tuple[str, ...] | None = None
) -> Callable[[str], list[Any]]:
    """An argparse type: a comma-separated list of `kind`, each one of `choices`."""

    def parse(text: str) -> list[Any]:
        items = [kind(item.strip()) for item in text.split(",") if item.strip()]
        if choices is not None:
            unknown = [item for item in items if item not in choices]
            if unknown:
                raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {choices}")
        return items

    return parse


def common_parser(prog: str, description: str, *, sittings: int) -> argparse.ArgumentParser:
    """A parser with the options every load benchmark takes: what to measure, on which
    datasets, how, and in how many sittings."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_common_options(parser, duration=10)
    parser.add_argument(
        "--sittings",
        type=int,
        default=sittings,
        help="Sittings per dataset (a fresh server each), alternately ascending and "
        f"descending by size [{sittings}].",
    )
    return parser


def add_common_options(parser: argparse.ArgumentParser, *, duration: float) -> None:
    """The options every load benchmark takes: what to measure, on which datasets, how."""
    parser.add_argument(
        "--backends",
        type=csv_of(str, BACKENDS),
        default=list(BACKENDS),
        help="Comma-separated: sqlite, postgresql [both].",
    )
    parser.add_argument(
        "--sizes",
        type=csv_of(int),
        default=[10_000, 1_000_000],
        help="Comma-separated dataset sizes, in learners [10000,1000000].",
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=10_000,
        help="Learners with a token, sampled from every dataset [10000].",
    )
    parser.add_argument(
        "--duration", type=float, default=duration, help=f"Seconds per measured run [{duration:g}]."
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="Seconds of warm-up per server [3]; with the caches on, prolonged until every "
        "benchmarked learner was asked for once.",
    )
    parser.add_argument("--connections", type=int, default=64, help="Open read connections.")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument(
        "--check", type=int, default=200, help="Answers checked against the database per run."
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=None,
        help="Rate limit threshold for the runs [the server's, raised if the load needs it].",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="LMSPLANS_X=VALUE",
        help="Extra server setting (repeatable).",
    )
    parser.add_argument("--regenerate", action="store_true", help="Rebuild cached datasets.")
    parser.add_argument("--seed", type=int, default=2026, help="Dataset seed.")
    parser.add_argument(
        "--cache-dir", type=Path, default=OUT_DIR, help="Where datasets are cached [bench/out]."
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--keep", action="store_true", help="Keep the logs directory.")


def check_common_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse common options out of range (argparse's exit status 2)."""
    if not 0 < args.duration <= 600 or not 0 < args.warmup <= 60:
        parser.error("--duration must be in (0, 600] and --warmup in (0, 60]")
    if args.connections < 1 or args.threads < 1 or args.connections < args.threads:
        parser.error("--connections must be at least --threads, and both positive")
    if not args.backends or not args.sizes or any(size < 100 for size in args.sizes):
        parser.error("give at least one backend and one size (each at least 100 learners)")
    if args.tokens < 100 or args.check < 1 or args.sittings < 1:
        parser.error("--tokens must be at least 100, --check and --sittings at least 1")
    for item in args.env:
        if not item.startswith("LMSPLANS_") or "=" not in item:
            parser.error(f"--env {item!r}: expected LMSPLANS_NAME=value")


def command_line(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The command that reproduces `args`: the script and every option not at its default."""
    parts = [f".venv/bin/python bench/{Path(parser.prog).name}"]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "keep", "output"):
            continue
        value = getattr(args, action.dest)
        if value == action.default:
            continue
        flag = action.option_strings[0]
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + flag.removeprefix("--"))
        elif action.dest == "env":
            parts += [f"--env {item}" for item in value]
        elif isinstance(value, list):
            parts.append(f"{flag} {','.join(str(v) for v in value)}")
        elif isinstance(value, float):
            parts.append(f"{flag} {value:g}")
        else:
            parts.append(f"{flag} {value}")
    return " ".join(parts)


def load_tool(args: argparse.Namespace) -> str | None:
    """wrk or python, as `--loadgen` asks and the machine has; None (after saying why)
    when wrk was asked for and is absent."""
    tool: str = args.loadgen
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "python":
        if shutil.which("wrk") is None:
            print(f"WARNING: {WRK_HINT}")
        print("Reads from the bounded Python load generator (bench/loadgen.py).")
    elif shutil.which("wrk") is None:
        print(WRK_HINT, file=sys.stderr)
        return None
    if not can_pin():
        print("WARNING: taskset absent or a single core: server and load are not pinned.")
    return tool


def ready_to_run(args: argparse.Namespace) -> str | None:
    """The read load generator to use (`load_tool`), once what the run needs is there;
    None after saying what is missing (wrk asked for and absent, PostgreSQL or Redis down)."""
    from backends import missing_services

    tool = load_tool(args)
    if tool is None:
        return None
    if "postgresql" in args.backends:
        missing = missing_services(args.pg_admin_url, args.redis_url)
        if missing:
            print("Cannot run the PostgreSQL + Redis benchmark:", *missing, sep="\n  ")
            print("Start them, or run `--backends sqlite`.", file=sys.stderr)
            return None
    return tool


def sitting_order(sizes: Sequence[int], sittings: int) -> list[tuple[int, int]]:
    """(size, sitting) in the order measured: `sittings` per size, alternately ascending
    and descending by size (10k 1M 1M 10k ...), so that a steady drift of the machine's
    speed weighs on every size alike."""
    ordered = sorted(set(sizes))
    return [
        (size, sitting)
        for sitting in range(1, sittings + 1)
        for size in (ordered if sitting % 2 else reversed(ordered))
    ]


def server_env(
    args: argparse.Namespace, url: str, backend: str, *, threshold: int, tag: str, **extra: str
) -> dict[str, str]:
    """The environment of `lmsplans serve` on a dataset: ours, none of the caller's
    LMSPLANS_*; on PostgreSQL, Redis with a prefix of its own (`redis_prefix(tag)`)."""
    ours = {
        "LMSPLANS_DATABASE_URL": url,
        "LMSPLANS_RATE_LIMIT_THRESHOLD": str(threshold),
        "LMSPLANS_LOG_LEVEL": "warning",
    }
    if backend == "postgresql":
        ours["LMSPLANS_REDIS_URL"] = args.redis_url
        ours["LMSPLANS_REDIS_PREFIX"] = redis_prefix(tag)
    ours |= extra
    for item in args.env:
        key, _, value = item.partition("=")
        ours[key] = value
    return clean_env(**ours)


def redis_prefix(tag: str) -> str:
    return f"lmsplans-bench:{tag}:"


@contextlib.contextmanager
def lmsplans_serving(
    args: argparse.Namespace,
    url: str,
    backend: str,
    *,
    threshold: int,
    tag: str,
    log: Path,
    **extra: str,
) -> Iterator[tuple[Server, int, dict[str, str]]]:
    """`lmsplans serve` on the dataset at `url` (`server_env`), on a free port, pinned to the
    server's core, once its `/healthz` answers: the server, its port and its environment.
    Stopped after; on PostgreSQL, the run's limiter keys are dropped from Redis too."""
    from backends import drop_redis_keys

    env = server_env(args, url, backend, threshold=threshold, tag=tag, **extra)
    port = free_port()
    command = [*lmsplans_command(), "serve", "--host", HOST, "--port", str(port)]
    server = Server("lmsplans serve", pinned(SERVER_CORE, command), env, log)
    try:
        with running(server, f"http://{HOST}:{port}/healthz"):
            yield server, port, env
    finally:
        if backend == "postgresql":
            drop_redis_keys(args.redis_url, redis_prefix(tag))


def limiter_defaults() -> tuple[int, float]:
    """The server's default rate-limit threshold and window (seconds), from its settings."""
    from lmsplans.server.settings import Settings

    fields = Settings.model_fields
    return int(fields["rate_limit_threshold"].default), float(
        fields["rate_limit_window_seconds"].default
    )


def lmsplans_settings(env: dict[str, str]) -> dict[str, str]:
    """The LMSPLANS_* of an environment, as a run's report lists them."""
    return {k: v for k, v in env.items() if k.startswith("LMSPLANS_")}


def settings_note(env: dict[str, str]) -> str:
    """The server settings a report shows for a run (not where the data lives)."""
    quiet = ("LMSPLANS_DATABASE_URL", "LMSPLANS_REDIS_URL", "LMSPLANS_REDIS_PREFIX")
    return ", ".join(f"`{k}={v}`" for k, v in sorted(env.items()) if k not in quiet)


@contextlib.contextmanager
def work_directory(keep: bool) -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="lmsplans-bench-"))
    try:
        yield workdir
    finally:
        if keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
