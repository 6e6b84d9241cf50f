"""`bench/RESULTS.md`: the figures of one run of `bench/reference.py`, judged against the
targets of issue 5, with the machine and versions they were measured on. How they are
taken and how to read them is written once, in `bench/README.md`, which the report links
to; the report holds what this run measured.

The machine and versions, the verdicts and the load generator's output are shared with
`bench/mixed.py`'s report."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import math
import os
import platform
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from backends import postgres_version, redis_version
from dataset import Dataset
from harness import (
    BACKEND_NAMES,
    LOAD_CORE,
    REPO,
    ROUTE,
    SERVER_CORE,
    LoadResult,
    can_pin,
    command_line,
    mean,
    settings_note,
    shown,
)

if TYPE_CHECKING:
    from reference import CeilingRun, ReferenceRun

README = "README.md"  # beside the reports: how the figures are taken and read

# Issue 5's targets.
SQLITE_MIN_RATIO = 0.30  # of the bare ASGI static body
SQLITE_MAX_P99_MS = 25.0
POSTGRES_MAX_P99_MS = 50.0
MIN_SIZE_RATIO = 0.90  # 1M learners within 10% of 10k


# --------------------------------------------------------------------------- machine


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "absent"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
        lines = (done.stdout or done.stderr).splitlines()
        return lines[0].strip() if lines else "?"
    return "?"


def machine(args: argparse.Namespace) -> dict[str, str]:
    """The machine and versions, read before the run."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(REPO)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit = head + (" (with uncommitted changes)" if dirty else "")
    loadavg = "unknown"
    with contextlib.suppress(OSError):
        loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    from lmsplans.server.settings import Settings

    defaults = Settings.model_fields
    info = {
        "loadavg": loadavg,
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "uvicorn": version("uvicorn"),
        "starlette": version("starlette"),
        "uvloop": version("uvloop"),
        "httptools": version("httptools"),
        "orjson": version("orjson"),
        "asyncpg": version("asyncpg"),
        "redis-py": version("redis"),
        "sqlite": sqlite3.sqlite_version,
        "wrk": _first_line(["wrk", "--version"]),
        "commit": commit,
        "cache_entries": str(defaults["cache_entries"].default),
        "db_pool_size": str(defaults["db_pool_size"].default),
    }
    if "postgresql" in args.backends:
        info["postgresql"] = postgres_version(args.pg_admin_url)
        info["redis"] = redis_version(args.redis_url)
    return info


# --------------------------------------------------------------------------- figures


def mean_rps(ceilings: Sequence[CeilingRun], name: str) -> float:
    """The ceiling's throughput, mean of its sittings."""
    return mean([c.result.rps for c in ceilings if c.name == name])


def mean_cpu(ceilings: Sequence[CeilingRun], name: str) -> float:
    """The ceiling's server CPU per request, mean of its sittings."""
    return mean([c.result.cpu_us_per_request for c in ceilings if c.name == name])


@dataclass(frozen=True, slots=True)
class Means:
    """The mean of each figure of a configuration's sittings."""

    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    core_share: float
    machine_busy: float

    @classmethod
    def of(cls, results: Sequence[LoadResult]) -> Means:
        return cls(**{f.name: mean([getattr(r, f.name) for r in results]) for f in fields(Means)})


