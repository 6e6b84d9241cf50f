"""Mixed workload (issue 15): the reference endpoint read while course progress is
recorded, on SQLite and on PostgreSQL + Redis. From the repository root:

    .venv/bin/python bench/mixed.py

Each sitting is one `lmsplans serve` worker on one dataset, through six phases: reads
alone, reads while 10 and then 100 progress writes a second arrive, reads alone again,
then writes alone on 1 and on 16 connections. The writes come from a second process
(`loadgen.py writes`), from learners other than the readers, each with their own token;
every write is undone after the sitting. What it does, its options and how to read
`bench/RESULTS-mixed.md`: `bench/README.md`. The exit status is 1 if any answer was not a
200 (or a write's answer did not hold what it recorded), 2 if something it needs is missing.
Only loopback traffic; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dataset
import mixed_report
import report
from dataset import Dataset
from harness import (
    BENCH_DIR,
    LOAD_CORE,
    MAX_WARMUP_S,
    WRK_SCRIPT,
    Load,
    LoadResult,
    Server,
    check_common_options,
    common_parser,
    csv_of,
    limiter_defaults,
    lmsplans_serving,
    lmsplans_settings,
    pinned,
    read_pairs,
    ready_to_run,
    route_statuses,
    sitting_order,
    warm_up,
    work_directory,
    write_pairs,
    write_targets,
)
from mixed_report import reads_alone, reads_with, writes_alone

WRITE_ROUTE = "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress"
# Bounds of what a phase could reach here (above the bare ASGI ceiling of this machine),
# from which the limiter's threshold is set so that no key can reach it.
MAX_READS_PER_S = 40_000
MAX_WRITES_PER_S = 20_000


@dataclass(frozen=True, slots=True)
class WriteResult:
    """One run of the write load generator, as it reported it (`loadgen.py writes`)."""

    mode: str  # paced | closed
    sent: int
    ok: int  # answered 200 with the state the write recorded
    wrong: int  # answered 200 without it
    errors: int  # connection errors
    starved: int  # not sent: every target was in flight
    statuses: dict[str, int]
    seconds: float
    achieved_per_s: float
    p50_ms: float
    p99_ms: float
    problems: list[str]
    rate: float | None = None
    requested: int | None = None
    unanswered: int = 0
    connections: int | None = None
    max_connections: int | None = None
    send_lag_p99_ms: float | None = None
    raw: str = field(repr=False, default="")

    @classmethod
    def of(cls, output: str) -> WriteResult:
        return cls(**json.loads(output), raw=output)

    @property
    def not_ok(self) -> int:
        """Writes that do not count: not 200, not what they recorded, or not answered."""
        return self.sent - self.ok + self.unanswered + self.starved


@dataclass(slots=True)
class Phase:
    """One phase of a sitting: reads, writes, or both at once."""

    name: str
    reads: LoadResult | None
    writes: WriteResult | None
    cpu_s: float  # the server's CPU time over the phase
    seconds: float
    statuses: dict[str, dict[str, int]]  # the server's own counts, "reads" and "writes"

    @property
    def core_share(self) -> float:
        return self.cpu_s / self.seconds if self.seconds else math.nan


@dataclass(slots=True)
class Sitting:
    """One server on one dataset through every phase."""

    dataset: Dataset
    number: int
    threshold: int
    readers: int
    writers: int  # learners with something to write
    targets: int  # (learner, course) rows written in turn
    checked: int
    warmup: LoadResult
    env: dict[str, str]
    phases: list[Phase] = field(default_factory=list)
    events_written: int = 0
    not_restored: list[str] = field(default_factory=list)  # tables not as they were

    @property
    def name(self) -> str:
        return (
            f"{self.dataset.backend} {self.dataset.label.replace('m', 'M')}, sitting {self.number}"
        )

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)


def threshold_for(args: argparse.Namespace, readers: int, writers: int) -> int:
    """A limiter threshold no key can reach in a sitting, at the most this machine could
    serve (`MAX_READS_PER_S`, `MAX_WRITES_PER_S`), so the limiter runs on every call
    without refusing one."""
    default, window = limiter_defaults()
    reading = 2 * MAX_WARMUP_S + (2 + len(args.rates)) * args.duration
    writing = (len(args.rates) + len(args.write_connections)) * args.duration
    per_reader = MAX_READS_PER_S * min(window, reading) / readers
    per_writer = MAX_WRITES_PER_S * min(window, writing) / max(1, writers)
    return int(max(default, math.ceil(1.25 * max(per_reader, per_writer))))


def writer_command(
    port: int, targets: Path, seconds: float, start_at: float, **shape: Any
) -> list[str]:
    command = [sys.executable, str(BENCH_DIR / "loadgen.py"), "writes", "--port", str(port)]
    command += ["--targets", str(targets), "--duration", f"{seconds:g}"]
    command += ["--start-at", f"{start_at:.3f}"]
    for key, value in shape.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    return pinned(LOAD_CORE, command)


def run_phase(
    server: Server,
    port: int,
    name: str,
    *,
    seconds: float,
    reads: Load | None,
    writes: list[str] | None,
    start_at: float,
) -> Phase:
    """Reads (wrk or the Python generator) and writes (a second process), started together
    at `start_at` and run for `seconds`; the server's own counts and CPU time over them."""
    before = {"reads": route_statuses(port), "writes": route_statuses(port, WRITE_ROUTE)}
    writer = None
    if writes is not None:
        writer = subprocess.Popen(writes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(max(0.0, start_at - time.time()))
        since = server.usage()
        read_result = None if reads is None else reads.run(port, seconds)
        write_result = None
        if writer is not None:
            out, err = writer.communicate(timeout=seconds + 60)
            if writer.returncode != 0:
                raise RuntimeError(f"the write load generator failed:\n{out}{err}")
            write_result = WriteResult.of(out)
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)
    usage = server.usage()
    elapsed = max(seconds, write_result.seconds if write_result else 0.0)
    if read_result is not None:
        read_result = server.with_usage(read_result, since)
        elapsed = max(elapsed, read_result.seconds)
    after = {"reads": route_statuses(port), "writes": route_statuses(port, WRITE_ROUTE)}
    statuses = {
        kind: {
            s: n - before[kind].get(s, 0)
            for s, n in after[kind].items()
            if n > before[kind].get(s, 0)
        }
        for kind in after
    }
    phase = Phase(name, read_result, write_result, usage.cpu_s - since.cpu_s, elapsed, statuses)
    print(f"  {name}: {phase_summary(phase)}", flush=True)
    return phase


