"""`bench/RESULTS-mixed.md`: the figures of one run of `bench/mixed.py`, judged against
the targets of issue 15. How they are taken and read is written once, in `bench/README.md`,
which the report links to; the report holds what this run measured."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from dataset import Dataset
from harness import BACKEND_NAMES, ROUTE, mean, settings_note, shown
from report import (
    README,
    all_met,
    busy_machine,
    datasets_table,
    header,
    machine_section,
    outputs_section,
    pinning_note,
    ratio_text,
    verdict,
)

if TYPE_CHECKING:
    from mixed import Phase, Sitting

# Issue 15's targets.
MIN_READ_RATIO = {10.0: 0.85, 100.0: 0.60}  # reads while writes arrive / reads alone
MAX_READ_P99_MS = 25.0  # at 64 connections while 10 writes/s arrive
P99_RATE = 10.0
MIN_ACHIEVED = 0.95  # of a requested write rate, every write answered 200
MAX_WRITE_SLOWDOWN = 3.0  # median write under reads / median write alone (1 connection)
MIN_WRITES_ALONE = {"sqlite": 1_500, "postgresql": 1_000}  # a second, 16 connections
WRITES_ALONE_CONNECTIONS = 16


def reads_alone(n: int) -> str:
    """The name of a sitting's `n`th read-only phase."""
    return f"reads alone ({n})"


def reads_with(rate: float) -> str:
    return f"reads + {rate:g} writes/s"


def writes_alone(connections: int) -> str:
    return f"writes alone, {connections} connection{'s' if connections > 1 else ''}"


def reads_alone_rps(sitting: Sitting) -> float:
    """The sitting's read-only throughput: the mean of its two read-only phases."""
    return mean([p.reads.rps for p in sitting.phases if p.reads and p.writes is None])


def read_ratio(sitting: Sitting, rate: float) -> float:
    """Reads while `rate` writes a second arrive over reads alone, in the same sitting."""
    reads = sitting.phase(reads_with(rate)).reads
    assert reads is not None
    return reads.rps / reads_alone_rps(sitting)


def read_p99(sitting: Sitting, rate: float) -> float:
    reads = sitting.phase(reads_with(rate)).reads
    assert reads is not None
    return reads.p99_ms


def write_slowdown(sitting: Sitting, rate: float) -> float:
    """Median write latency while reads run over the median of writes alone, 1 connection."""
    under, alone = sitting.phase(reads_with(rate)).writes, sitting.phase(writes_alone(1)).writes
    assert under is not None and alone is not None
    return under.p50_ms / alone.p50_ms


def write_rate(sitting: Sitting, phase: str) -> float:
    """The writes a second achieved in a phase (answered 200 with what they recorded)."""
    writes = sitting.phase(phase).writes
    assert writes is not None
    return writes.achieved_per_s


@dataclass(frozen=True, slots=True)
class Target:
    """A target of issue 15 on one backend, judged on every dataset size that has its
    phase: on the mean of the sittings' figures (`at_least`), or on the worst one."""

    statement: str
    phase: str  # the phase it is judged on
    figure: Callable[[Sitting], float]
    bound: float
    at_least: bool  # at least the bound (by the mean), else at most (by the worst)
    unit: str  # "%.2f" style, with its unit
    needs: tuple[str, ...] = ()  # other phases the figure reads

    def judge(self, group: Sequence[Sitting]) -> tuple[str, bool]:
        values = [self.figure(s) for s in group]
        value = mean(values) if self.at_least else max(values)
        ok = value >= self.bound if self.at_least else value <= self.bound
        text = self.unit % value
        if len(values) > 1:
            text += " (sittings " + ", ".join(self.unit % v for v in values) + ")"
        return text, ok