@dataclass(frozen=True, slots=True)
class Reference:
    """One configuration (backend, dataset size, caches on or off) over its sittings:
    `--sittings` with the caches on, one with them off. The figures of the results, the
    ratios and the targets are the means of the sittings (`mean`); `worst_p99_ms`, on which
    the p99 targets are judged, the highest sitting's."""

    runs: tuple[ReferenceRun, ...]  # in the order measured
    mean: Means

    @property
    def dataset(self) -> Dataset:
        return self.runs[0].dataset

    @property
    def cached(self) -> bool:
        return self.runs[0].cached

    @property
    def name(self) -> str:
        return self.runs[0].configuration

    def bare_ratio(self, bare_mean: float) -> float:
        """Throughput over the bare ASGI ceiling's: with a ceiling measured beside every
        sitting, the mean of the sittings' own ratios (each pair from the same minute, so the
        machine's drift cancels); else over the mean of the ceiling's sittings."""
        return self._to_bare(lambda run, bare: run.rps / bare.rps, self.mean.rps / bare_mean)

    def bare_cpu_ratio(self, bare_cpu_mean: float) -> float:
        """The same by server CPU per request: the ceiling's over this configuration's."""
        return self._to_bare(
            lambda run, bare: bare.cpu_us_per_request / run.cpu_us_per_request,
            bare_cpu_mean / self.mean.cpu_us_per_request,
        )

    def _to_bare(self, ratio: Callable[[LoadResult, LoadResult], float], unpaired: float) -> float:
        if not self.paired:
            return unpaired
        return mean([ratio(r.run, r.beside) for r in self.runs if r.beside])

    @property
    def paired(self) -> bool:
        """Whether every sitting has the bare ASGI ceiling measured beside it."""
        return all(r.beside is not None for r in self.runs)

    @property
    def worst_p99_ms(self) -> float:
        return max(r.run.p99_ms for r in self.runs)


def combine(runs: Sequence[ReferenceRun]) -> list[Reference]:
    """The sittings grouped by configuration: by backend (in the order measured), dataset
    size, then caches on before off."""
    backends = list(dict.fromkeys(r.dataset.backend for r in runs))
    groups: dict[tuple[str, int, bool], list[ReferenceRun]] = {}
    for run in runs:
        groups.setdefault((run.dataset.backend, run.dataset.size, run.cached), []).append(run)
    order = sorted(groups, key=lambda key: (backends.index(key[0]), key[1], not key[2]))
    return [Reference(tuple(groups[key]), Means.of([r.run for r in groups[key]])) for key in order]


def size_ratio(ref: Reference, references: Sequence[Reference], *, by_cpu: bool = False) -> float:
    """This configuration's throughput over the smallest dataset's, same backend and caching
    (means of the sittings); `by_cpu`, the same by server CPU per request (what it would be
    on a quiet core). NaN on the smallest dataset itself."""
    smallest = min(
        (
            r
            for r in references
            if (r.dataset.backend, r.cached) == (ref.dataset.backend, ref.cached)
        ),
        key=lambda r: r.dataset.size,
    )
    if smallest.dataset.size == ref.dataset.size:
        return math.nan
    if by_cpu:
        return smallest.mean.cpu_us_per_request / ref.mean.cpu_us_per_request
    return ref.mean.rps / smallest.mean.rps


def problems(references: Sequence[ReferenceRun], ceilings: Sequence[CeilingRun]) -> list[str]:
    """What makes the run invalid: any answer that was not a 200."""
    found = []
    for ref in references:
        if ref.run.non_2xx or ref.warmup.non_2xx:
            found.append(
                f"{ref.name}: {ref.run.non_2xx + ref.warmup.non_2xx} non-2xx answers "
                "under load (warm-up and measured run)"
            )
        others = {s: n for s, n in ref.statuses.items() if s != "200"}
        if others:
            found.append(f"{ref.name}: the server answered statuses other than 200: {others}")
    for ceiling in ceilings:
        if ceiling.result.non_2xx:
            found.append(f"{ceiling.name} ceiling: {ceiling.result.non_2xx} non-2xx answers")
    return found


def busy_machine(info: dict[str, str]) -> list[str]:
    """A caution when the machine was busy before the run."""
    with contextlib.suppress(ValueError, IndexError):
        busy = float(info["loadavg"].split()[0])
        if busy > 0.5:
            return [
                f"The machine was busy before the run (1-minute load average {busy:.2f}): "
                "other processes compete for the pinned cores."
            ]
    return []


