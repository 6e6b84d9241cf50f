"""Load benchmark of the reference endpoint, on SQLite and on PostgreSQL + Redis, against
two ceilings measured in the same run. One command, from the repository root:

    .venv/bin/python bench/reference.py

For each backend (`--backends sqlite,postgresql`) and dataset size (`--sizes
10000,1000000`) it takes the dataset from `bench/out/` or builds it (`bench/dataset.py`),
starts one `lmsplans serve` worker pinned to core 0 (`taskset`), checks a sample of
answers against the database, warms up, and drives
`GET /api/v1/learners/{learnerId}/learning-plans/progress` with `wrk` pinned to core 1,
rotating through one token per sampled learner (the same number of tokens for every size,
so the limiter sees thousands of keys and is exercised but not tripped). With the server's
caches (the default, on which the targets are judged) each dataset is measured in
`--sittings` sittings (4), each a fresh server with its own warm-up, alternately ascending
and descending by size (10k, 1M, 1M, 10k, 10k, 1M, 1M, 10k: a steady drift of the
machine's speed weighs on every size alike); the report uses their mean (the p99 targets
the worst sitting). Then each dataset is measured once with `LMSPLANS_CACHE_ENTRIES=0`,
where every request reads the database. In the same run it measures the ceilings, twice
each (after the first reference run and at the end): a bare ASGI app with no framework
(`bench/static_app.py`) and Starlette with one route (`bench/static_starlette.py`), both
serving one real answer of the endpoint as a constant body under the same uvicorn settings
and pinning; on SQLite, the bare ASGI ceiling also right after every sitting with the
caches on (its target is a ratio to it, then taken within the same minute). It prints the
figures and writes `bench/RESULTS.md`; the exit status is 1 if any answer was not 200.

Only loopback traffic; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dataset
import report
from dataset import BACKENDS, DEFAULT_PG_ADMIN_URL, Dataset, read_pairs
from harness import (
    BENCH_DIR,
    HOST,
    ROUTE,
    SERVER_CORE,
    WRK_HINT,
    WRK_SCRIPT,
    Load,
    LoadResult,
    Server,
    can_pin,
    free_port,
    http_get,
    pinned,
    running,
    uvicorn_app_command,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
MAX_ATTEMPTS = 3  # server starts per reference sitting (the threshold raised between them)
MAX_WARMUP_S = 30.0  # the longest warm-up, however slow the cold path
CEILINGS = {
    "bare ASGI": BENCH_DIR / "static_app.py",
    "Starlette": BENCH_DIR / "static_starlette.py",
}


@dataclass(slots=True)
class ReferenceRun:
    """The reference endpoint measured on one dataset, with or without the server's caches,
    in one sitting (a fresh server, its own warm-up and measured run)."""

    dataset: Dataset
    cached: bool
    sitting: int | None  # 1 or 2 with the caches on; None for the single uncached run
    warmup: LoadResult
    run: LoadResult
    threshold: int
    window_seconds: float
    threshold_note: str | None
    statuses: dict[str, int]
    checked: int  # answers checked against the database before the load
    body: bytes  # the checked answer nearest the mean size
    body_sizes: list[int]
    env: dict[str, str] = field(default_factory=dict)  # LMSPLANS_* given to the server
    # The bare ASGI ceiling measured right after this sitting (SQLite, caches on), so that
    # the ratio the target is judged on compares figures of the same minute.
    beside: LoadResult | None = None

    @property
    def configuration(self) -> str:
        """The backend, size and caching, shared by the sittings: 'sqlite 10k, caches on'."""
        caches = "caches on" if self.cached else "caches off"
        size = self.dataset.label.replace("m", "M")
        return f"{self.dataset.backend} {size}, {caches}"

    @property
    def name(self) -> str:
        """The configuration and the sitting: 'sqlite 10k, caches on, sitting 2'."""
        sitting = "" if self.sitting is None else f", sitting {self.sitting}"
        return self.configuration + sitting


@dataclass(frozen=True, slots=True)
class CeilingRun:
    name: str  # a key of CEILINGS
    sitting: int  # 1: after the first reference run, 2: at the end
    result: LoadResult


# --------------------------------------------------------------------------- reference runs


def lmsplans_command() -> list[str]:
    script = Path(sys.executable).with_name("lmsplans")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from lmsplans.cli.main import main; main()"]


def server_statuses(port: int) -> dict[str, int]:
    """Answers the server counted on the reference route, by status (from `/metrics`)."""
    status, body = http_get(f"http://{HOST}:{port}/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    counts: dict[str, int] = {}
    for line in body.decode().splitlines():
        if not line.startswith("lmsplans_http_requests_total{"):
            continue
        labels_text, _, value = line.rpartition("} ")
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if labels.get("route") == ROUTE:
            counts[labels["status"]] = counts.get(labels["status"], 0) + int(float(value))
    return counts


def check_answers(
    port: int, data: Dataset, pairs: list[tuple[str, str]]
) -> tuple[bytes, list[int]]:
    """Call the endpoint once for each of `pairs`: every answer must be a 200 listing as
    many learning plans as the database holds enrolments for that learner.

    Answers the body whose size is nearest the mean (the ceilings' static body) and every
    body size.
    """
    expected = dataset.enrolment_counts(data, (int(learner_id) for learner_id, _ in pairs))
    bodies: list[bytes] = []
    for learner_id, token in pairs:
        url = f"http://{HOST}:{port}/api/v1/learners/{learner_id}/learning-plans/progress"
        status, body = http_get(url, token)
        if status != 200:
            raise RuntimeError(f"learner {learner_id}: {status} {body[:300]!r}")
        answer = json.loads(body)
        plans = answer.get("learningPlans") or []
        if answer.get("status") != 200 or len(plans) != expected.get(int(learner_id)):
            raise RuntimeError(
                f"learner {learner_id}: {len(plans)} plans, the database has "
                f"{expected.get(int(learner_id))}: {body[:300]!r}"
            )
        bodies.append(body)
    sizes = [len(body) for body in bodies]
    mean = sum(sizes) / len(sizes)
    return min(bodies, key=lambda body: abs(len(body) - mean)), sizes


def calls_per_key(rps: float, seconds: float, keys: int, threads: int, window: float) -> int:
    """Expected calls per limiter key inside one window, with a margin for a faster run:
    one check call, the load's share, and a rotation's boundary effects."""
    return 1 + math.ceil(rps * 1.25 * min(window, seconds) / keys) + threads + 1


def server_env(
    args: argparse.Namespace, data: Dataset, threshold: int, cached: bool, tag: str
) -> dict[str, str]:
    """The environment of `lmsplans serve`: ours, none of the caller's LMSPLANS_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    ours = {
        "LMSPLANS_DATABASE_URL": data.url,
        "LMSPLANS_RATE_LIMIT_THRESHOLD": str(threshold),
        "LMSPLANS_LOG_LEVEL": "warning",
    }
    if data.backend == "postgresql":
        ours["LMSPLANS_REDIS_URL"] = args.redis_url
        ours["LMSPLANS_REDIS_PREFIX"] = f"lmsplans-bench:{tag}:"
    if not cached:
        ours["LMSPLANS_CACHE_ENTRIES"] = "0"
    for item in args.env:
        key, _, value = item.partition("=")
        ours[key] = value
    return env | ours