def backend_targets(backend: str) -> list[Target]:
    found = []
    for rate, minimum in MIN_READ_RATIO.items():
        found.append(Target(
            f"reads while {rate:g} writes/s arrive: at least {minimum:.2f} of the reads alone "
            "of the same sitting (the mean of the sittings)",
            reads_with(rate), partial(read_ratio, rate=rate), minimum, True, "%.2f",
        ))  # fmt: skip
    found.append(Target(
        f"p99 of reads at 64 connections while {P99_RATE:g} writes/s arrive: at most "
        f"{MAX_READ_P99_MS:g} ms (the worst sitting)",
        reads_with(P99_RATE), lambda s: read_p99(s, P99_RATE), MAX_READ_P99_MS, False, "%.1f ms",
    ))  # fmt: skip
    for rate in MIN_READ_RATIO:
        found.append(Target(
            f"{rate:g} writes/s requested while reads run: achieved (at least "
            f"{MIN_ACHIEVED:.0%} of it, answered 200; the mean of the sittings)",
            reads_with(rate), partial(write_rate, phase=reads_with(rate)),
            MIN_ACHIEVED * rate, True, "%.1f/s",
        ))  # fmt: skip
        found.append(Target(
            f"median write latency while reads run and {rate:g} writes/s arrive: at most "
            f"{MAX_WRITE_SLOWDOWN:g}x the median of a write alone (1 connection; the worst "
            "sitting)",
            reads_with(rate), partial(write_slowdown, rate=rate), MAX_WRITE_SLOWDOWN,
            False, "%.1fx", needs=(writes_alone(1),),
        ))  # fmt: skip
    phase = writes_alone(WRITES_ALONE_CONNECTIONS)
    found.append(Target(
        f"writes alone with {WRITES_ALONE_CONNECTIONS} connections: at least "
        f"{MIN_WRITES_ALONE[backend]:,}/s (the mean of the sittings)",
        phase, lambda s: write_rate(s, phase), MIN_WRITES_ALONE[backend], True, "%.0f/s",
    ))  # fmt: skip
    return found


def targets(sittings: Sequence[Sitting]) -> list[str]:
    """The targets of issue 15 on each backend, over its dataset sizes."""
    rows = ["| target (issue 15) | measured | verdict |", "|---|---|---|"]
    for backend in ("sqlite", "postgresql"):
        sizes = sorted({s.dataset.size for s in sittings if s.dataset.backend == backend})
        groups = [
            [s for s in sittings if s.dataset.backend == backend and s.dataset.size == size]
            for size in sizes
        ]
        for target in backend_targets(backend):
            judged = [
                (group[0].dataset.size, *target.judge(group))
                for group in groups
                if {target.phase, *target.needs} <= {p.name for p in group[0].phases}
            ]
            measured = ", ".join(f"{shown(size)}: {text}" for size, text, _ in judged) or "-"
            met = all_met([ok for _, _, ok in judged])
            rows.append(
                f"| {BACKEND_NAMES[backend]}: {target.statement} | {measured} | {verdict(met)} |"
            )
    return rows


def problems(sittings: Sequence[Sitting]) -> list[str]:
    """What makes the run invalid: any read not answered 200, any write not counted."""
    found = []
    for sitting in sittings:
        # Each write moves a percentage, and the service appends one event for each change.
        counted = sum(p.writes.ok for p in sitting.phases if p.writes)
        if sitting.events_written != counted:
            found.append(
                f"{sitting.name}: {counted:,} writes counted, but {sitting.events_written:,} "
                "progress events written: some writes did not change what they were counted for"
            )
        for phase in sitting.phases:
            where = f"{sitting.name}, {phase.name}"
            if phase.reads is not None and phase.reads.non_2xx:
                found.append(f"{where}: {phase.reads.non_2xx} reads not 2xx")
            for kind, statuses in phase.statuses.items():
                others = {s: n for s, n in statuses.items() if s != "200"}
                if others:
                    found.append(f"{where}: the server answered {kind} with {others}")
            w = phase.writes
            if w is not None and w.not_ok:
                found.append(
                    f"{where}: {w.not_ok} writes not counted (answers {w.statuses}, {w.wrong} "
                    f"without the state recorded, {w.errors} connection errors, "
                    f"{w.unanswered} unanswered, {w.starved} not sent); "
                    + "; ".join(w.problems[:3])
                )
    return found


def cautions(info: dict[str, str], sittings: Sequence[Sitting]) -> list[str]:
    """Signs that the figures measure the machine or the instrument, not the server."""

    found = busy_machine(info)
    for sitting in sittings:
        first, second = (sitting.phase(reads_alone(n)).reads for n in (1, 2))
        if first and second and min(first.rps, second.rps) < 0.85 * max(first.rps, second.rps):
            found.append(
                f"{sitting.name}: its two read-only phases differ by more than 15% "
                f"({first.rps:,.0f} and {second.rps:,.0f} req/s): the machine's load changed "
                "during the sitting. The ratios use their mean."
            )
        for phase in sitting.phases:
            lag = phase.writes.send_lag_p99_ms if phase.writes else None
            if lag is not None and lag > 5:
                found.append(
                    f"{sitting.name}, {phase.name}: the writer sent 1% of its writes more than "
                    f"{lag:.0f} ms late (its core was busy); their latency counts from when "
                    "they were due, so it includes that delay."
                )
        if sitting.not_restored:
            found.append(
                f"{sitting.name}: after undoing its writes, these tables are not as they "
                f"were: {', '.join(sitting.not_restored)} (the next sittings read them so)."
            )
        if sitting.warmup.requests < sitting.readers:
            found.append(
                f"{sitting.name}: the warm-up asked for only {sitting.warmup.requests:,} of "
                f"the {sitting.readers:,} readers."
            )
    return found