def cautions(
    info: dict[str, str], references: Sequence[ReferenceRun], ceilings: Sequence[CeilingRun]
) -> list[str]:
    """Signs that the figures measure the machine's load rather than the server."""
    found = busy_machine(info)
    results: list[tuple[str, LoadResult, bool]] = [
        (ref.name, ref.run, ref.dataset.backend == "sqlite") for ref in references
    ]
    results += [(f"{c.name} ceiling (sitting {c.sitting})", c.result, True) for c in ceilings]
    for name, result, alone in results:
        # With PostgreSQL the server waits on the database, on the same two cores.
        if alone and result.core_share < 0.9:
            found.append(
                f"{name}: the server process was on its core only {result.core_share:.0%} of "
                "the run although requests were always waiting: other processes took the "
                "core, or the load generator was the bottleneck."
            )
        if result.socket_errors:
            found.append(
                f"{name}: {result.socket_errors} socket error(s) (timeouts are requests "
                "slower than wrk's 2 s, left out of its latency figures)."
            )
    for ref in references:
        if ref.cached and ref.warmup.requests < ref.dataset.tokens:
            found.append(
                f"{ref.name}: the warm-up asked for only {ref.warmup.requests:,} of the "
                f"{ref.dataset.tokens:,} benchmarked learners within its 30 s: the measured run "
                "includes uncached requests."
            )
    for name in {c.name for c in ceilings}:
        figures = [c.result.rps for c in ceilings if c.name == name]
        if len(figures) > 1 and min(figures) < 0.85 * max(figures):
            found.append(
                f"The {name} ceiling moved by more than 15% between its two sittings "
                f"({', '.join(f'{f:,.0f}' for f in figures)} req/s): the machine's load changed "
                "during the run."
            )
    for config in combine(references):
        figures = [r.run.rps for r in config.runs]
        if len(figures) > 1 and min(figures) < 0.85 * max(figures):
            found.append(
                f"{config.name}: its sittings differ by more than 15% in throughput "
                f"({', '.join(f'{f:,.0f}' for f in figures)} req/s): the machine's load changed "
                "during the run. Their mean is used; the sittings' order cancels a steady "
                "drift between dataset sizes, not an uneven one."
            )
    return found


# --------------------------------------------------------------------------- rendering


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "**not met**"


def all_met(values: list[bool]) -> bool | None:
    return all(values) if values else None


def ratio_text(ratio: float) -> str:
    """A ratio to two places, '-' where it was not measured (NaN)."""
    return "-" if math.isnan(ratio) else f"{ratio:.2f}"


def _worst_p99(ref: Reference) -> str:
    """The p99 a target is judged on, the worst sitting's, and every sitting's."""
    if len(ref.runs) == 1:
        return f"{ref.worst_p99_ms:.1f} ms"
    each = ", ".join(f"{r.run.p99_ms:.1f}" for r in ref.runs)
    return f"{ref.worst_p99_ms:.1f} ms (sittings {each} ms)"


def _bare_figure(ref: Reference, bare: float, bare_cpu: float) -> str:
    """The ratio to the bare ASGI ceiling a target is judged on, and how it was taken."""
    by_cpu = f"by CPU per request {ref.bare_cpu_ratio(bare_cpu):.2f}"
    if not ref.paired:
        return f"{ref.mean.rps:,.0f} / {bare:,.0f} = {ref.bare_ratio(bare):.2f} ({by_cpu})"
    each = ", ".join(f"{r.run.rps:,.0f} / {r.beside.rps:,.0f}" for r in ref.runs if r.beside)
    return (
        f"{ref.bare_ratio(bare):.2f}, the mean of each sitting's ratio to the ceiling "
        f"measured beside it ({each}; {by_cpu})"
    )