def warm_up(
    args: argparse.Namespace, server: Server, load: Load, port: int, keys: int
) -> LoadResult:
    """`--warmup` seconds of load, prolonged (up to `MAX_WARMUP_S`) until about `keys`
    requests were made: with the caches on, every benchmarked learner is then cached and
    the measured run sees the steady state, whatever the dataset's size.

    Answers the warm-up as one result (requests, seconds and rate summed up)."""
    first = server.measure(load, port, args.warmup)
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


def raised(
    threshold: int, expected: int, rps: float, keys: int, window: float, args: argparse.Namespace
) -> tuple[int, str]:
    """A threshold the load will not reach, and why it was raised."""
    new = max(threshold + 1, math.ceil(expected * 1.5))
    return new, (
        f"LMSPLANS_RATE_LIMIT_THRESHOLD raised from {threshold} to {new}: at ~{rps:,.0f} req/s, "
        f"{args.warmup:g}+{args.duration:g} s of load over {keys:,} keys is up to ~{expected} "
        f"calls per key per {window:g} s window. The limiter still runs on every request; "
        "more tokens (--tokens) would keep the default."
    )


def bench_reference(
    args: argparse.Namespace,
    data: Dataset,
    *,
    cached: bool,
    sitting: int | None,
    load: Load,
    workdir: Path,
    start: ReferenceRun | None = None,
) -> ReferenceRun:
    """One sitting on `data`. `start` is an earlier sitting of the same configuration: this
    one starts from the threshold that one ended with (raised again if the load needs it)."""
    from lmsplans.server.settings import Settings

    fields = Settings.model_fields
    default_threshold = int(fields["rate_limit_threshold"].default)
    window = float(fields["rate_limit_window_seconds"].default)
    threshold = args.threshold or default_threshold
    note: str | None = None
    if start is not None:
        threshold = start.threshold
        if start.threshold_note is not None:
            note = f"as in sitting {start.sitting}: {start.threshold_note}"
    pairs = read_pairs(data.pairs_file)
    keys = len(pairs)
    sample = pairs[:: max(1, keys // args.check)][: args.check]
    run_name = f"{data.backend}-{data.label}" + ("" if cached else "-uncached")
    run_name += "" if sitting is None else f"-sitting{sitting}"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # The threshold may be raised (and the server restarted) unless it is the user's.
        may_raise = args.threshold is None and attempt < MAX_ATTEMPTS
        tag = f"{os.getpid()}-{int(time.time())}-{run_name}-{attempt}"
        env = server_env(args, data, threshold, cached, tag)
        port = free_port()
        command = pinned(SERVER_CORE, [*lmsplans_command(), "serve", "--host", HOST])
        command += ["--port", str(port)]
        server = Server("lmsplans serve", command, env, workdir / f"{run_name}.log")
        try:
            with running(server, f"http://{HOST}:{port}/healthz"):
                print(f"  checking {len(sample)} answers against the database ...", flush=True)
                body, sizes = check_answers(port, data, sample)
                print(f"  warm-up {args.warmup:g} s (threshold {threshold}) ...", flush=True)
                warmup = warm_up(args, server, load, port, keys if cached else 0)
                expected = calls_per_key(
                    warmup.rps, warmup.seconds + args.duration, keys, load.threads, window
                )
                if may_raise and (expected > threshold or "429" in server_statuses(port)):
                    threshold, note = raised(threshold, expected, warmup.rps, keys, window, args)
                    print(f"  NOTE: {note}", flush=True)
                    continue
                print(f"  measured run {args.duration:g} s ...", flush=True)
                run = server.measure(load, port, args.duration)
                statuses = server_statuses(port)
                if may_raise and "429" in statuses:
                    # Faster than its warm-up: the keys went past the threshold after all.
                    expected = calls_per_key(
                        run.rps, warmup.seconds + args.duration, keys, load.threads, window
                    )
                    threshold, note = raised(threshold, expected, run.rps, keys, window, args)
                    print(f"  NOTE: {statuses['429']} answers 429; {note}", flush=True)
                    continue
        finally:
            if data.backend == "postgresql":
                drop_redis_keys(args.redis_url, f"lmsplans-bench:{tag}:")
        print(
            f"  {run.rps:,.0f} req/s, p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms",
            flush=True,
        )
        lmsplans_env = {k: v for k, v in env.items() if k.startswith("LMSPLANS_")}
        return ReferenceRun(
            dataset=data,
            cached=cached,
            sitting=sitting,
            warmup=warmup,
            run=run,
            threshold=threshold,
            window_seconds=window,
            threshold_note=note,
            statuses=statuses,
            checked=len(sample),
            body=body,
            body_sizes=sizes,
            env=lmsplans_env,
        )
    raise AssertionError("unreachable")


def bench_ceiling(
    args: argparse.Namespace, name: str, body_file: Path, load: Load, workdir: Path
) -> LoadResult:
    port = free_port()
    command = pinned(SERVER_CORE, uvicorn_app_command(CEILINGS[name], port, body_file))
    log = workdir / f"ceiling-{name.replace(' ', '-')}.log"
    server = Server(name, command, dict(os.environ), log)
    with running(server, f"http://{HOST}:{port}/"):
        status, answer = http_get(f"http://{HOST}:{port}/")
        if status != 200 or answer != body_file.read_bytes():
            raise RuntimeError(f"the {name} app does not answer the reference body")
        server.measure(load, port, args.warmup)
        result = server.measure(load, port, args.duration)
    print(
        f"  {name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------- dependencies


def drop_redis_keys(url: str, prefix: str) -> None:
    """Delete this run's limiter keys (bounded: at most 100 SCAN rounds)."""
    with contextlib.suppress(Exception):
        from redis import Redis

        client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            cursor = 0
            for _ in range(100):
                cursor, found = client.scan(cursor=cursor, match=prefix + "*", count=10_000)
                if found:
                    client.delete(*found)
                if cursor == 0:
                    break
        finally:
            client.close()


def check_services(args: argparse.Namespace) -> list[str]:
    """What is missing for the PostgreSQL + Redis runs."""
    problems = []
    try:
        import asyncio

        import asyncpg

        async def ping() -> None:
            conn = await asyncpg.connect(args.pg_admin_url, timeout=5)
            await conn.close()

        asyncio.run(ping())
    except Exception as exc:
        problems.append(f"PostgreSQL at {redact(args.pg_admin_url)}: {exc}")
    try:
        from redis import Redis

        client = Redis.from_url(args.redis_url, socket_timeout=5, socket_connect_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        problems.append(f"Redis at {redact(args.redis_url)}: {exc}")
    return problems


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(parts.password, "***"))
    return urllib.parse.urlunsplit(parts)


# --------------------------------------------------------------------------- main


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the reference endpoint against two static-body ceilings."
    )
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
        help="Benchmarked learners (one token each), sampled from every dataset [10000].",
    )
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measured run [10].")
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="Seconds of warm-up per server [3]; with the caches on, prolonged until every "
        "benchmarked learner was asked for once.",
    )
    parser.add_argument("--connections", type=int, default=64, help="Open connections.")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument(
        "--sittings",
        type=int,
        default=4,
        help="Sittings per dataset with the caches on, alternately ascending and descending "
        "by size [4].",
    )
    parser.add_argument(
        "--uncached",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Also measure each dataset with the server's caches off [yes].",
    )
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
        help="Extra server setting for the reference runs (repeatable).",
    )
    parser.add_argument("--regenerate", action="store_true", help="Rebuild cached datasets.")
    parser.add_argument("--seed", type=int, default=2026, help="Dataset seed.")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="Keep the logs directory.")
    args = parser.parse_args(argv)
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
    return args


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    tool = args.loadgen
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "python":
        print(f"WARNING: {WRK_HINT}\nFalling back to a bounded Python load generator.")
    elif shutil.which("wrk") is None:
        print(WRK_HINT, file=sys.stderr)
        return 2
    if not can_pin():
        print("WARNING: taskset absent or a single core: server and load are not pinned.")
    if "postgresql" in args.backends:
        missing = check_services(args)
        if missing:
            print("Cannot run the PostgreSQL + Redis benchmark:", *missing, sep="\n  ")
            print("Start them, or run `--backends sqlite`.", file=sys.stderr)
            return 2

    info = report.machine(args)
    sizes = sorted(set(args.sizes))
    # With the caches on, `--sittings` per dataset, alternately ascending and descending
    # (10k 1M 1M 10k ...): a steady drift of the machine's speed weighs on every size alike.
    sittings = [
        (size, sitting)
        for sitting in range(1, args.sittings + 1)
        for size in (sizes if sitting % 2 else reversed(sizes))
    ]
    datasets_n = len(args.backends) * len(sizes)
    cached_runs = len(args.backends) * len(sittings)  # warm-ups prolonged up to 30 s
    runs_total = cached_runs + (datasets_n if args.uncached else 0) + 2 * len(CEILINGS)
    per_run = args.warmup + args.duration + 8  # start-up, checks, warm-up, run
    worst = cached_runs * (MAX_WARMUP_S - args.warmup) + runs_total * per_run
    print(
        f"{runs_total} measured runs of {args.duration} s ({cached_runs} with the caches on, "
        f"in {args.sittings} sittings per dataset): at most about {math.ceil(worst / 60)} min "
        "with cached datasets.",
        flush=True,
    )

    print("Datasets (cached under bench/out/):", flush=True)
    datasets: dict[tuple[str, int], Dataset] = {}
    for backend in args.backends:
        for size in args.sizes:
            found = dataset.ensure(
                backend,
                size,
                tokens=args.tokens,
                seed=args.seed,
                pg_admin_url=args.pg_admin_url,
                regenerate=args.regenerate,
            )
            how = (
                f"cached (built {found.generated_at} in {found.build_seconds:.0f} s)"
                if found.reused
                else f"built in {found.build_seconds:.0f} s"
            )
            print(f"  {backend} {found.label}: {how}", flush=True)
            datasets[backend, size] = found

    with work_directory(args.keep) as workdir:
        script = workdir / "rotate.lua"
        script.write_text(WRK_SCRIPT)
        body_file = workdir / "static-body.json"
        references: list[ReferenceRun] = []
        ceilings: list[CeilingRun] = []

        def measure_ceilings(sitting: int) -> None:
            print(f"Ceilings (sitting {sitting}):", flush=True)
            load = Load(
                tool, args.threads, args.connections, script, references[0].dataset.pairs_file
            )
            for name in CEILINGS:
                ceilings.append(
                    CeilingRun(name, sitting, bench_ceiling(args, name, body_file, load, workdir))
                )

        def measure_reference(
            data: Dataset, *, cached: bool, sitting: int | None, start: ReferenceRun | None
        ) -> ReferenceRun:
            what = "caches on" if cached else "caches off"
            what += "" if sitting is None else f", sitting {sitting}"
            print(f"Reference endpoint, {data.backend} {data.label} ({what}):", flush=True)
            load = Load(tool, args.threads, args.connections, script, data.pairs_file)
            ref = bench_reference(
                args, data, cached=cached, sitting=sitting, load=load, workdir=workdir, start=start
            )
            references.append(ref)
            if len(references) == 1:
                body_file.write_bytes(references[0].body)
                measure_ceilings(1)
            return ref

        for backend in args.backends:
            # The default configuration, on which the targets are judged. Each sitting starts
            # from the threshold the previous sitting of its size ended with.
            previous: dict[int, ReferenceRun] = {}
            for size, sitting in sittings:
                ref = measure_reference(
                    datasets[backend, size],
                    cached=True,
                    sitting=sitting,
                    start=previous.get(size),
                )
                if backend == "sqlite":  # its target is a ratio to the bare ASGI ceiling
                    print("Bare ASGI ceiling beside it:", flush=True)
                    load = Load(
                        tool, args.threads, args.connections, script, ref.dataset.pairs_file
                    )
                    ref.beside = bench_ceiling(args, "bare ASGI", body_file, load, workdir)
                previous[size] = ref
            if args.uncached:  # for information: one sitting each
                for size in sizes:
                    measure_reference(
                        datasets[backend, size], cached=False, sitting=None, start=None
                    )
        measure_ceilings(2)

        elapsed = time.monotonic() - started
        text = report.render(args, tool, references, ceilings, datasets, info, elapsed)
        args.output.write_text(text)
        print()
        print(text)
        print(f"Written to {args.output} ({elapsed / 60:.1f} min)")
        return 1 if report.problems(references, ceilings) else 0


if __name__ == "__main__":
    sys.exit(main())
