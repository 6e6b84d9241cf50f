"""Load benchmark of the reference endpoint, on SQLite and on PostgreSQL + Redis, against
two ceilings measured in the same run. One command, from the repository root:

    .venv/bin/python bench/reference.py

What it does, its options and how to read `bench/RESULTS.md`: `bench/README.md`. The exit
status is 1 if any answer under load was not a 200, 2 if something it needs is missing.
Only loopback traffic; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dataset
import report
from dataset import Dataset
from harness import (
    BENCH_DIR,
    HOST,
    MAX_WARMUP_S,
    SERVER_CORE,
    WRK_SCRIPT,
    Load,
    LoadResult,
    Server,
    check_common_options,
    common_parser,
    free_port,
    http_get,
    limiter_defaults,
    lmsplans_serving,
    lmsplans_settings,
    pinned,
    read_pairs,
    ready_to_run,
    route_statuses,
    running,
    shown,
    sitting_order,
    uvicorn_app_command,
    warm_up,
    work_directory,
)

MAX_ATTEMPTS = 3  # server starts per reference sitting (the threshold raised between them)
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
        return f"{self.dataset.backend} {shown(self.dataset.size)}, {caches}"

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


def calls_per_key(rps: float, seconds: float, keys: int, threads: int, window: float) -> int:
    """Expected calls per limiter key inside one window, with a margin for a faster run:
    one check call, the load's share, and a rotation's boundary effects."""
    return 1 + math.ceil(rps * 1.25 * min(window, seconds) / keys) + threads + 1


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
    default_threshold, window = limiter_defaults()
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
        uncached = {} if cached else {"LMSPLANS_CACHE_ENTRIES": "0"}
        serving = lmsplans_serving(
            args,
            data.url,
            data.backend,
            threshold=threshold,
            tag=tag,
            log=workdir / f"{run_name}.log",
            **uncached,
        )
        with serving as (server, port, env):
            print(f"  checking {len(sample)} answers against the database ...", flush=True)
            body, sizes = dataset.check_answers(port, data, sample)
            print(f"  warm-up {args.warmup:g} s (threshold {threshold}) ...", flush=True)
            warmup = warm_up(server, load, port, args.warmup, keys if cached else 0)
            expected = calls_per_key(
                warmup.rps, warmup.seconds + args.duration, keys, load.threads, window
            )
            if may_raise and (expected > threshold or "429" in route_statuses(port)):
                threshold, note = raised(threshold, expected, warmup.rps, keys, window, args)
                print(f"  NOTE: {note}", flush=True)
                continue
            print(f"  measured run {args.duration:g} s ...", flush=True)
            run = server.measure(load, port, args.duration)
            statuses = route_statuses(port)
            if may_raise and "429" in statuses:
                # Faster than its warm-up: the keys went past the threshold after all.
                expected = calls_per_key(
                    run.rps, warmup.seconds + args.duration, keys, load.threads, window
                )
                threshold, note = raised(threshold, expected, run.rps, keys, window, args)
                print(f"  NOTE: {statuses['429']} answers 429; {note}", flush=True)
                continue
        print(
            f"  {run.rps:,.0f} req/s, p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms",
            flush=True,
        )
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
            env=lmsplans_settings(env),
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


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = common_parser(
        "reference.py",
        "Benchmark the reference endpoint against two static-body ceilings.",
        sittings=4,  # with the caches on
    )
    parser.add_argument(
        "--uncached",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Also measure each dataset with the server's caches off [yes].",
    )
    parser.add_argument(
        "--ceilings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Measure the two ceilings (the ratios to them, and the SQLite target) [yes].",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args(argv)
    check_common_options(parser, args)
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    started = time.monotonic()
    tool = ready_to_run(args)
    if tool is None:
        return 2

    info = report.machine(args)
    sizes = sorted(set(args.sizes))
    sittings = sitting_order(sizes, args.sittings)
    datasets_n = len(args.backends) * len(sizes)
    cached_runs = len(args.backends) * len(sittings)  # warm-ups prolonged up to 30 s
    # Both ceilings twice, and bare ASGI beside every SQLite sitting.
    beside = len(sittings) if "sqlite" in args.backends else 0
    ceiling_runs = 2 * len(CEILINGS) + beside if args.ceilings else 0
    runs_total = cached_runs + (datasets_n if args.uncached else 0) + ceiling_runs
    per_run = args.warmup + args.duration + 8  # start-up, checks, warm-up, run
    worst = cached_runs * (MAX_WARMUP_S - args.warmup) + runs_total * per_run
    print(
        f"{runs_total} measured runs of {args.duration:g} s ({cached_runs} with the caches on, "
        f"in {args.sittings} sittings per dataset): at most about {math.ceil(worst / 60)} min "
        "with cached datasets.",
        flush=True,
    )

    datasets = dataset.ensure_all(args)

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
            if len(references) == 1 and args.ceilings:
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
                if backend == "sqlite" and args.ceilings:  # its target: a ratio to bare ASGI
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
        if args.ceilings:
            measure_ceilings(2)

        elapsed = time.monotonic() - started
        text = report.render(parser, args, tool, references, ceilings, datasets, info, elapsed)
        args.output.write_text(text)
        print()
        print(text)
        print(f"Written to {args.output} ({elapsed / 60:.1f} min)")
        return 1 if report.problems(references, ceilings) else 0


if __name__ == "__main__":
    sys.exit(main())