def targets(references: Sequence[Reference], ceilings: Sequence[CeilingRun]) -> list[str]:
    """The targets of issue 5, judged on the default configuration (caches on): throughput
    and CPU per request by the mean of the sittings, p99 by the worst sitting."""
    bare, bare_cpu = mean_rps(ceilings, "bare ASGI"), mean_cpu(ceilings, "bare ASGI")
    default = [r for r in references if r.cached]
    sqlite = [r for r in default if r.dataset.backend == "sqlite"]
    postgres = [r for r in default if r.dataset.backend == "postgresql"]

    def each(refs: list[Reference], figure: Callable[[Reference], str]) -> str:
        return ", ".join(f"{shown(r.dataset.size)}: {figure(r)}" for r in refs) or "-"

    with_ceiling = [] if math.isnan(bare) else sqlite  # no ceilings, no ratio
    ratio_met = all_met([r.bare_ratio(bare) >= SQLITE_MIN_RATIO for r in with_ceiling])
    rows = [
        "| target (issue 5) | measured | verdict |",
        "|---|---|---|",
        f"| SQLite, one worker, with auth and limiting: at least {SQLITE_MIN_RATIO:.2f} of the "
        "throughput of the bare ASGI static body | "
        + each(with_ceiling, lambda r: _bare_figure(r, bare, bare_cpu))
        + f" | {verdict(ratio_met)} |",
    ]
    rows.append(
        f"| SQLite: p99 at most {SQLITE_MAX_P99_MS:g} ms at 64 connections (the worst "
        "sitting) | "
        + each(sqlite, _worst_p99)
        + f" | {verdict(all_met([r.worst_p99_ms <= SQLITE_MAX_P99_MS for r in sqlite]))} |"
    )
    for backend in ("sqlite", "postgresql"):
        big = [r for r in default if r.dataset.backend == backend]
        ratios = [(r, size_ratio(r, references)) for r in big]
        ratios = [(r, x) for r, x in ratios if not math.isnan(x)]
        smallest = min((r.dataset.size for r in big), default=0)
        measured = ", ".join(
            f"{shown(r.dataset.size)}/{shown(smallest)}: {x:.2f} (by CPU per request "
            f"{size_ratio(r, references, by_cpu=True):.2f})"
            for r, x in ratios
        )
        rows.append(
            f"| {BACKEND_NAMES[backend]}: the largest dataset within 10% of the smallest "
            f"(throughput ratio at least {MIN_SIZE_RATIO:.2f}) | {measured or '-'} "
            f"| {verdict(all_met([x >= MIN_SIZE_RATIO for _, x in ratios]))} |"
        )
    rows.append(
        f"| PostgreSQL + Redis: p99 at most {POSTGRES_MAX_P99_MS:g} ms at 64 connections "
        "(the database shares the 2 cores; the worst sitting) | "
        + each(postgres, _worst_p99)
        + f" | {verdict(all_met([r.worst_p99_ms <= POSTGRES_MAX_P99_MS for r in postgres]))} |"
    )
    return rows


def pinning_note() -> str:
    if can_pin():
        return f"server pinned to core {SERVER_CORE}, load generators to core {LOAD_CORE} (taskset)"
    return "no pinning (taskset absent or a single core)"


def loop_note(info: dict[str, str]) -> str:
    """The event loop and HTTP parser uvicorn picks here ("auto")."""
    return (
        ("uvloop" if info["uvloop"] != "not installed" else "asyncio")
        + " + "
        + ("httptools" if info["httptools"] != "not installed" else "h11")
    )