def _cells(phase: Phase, sitting: Sitting) -> str:
    r, w = phase.reads, phase.writes
    reads = (
        "- | - | - | -"
        if r is None
        else f"{r.rps:,.0f} | {ratio_text(r.rps / reads_alone_rps(sitting))} | "
        f"{r.p50_ms:.2f} | {r.p99_ms:.2f}"
    )
    if w is None:
        writes = "- | - | - | - | -"
    else:
        asked = f"{w.rate:g}/s" if w.rate else f"{w.connections} conn."
        writes = (
            f"{asked} | {w.achieved_per_s:,.1f} | {w.p50_ms:.2f} | {w.p99_ms:.2f} | {w.not_ok:,}"
        )
    return f"{reads} | {writes} | {phase.core_share:.0%}"


def render(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    tool: str,
    sittings: Sequence[Sitting],
    datasets: dict[tuple[str, int], Dataset],
    info: dict[str, str],
    elapsed_s: float,
) -> str:
    reads = (
        f"`wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency`"
        if tool == "wrk"
        else f"the Python load generator, {args.connections} connections"
    )
    lines = [
        *header("Mixed workload benchmark", parser, args, elapsed_s),
        f"Reads: `GET {ROUTE}`, {reads}, rotating over {args.readers:,} readers. Writes: "
        "`PUT /api/v1/courses/{courseId}/learners/{learnerId}/course-progress` from a second "
        "process (`bench/loadgen.py writes`), each by a learner who is not a reader, with "
        f"their own token, moving a percentage. {pinning_note().capitalize()}; each phase "
        f"{args.duration:g} s. [How it works]({README}#mixed-workload-issue-15).",
        "",
        "## Results",
        "",
        "| backend | learners | sitting | phase | reads req/s | x reads alone | reads p50 ms "
        "| reads p99 ms | writes asked | writes achieved /s | write p50 ms | write p99 ms "
        "| writes not counted | server core busy |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sitting in sittings:
        for phase in sitting.phases:
            lines.append(
                f"| {BACKEND_NAMES[sitting.dataset.backend]} | {sitting.dataset.size:,} | "
                f"{sitting.number} | {phase.name} | {_cells(phase, sitting)} |"
            )
    lines += ["", "## Targets", "", *targets(sittings), ""]
    found = cautions(info, sittings)
    if found:
        lines += ["## Cautions", "", *(f"- {c}" for c in found), ""]
    invalid = problems(sittings)
    if invalid:
        lines += ["## INVALID RUN", "", *(f"- {p}" for p in invalid), ""]
    lines += ["## Datasets", "", *datasets_table(datasets), "", "## Sittings", ""]
    for s in sittings:
        counts = "; ".join(
            f"{p.name}: "
            + ", ".join(
                f"{kind} {'/'.join(f'{st} {n:,}' for st, n in sorted(c.items()))}"
                for kind, c in p.statuses.items()
                if c
            )
            for p in s.phases
        )
        lines.append(
            f"- {s.name}: {s.checked} answers checked against the database; warm-up "
            f"{s.warmup.seconds:.0f} s; {s.readers:,} readers, {s.writers:,} writers over "
            f"{s.targets:,} courses in progress; threshold {s.threshold:,}; "
            f"{s.events_written:,} progress events written, then undone; {settings_note(s.env)}. "
            f"The server's own counts: {counts}."
        )
    lines += ["", *machine_section(info)]
    outputs = []
    for s in sittings:
        for p in s.phases:
            if p.reads is not None:
                outputs.append((f"{s.name}, {p.name}: reads", p.reads.raw))
            if p.writes is not None:
                outputs.append((f"{s.name}, {p.name}: writes", p.writes.raw))
    lines += outputs_section(outputs)
    return "\n".join(lines).rstrip() + "\n"