def phase_summary(phase: Phase) -> str:
    parts = []
    if phase.reads is not None:
        r = phase.reads
        parts.append(f"reads {r.rps:,.0f}/s p99 {r.p99_ms:.1f} ms")
    if phase.writes is not None:
        w = phase.writes
        parts.append(
            f"writes {w.achieved_per_s:,.1f}/s p50 {w.p50_ms:.1f} ms p99 {w.p99_ms:.1f} ms"
            + (f", {w.not_ok} not counted" if w.not_ok else "")
        )
    return "; ".join(parts)


def bench_sitting(
    args: argparse.Namespace, data: Dataset, number: int, tool: str, workdir: Path
) -> Sitting:
    """One server on `data` through every phase, then its writes undone."""
    pairs = read_pairs(data.pairs_file)
    readers, others = pairs[: args.readers], pairs[args.readers :]
    tokens = {int(learner_id): token for learner_id, token in others}
    rows = dataset.progress_to_move(data, tokens)
    targets = [(learner, tokens[learner], course, pct) for learner, course, pct, _ in rows]
    random.Random(f"{args.seed}:writes").shuffle(targets)  # consecutive writes: other learners
    writers = len({target[0] for target in targets})
    if len(targets) < 10:
        raise RuntimeError(f"{data.backend} {data.label}: only {len(targets)} rows to write")
    name = f"{data.backend}-{data.label}-sitting{number}"
    readers_file, targets_file = workdir / f"{name}.readers", workdir / f"{name}.targets"
    write_pairs(readers_file, readers)
    write_targets(targets_file, targets)
    threshold = args.threshold or threshold_for(args, len(readers), writers)
    tag = f"{os.getpid()}-{int(time.time())}-mixed-{name}"
    script = workdir / "rotate.lua"
    script.write_text(WRK_SCRIPT)
    load = Load(tool, args.threads, args.connections, script, readers_file)
    before = dataset.marks(data)
    sample = readers[:: max(1, len(readers) // args.check)][: args.check]
    serving = lmsplans_serving(
        args, data.url, data.backend, threshold=threshold, tag=tag, log=workdir / f"{name}.log"
    )
    try:
        with serving as (server, port, env):
            print(f"  checking {len(sample)} answers against the database ...", flush=True)
            dataset.check_answers(port, data, sample)
            print(f"  warm-up {args.warmup:g} s (threshold {threshold}) ...", flush=True)
            warm = warm_up(server, load, port, args.warmup, len(readers))
            sitting = Sitting(
                data, number, threshold, len(readers), writers, len(targets), len(sample),
                warm, lmsplans_settings(env),
            )  # fmt: skip

            def phase(name: str, *, reads: bool, **shape: Any) -> None:
                start_at = time.time() + 1.0  # for the writer process to be ready
                writes = None
                if shape:
                    writes = writer_command(port, targets_file, args.duration, start_at, **shape)
                sitting.phases.append(
                    run_phase(server, port, name, seconds=args.duration,
                              reads=load if reads else None, writes=writes, start_at=start_at)
                )  # fmt: skip

            phase(reads_alone(1), reads=True)
            for rate in args.rates:
                phase(reads_with(rate), reads=True, rate=rate)
            print(f"  warm-up {args.warmup:g} s ...", flush=True)
            warm_up(server, load, port, args.warmup, len(readers))
            phase(reads_alone(2), reads=True)
            for connections in args.write_connections:
                phase(writes_alone(connections), reads=False, connections=connections)
    finally:
        events = dataset.events_after(data, before["progress_events"])
        dataset.restore(
            data,
            event_mark=before["progress_events"],
            change_mark=before["changes"],
            rows=rows,
        )
    sitting.events_written = events
    restored = dataset.marks(data)
    sitting.not_restored = [t for t in before if restored[t] != before[t]]
    print(f"  {sitting.events_written:,} events written, then undone", flush=True)
    return sitting


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = common_parser(
        "mixed.py",
        "Benchmark reads of the reference endpoint while progress is recorded.",
        sittings=2,
    )
    parser.add_argument(
        "--rates",
        type=csv_of(float),
        default=[10.0, 100.0],
        help="Progress writes a second that arrive during reads [10,100].",
    )
    parser.add_argument(
        "--write-connections",
        type=csv_of(int),
        default=[1, 16],
        help="Connections of the writes alone [1,16].",
    )
    parser.add_argument(
        "--readers",
        type=int,
        default=5_000,
        help="Learners whose tokens read (the first of the dataset's); the others write [5000].",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS-mixed.md")
    args = parser.parse_args(argv)
    check_common_options(parser, args)
    if not args.rates or not args.write_connections:
        parser.error("give at least one rate and one count of write connections")
    if any(not 0 < rate <= 10_000 for rate in args.rates):
        parser.error("--rates must be in (0, 10000]")
    if any(not 0 < n <= 1_000 for n in args.write_connections):
        parser.error("--write-connections must be in (0, 1000]")
    if not 0 < args.readers < args.tokens:
        parser.error("--readers must be positive and fewer than --tokens (the others write)")
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    started = time.monotonic()
    tool = ready_to_run(args)
    if tool is None:
        return 2
    order = sitting_order(args.sizes, args.sittings)
    phases = 2 + len(args.rates) + len(args.write_connections)
    per_sitting = MAX_WARMUP_S + args.warmup + phases * (args.duration + 2) + 10
    total = len(args.backends) * len(order) * per_sitting
    print(
        f"{len(args.backends) * len(order)} sittings of {phases} phases of {args.duration:g} s: "
        f"at most about {math.ceil(total / 60)} min with cached datasets.",
        flush=True,
    )
    info = report.machine(args)
    datasets = dataset.ensure_all(args)
    sittings: list[Sitting] = []
    with work_directory(args.keep) as workdir:
        for backend in args.backends:
            for size, number in order:
                data = datasets[backend, size]
                print(f"Mixed workload, {data.backend} {data.label}, sitting {number}:", flush=True)
                sittings.append(bench_sitting(args, data, number, tool, workdir))
    elapsed = time.monotonic() - started
    text = mixed_report.render(parser, args, tool, sittings, datasets, info, elapsed)
    args.output.write_text(text)
    print()
    print(text.split("## Datasets")[0])
    print(f"Written to {args.output} ({elapsed / 60:.1f} min)")
    return 1 if mixed_report.problems(sittings) else 0


if __name__ == "__main__":
    sys.exit(main())