def header(
    title: str, parser: argparse.ArgumentParser, args: argparse.Namespace, elapsed_s: float
) -> list[str]:
    """The title, the command that made the report, when, and where to read how."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"# {title}",
        "",
        f"Generated by `{command_line(parser, args)}` on {now} ({elapsed_s / 60:.1f} min). "
        f"Do not edit by hand. How the figures are taken and how to read them: "
        f"[`bench/README.md`]({README}).",
        "",
    ]


def datasets_table(datasets: dict[tuple[str, int], Dataset]) -> list[str]:
    """The datasets of a run, with their row counts."""
    lines = [
        f"Made by `bench/dataset.py` ([how]({README}#datasets-benchdatasetpy)).",
        "",
        "| backend | learners | organisations | plan enrolments | course progress rows "
        "| share of enrolled courses | progress events | tokens | built in | this run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (backend, _), d in datasets.items():
        counts = d.counts
        lines.append(
            f"| {BACKEND_NAMES[backend]} | {d.size:,} | {counts['organisations']:,} | "
            f"{counts['plan_enrolments']:,} | {counts['course_progress']:,} | "
            f"{d.progress_share:.0%} | {counts.get('progress_events', 0):,} | "
            f"{d.tokens:,} | {d.build_seconds:.0f} s | "
            + ("cached" if d.reused else "generated")
            + " |"
        )
    return lines


def machine_section(info: dict[str, str]) -> list[str]:
    return [
        "## Machine and versions",
        "",
        f"- nproc {info['nproc']}, CPU {info['cpu']}, memory {info['memory']}, {info['os']}",
        f"- Python {info['python']}, uvicorn {info['uvicorn']}, starlette {info['starlette']}, "
        f"uvloop {info['uvloop']}, httptools {info['httptools']}, orjson {info['orjson']}, "
        f"SQLite {info['sqlite']}, asyncpg {info['asyncpg']}, redis-py {info['redis-py']}"
        + (
            f", PostgreSQL {info['postgresql']}, Redis {info['redis']}"
            if "postgresql" in info
            else ""
        ),
        f"- {info['wrk']}",
        f"- Commit {info['commit']}",
        f"- Load average before the run: {info['loadavg']}",
        f"- Server defaults: `LMSPLANS_CACHE_ENTRIES` {info['cache_entries']}, "
        f"`LMSPLANS_DB_POOL_SIZE` {info['db_pool_size']}; uvicorn loop and http auto "
        f"({loop_note(info)}), access log off",
        "",
    ]


def outputs_section(outputs: Sequence[tuple[str, str]]) -> list[str]:
    """Each load generator's own output, folded."""
    lines = ["## Load generator output", ""]
    for name, raw in outputs:
        lines += ["<details>", f"<summary>{name}</summary>", "", "```", raw.strip(), "```", ""]
        lines += ["</details>", ""]
    return lines


def render(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    tool: str,
    references: Sequence[ReferenceRun],
    ceilings: Sequence[CeilingRun],
    datasets: dict[tuple[str, int], Dataset],
    info: dict[str, str],
    elapsed_s: float,
) -> str:
    bare, starlette = mean_rps(ceilings, "bare ASGI"), mean_rps(ceilings, "Starlette")
    combined = combine(references)
    load = (
        f"`wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency`"
        if tool == "wrk"
        else f"the Python load generator, {args.connections} connections (it saturates before "
        "the server: the figures understate it)"
    )
    sizes = sorted(args.sizes)
    ratio_head = f"{shown(sizes[-1])}/{shown(sizes[0])}" if len(sizes) > 1 else "size ratio"
    bare_cpu = mean_cpu(ceilings, "bare ASGI")

    lines = [
        *header("Reference endpoint benchmark", parser, args, elapsed_s),
        f"`GET {ROUTE}`; {pinning_note()}; load: {load}; {args.tokens:,} benchmarked learners"
        + (
            f"; the ceilings' constant body: {len(references[0].body):,} bytes."
            if ceilings
            else "."
        ),
        "",
        "## Results",
        "",
        f"| backend | learners | server caches | req/s | p50 ms | p99 ms | x bare ASGI "
        f"| x Starlette | {ratio_head} | server CPU µs/req | x bare ASGI by CPU "
        "| server core busy | machine busy |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for config in combined:
        ratio = size_ratio(config, combined)
        lines.append(
            f"| {BACKEND_NAMES[config.dataset.backend]} | {config.dataset.size:,} | "
            f"{'on' if config.cached else 'off'} | {config.mean.rps:,.0f} | "
            f"{config.mean.p50_ms:.2f} | {config.mean.p99_ms:.2f} | "
            f"{ratio_text(config.bare_ratio(bare))} | "
            f"{ratio_text(config.mean.rps / starlette)} | {ratio_text(ratio)} | "
            f"{config.mean.cpu_us_per_request:,.0f} | "
            f"{ratio_text(config.bare_cpu_ratio(bare_cpu))} | "
            f"{config.mean.core_share:.0%} | {config.mean.machine_busy:.0%} |"
        )
    sittings = [ref for ref in references if ref.sitting is not None]
    per_dataset = max((ref.sitting or 0 for ref in sittings), default=0)
    order = ", ".join(
        shown(ref.dataset.size)
        for ref in sittings
        if ref.dataset.backend == sittings[0].dataset.backend
    )
    lines += [
        "",
        f"With the caches on, each row is the mean of {per_dataset} sittings, measured in "
        f"this order for each backend: {order}.",
        "",
        "| backend | learners | sitting | req/s | p50 ms | p99 ms | server CPU µs/req "
        "| server core busy | limiter threshold | bare ASGI beside it, req/s | x bare ASGI |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ref in sittings:
        r = ref.run
        beside = (
            "- | -"
            if ref.beside is None
            else f"{ref.beside.rps:,.0f} | {r.rps / ref.beside.rps:.2f}"
        )
        lines.append(
            f"| {BACKEND_NAMES[ref.dataset.backend]} | {ref.dataset.size:,} | {ref.sitting} | "
            f"{r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.cpu_us_per_request:,.0f} | "
            f"{r.core_share:.0%} | {ref.threshold} | {beside} |"
        )
    lines += [
        "",
        "Ceilings:",
        "",
        "| ceiling | sitting | req/s | p50 ms | p99 ms | server CPU µs/req | server core busy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in ceilings:
        r = c.result
        lines.append(
            f"| {c.name} | {c.sitting} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.cpu_us_per_request:,.0f} | {r.core_share:.0%} |"
        )
    if ceilings:
        lines += [
            f"| bare ASGI | mean | {bare:,.0f} | | | | |",
            f"| Starlette | mean | {starlette:,.0f} | | | | |",
        ]
    else:
        lines += ["| not measured (`--no-ceilings`) | | | | | | |"]
    lines += [
        "",
        "## Targets",
        "",
        *targets(combined, ceilings),
        "",
    ]
    found = cautions(info, references, ceilings)
    if found:
        lines += ["## Cautions", "", *(f"- {c}" for c in found), ""]
    invalid = problems(references, ceilings)
    if invalid:
        lines += ["## INVALID RUN", "", *(f"- {p}" for p in invalid), ""]

    lines += ["## Datasets", "", *datasets_table(datasets), "", "## Runs", ""]
    lines.append(
        f"- {args.warmup:g} s of warm-up before each measured run of {args.duration:g} s "
        "(prolonged with the caches on, at most 30 s); a fresh server for each run."
    )
    for ref in references:
        sizes_seen = sorted(ref.body_sizes)
        threshold = f"threshold {ref.threshold}" + (
            " (`--threshold`)" if args.threshold else " (the default)"
        )
        if ref.threshold_note is not None:
            threshold = f"**threshold raised**: {ref.threshold_note}"
        per_learner = ref.warmup.requests / ref.dataset.tokens
        warm = f"warm-up {ref.warmup.seconds:.0f} s at {ref.warmup.rps:,.0f} req/s" + (
            f" ({per_learner:.1f} requests per benchmarked learner: "
            + (
                "every one cached before the measured run)"
                if per_learner >= 1
                else "**not every one asked for before the measured run**)"
            )
            if ref.cached
            else ""
        )
        lines.append(
            f"- {ref.name}: {ref.checked} answers checked against the database before the "
            f"load (bodies {sizes_seen[0]:,}-{sizes_seen[-1]:,} bytes, mean "
            f"{mean(sizes_seen):,.0f}); the server's own count on the route: "
            + ", ".join(f"{s}: {n:,}" for s, n in sorted(ref.statuses.items()))
            + f"; {warm}; {threshold}; {settings_note(ref.env)}."
        )
    lines += ["", *machine_section(info)]
    outputs = [(ref.name, ref.run.raw) for ref in references]
    outputs += [(f"{c.name} ceiling, sitting {c.sitting}", c.result.raw) for c in ceilings]
    lines += outputs_section(outputs)
    return "\n".join(lines).rstrip() + "\n"
