"""`bench/RESULTS.md`: the figures of one run of `bench/reference.py`, judged against the
targets of issue 5, with the machine and versions they were measured on.

With the caches on, each dataset is measured in several sittings (`--sittings`, 4: 10k, 1M,
1M, 10k, 10k, 1M, 1M, 10k): the results, the ratios and the targets use their mean
(throughput, latencies, CPU per request), the p99 targets the worst sitting; every sitting
is listed too."""

from __future__ import annotations

import argparse
import asyncio
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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dataset import Dataset, label
from harness import LOAD_CORE, REPO, ROUTE, SERVER_CORE, LoadResult, can_pin

if TYPE_CHECKING:
    from reference import CeilingRun, ReferenceRun

RUN_COMMAND = ".venv/bin/python bench/reference.py"

# Issue 5's targets.
SQLITE_MIN_RATIO = 0.30  # of the bare ASGI static body
SQLITE_MAX_P99_MS = 25.0
POSTGRES_MAX_P99_MS = 50.0
MIN_SIZE_RATIO = 0.90  # 1M learners within 10% of 10k
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL + Redis"}


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


def _postgres_version(admin_url: str) -> str:
    async def read() -> str:
        import asyncpg

        conn = await asyncpg.connect(admin_url, timeout=5)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return asyncio.run(read())
    except Exception:
        return "unknown"


def _redis_version(url: str) -> str:
    try:
        from redis import Redis

        client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            return str(client.info("server").get("redis_version", "unknown"))
        finally:
            client.close()
    except Exception:
        return "unknown"


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
        info["postgresql"] = _postgres_version(args.pg_admin_url)
        info["redis"] = _redis_version(args.redis_url)
    return info


# --------------------------------------------------------------------------- figures


def shown(size: int) -> str:
    """10000 -> '10k', 1000000 -> '1M'."""
    return label(size).replace("m", "M")


def mean_cpu(ceilings: Sequence[CeilingRun], name: str) -> float:
    """The ceiling's server CPU per request, mean of its sittings."""
    figures = [c.result.cpu_us_per_request for c in ceilings if c.name == name]
    return sum(figures) / len(figures) if figures else math.nan


def mean_rps(ceilings: Sequence[CeilingRun], name: str) -> float:
    figures = [c.result.rps for c in ceilings if c.name == name]
    return sum(figures) / len(figures) if figures else math.nan


@dataclass(frozen=True, slots=True)
class Reference:
    """One configuration (backend, dataset size, caches on or off) over its sittings:
    `--sittings` with the caches on, one with them off. The figures of the results, the
    ratios and the targets: throughput, latencies, CPU per request and busy shares are the
    mean of the sittings; `worst_p99_ms`, on which the p99 targets are judged, the highest
    sitting's."""

    runs: tuple[ReferenceRun, ...]  # in the order measured

    @property
    def dataset(self) -> Dataset:
        return self.runs[0].dataset

    @property
    def cached(self) -> bool:
        return self.runs[0].cached

    @property
    def name(self) -> str:
        return self.runs[0].configuration

    def _mean(self, figure: Callable[[LoadResult], float]) -> float:
        return sum(figure(r.run) for r in self.runs) / len(self.runs)

    @property
    def rps(self) -> float:
        return self._mean(lambda r: r.rps)

    @property
    def p50_ms(self) -> float:
        return self._mean(lambda r: r.p50_ms)

    @property
    def p99_ms(self) -> float:
        return self._mean(lambda r: r.p99_ms)

    def bare_ratio(self, bare_mean: float) -> float:
        """Throughput over the bare ASGI ceiling's: with a ceiling measured beside every
        sitting, the mean of the sittings' own ratios (each pair from the same minute, so the
        machine's drift cancels); else over the mean of the ceiling's sittings."""
        if self.paired:
            return sum(r.run.rps / r.beside.rps for r in self.runs if r.beside) / len(self.runs)
        return self.rps / bare_mean

    def bare_cpu_ratio(self, bare_cpu_mean: float) -> float:
        """The same by server CPU per request: the ceiling's over this configuration's."""
        if self.paired:
            return sum(
                r.beside.cpu_us_per_request / r.run.cpu_us_per_request
                for r in self.runs
                if r.beside
            ) / len(self.runs)
        return bare_cpu_mean / self.cpu_us_per_request

    @property
    def paired(self) -> bool:
        """Whether every sitting has the bare ASGI ceiling measured beside it."""
        return all(r.beside is not None for r in self.runs)

    @property
    def worst_p99_ms(self) -> float:
        return max(r.run.p99_ms for r in self.runs)

    @property
    def cpu_us_per_request(self) -> float:
        return self._mean(lambda r: r.cpu_us_per_request)

    @property
    def core_share(self) -> float:
        return self._mean(lambda r: r.core_share)

    @property
    def machine_busy(self) -> float:
        return self._mean(lambda r: r.machine_busy)


def combine(runs: Sequence[ReferenceRun]) -> list[Reference]:
    """The sittings grouped by configuration: by backend (in the order measured), dataset
    size, then caches on before off."""
    backends = list(dict.fromkeys(r.dataset.backend for r in runs))
    groups: dict[tuple[str, int, bool], list[ReferenceRun]] = {}
    for run in runs:
        groups.setdefault((run.dataset.backend, run.dataset.size, run.cached), []).append(run)
    order = sorted(groups, key=lambda key: (backends.index(key[0]), key[1], not key[2]))
    return [Reference(tuple(groups[key])) for key in order]


def smallest_like(ref: Reference, references: Sequence[Reference]) -> Reference:
    """The configuration on the smallest dataset of the same backend and caching."""
    same = [
        r for r in references if r.dataset.backend == ref.dataset.backend and r.cached == ref.cached
    ]
    return min(same, key=lambda r: r.dataset.size)


def size_ratio(ref: Reference, references: Sequence[Reference]) -> float:
    """This configuration's throughput over the smallest dataset's, same backend and caching
    (means of the sittings)."""
    smallest = smallest_like(ref, references)
    if smallest.dataset.size == ref.dataset.size:
        return math.nan
    return ref.rps / smallest.rps


def size_cpu_ratio(ref: Reference, references: Sequence[Reference]) -> float:
    """The same ratio by server CPU per request (what it would be on a quiet core)."""
    smallest = smallest_like(ref, references)
    if smallest.dataset.size == ref.dataset.size:
        return math.nan
    return smallest.cpu_us_per_request / ref.cpu_us_per_request


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


def cautions(
    info: dict[str, str], references: Sequence[ReferenceRun], ceilings: Sequence[CeilingRun]
) -> list[str]:
    """Signs that the figures measure the machine's load rather than the server."""
    found = []
    with contextlib.suppress(ValueError, IndexError):
        busy = float(info["loadavg"].split()[0])
        if busy > 0.5:
            found.append(
                f"The machine was busy before the run (1-minute load average {busy:.2f}): "
                "other processes compete for the pinned cores."
            )
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


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "**not met**"


def _all(values: list[bool]) -> bool | None:
    return all(values) if values else None


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
        return f"{ref.rps:,.0f} / {bare:,.0f} = {ref.bare_ratio(bare):.2f} ({by_cpu})"
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

    rows = [
        "| target (issue 5) | measured | verdict |",
        "|---|---|---|",
        f"| SQLite, one worker, with auth and limiting: at least {SQLITE_MIN_RATIO:.2f} of the "
        "throughput of the bare ASGI static body | "
        + each(sqlite, lambda r: _bare_figure(r, bare, bare_cpu))
        + f" | {_verdict(_all([r.bare_ratio(bare) >= SQLITE_MIN_RATIO for r in sqlite]))} |",
    ]
    rows.append(
        f"| SQLite: p99 at most {SQLITE_MAX_P99_MS:g} ms at 64 connections (the worst "
        "sitting) | "
        + each(sqlite, _worst_p99)
        + f" | {_verdict(_all([r.worst_p99_ms <= SQLITE_MAX_P99_MS for r in sqlite]))} |"
    )
    for backend in ("sqlite", "postgresql"):
        big = [r for r in default if r.dataset.backend == backend]
        ratios = [(r, size_ratio(r, references)) for r in big]
        ratios = [(r, x) for r, x in ratios if not math.isnan(x)]
        smallest = min((r.dataset.size for r in big), default=0)
        measured = ", ".join(
            f"{shown(r.dataset.size)}/{shown(smallest)}: {x:.2f} (by CPU per request "
            f"{size_cpu_ratio(r, references):.2f})"
            for r, x in ratios
        )
        rows.append(
            f"| {BACKEND_NAMES[backend]}: the largest dataset within 10% of the smallest "
            f"(throughput ratio at least {MIN_SIZE_RATIO:.2f}) | {measured or '-'} "
            f"| {_verdict(_all([x >= MIN_SIZE_RATIO for _, x in ratios]))} |"
        )
    rows.append(
        f"| PostgreSQL + Redis: p99 at most {POSTGRES_MAX_P99_MS:g} ms at 64 connections "
        "(the database shares the 2 cores; the worst sitting) | "
        + each(postgres, _worst_p99)
        + f" | {_verdict(_all([r.worst_p99_ms <= POSTGRES_MAX_P99_MS for r in postgres]))} |"
    )
    return rows


def _command(args: argparse.Namespace) -> str:
    parts = [RUN_COMMAND]
    defaults = {
        "backends": ["sqlite", "postgresql"],
        "sizes": [10_000, 1_000_000],
        "tokens": 10_000,
        "duration": 10,
        "warmup": 3,
        "connections": 64,
        "threads": 2,
        "uncached": True,
        "check": 200,
        "threshold": None,
    }
    for name, default in defaults.items():
        value = getattr(args, name)
        if value == default:
            continue
        flag = "--" + name
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + name)
        elif isinstance(value, list):
            parts.append(f"{flag} {','.join(str(v) for v in value)}")
        else:
            parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    parts += [f"--env {item}" for item in args.env]
    return " ".join(parts)


def render(
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
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = references[0].body
    pinning = (
        f"server pinned to core {SERVER_CORE}, load generator to core {LOAD_CORE} (taskset)"
        if can_pin()
        else "no pinning (taskset absent or a single core)"
    )
    loop_http = (
        ("uvloop" if info["uvloop"] != "not installed" else "asyncio")
        + " + "
        + ("httptools" if info["httptools"] != "not installed" else "h11")
    )
    load = (
        f"`wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency`, a Lua "
        "script rotating through the (learner id, token) pairs"
        if tool == "wrk"
        else f"the Python fallback load generator, {args.connections} keep-alive connections "
        "(it saturates before the server: the figures understate it)"
    )
    sizes = sorted(args.sizes)
    ratio_head = f"{shown(sizes[-1])}/{shown(sizes[0])}" if len(sizes) > 1 else "size ratio"
    bare_cpu = mean_cpu(ceilings, "bare ASGI")

    lines = [
        "# Reference endpoint benchmark",
        "",
        f"Generated by `{_command(args)}` on {now} ({elapsed_s / 60:.1f} min). "
        "Do not edit by hand.",
        "",
        f"`GET {ROUTE}`, one `lmsplans serve` worker with token auth and the per-user "
        f"limiter on every call; {pinning}; load: {load}; {args.tokens:,} benchmarked "
        "learners (one token each, sampled uniformly from the whole dataset). Ceilings, "
        f"measured in the same run: a constant body of {len(body):,} bytes (a real answer of "
        "the endpoint) from a bare ASGI app with no framework (`bench/static_app.py`) and "
        "from Starlette with one route (`bench/static_starlette.py`), under the same uvicorn "
        "settings and pinning.",
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
            f"{'on' if config.cached else 'off'} | {config.rps:,.0f} | {config.p50_ms:.2f} | "
            f"{config.p99_ms:.2f} | {config.bare_ratio(bare):.2f} | "
            f"{config.rps / starlette:.2f} | "
            f"{'-' if math.isnan(ratio) else f'{ratio:.2f}'} | "
            f"{config.cpu_us_per_request:,.0f} | {config.bare_cpu_ratio(bare_cpu):.2f} | "
            f"{config.core_share:.0%} | {config.machine_busy:.0%} |"
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
        f"With the caches on, every figure of a row is the mean of its {per_dataset} sittings "
        "(below): "
        "req/s, p50, p99, server CPU per request and the busy shares; the ratios are taken "
        "between these means."
        + (" With the caches off, one sitting." if len(sittings) < len(references) else ""),
        "",
        "*x bare ASGI by CPU* is the bare ASGI app's server CPU per request over this run's: "
        "the throughput ratio had both servers had their core to themselves (it discounts "
        "the other processes of a shared machine). On SQLite, whose target is this ratio, "
        "the bare ASGI ceiling is also measured right after every sitting, and *x bare ASGI* "
        "(both kinds) is the mean of each sitting's ratio to the ceiling beside it: the two "
        "figures of a ratio come from the same minute, whatever the machine does over the run.",
        "",
        "Reference sittings with the caches on, in the order measured for each backend "
        f"({order}: alternately ascending and descending, so that a steady drift of the "
        "machine's speed "
        "during the run weighs on every dataset size alike), each a fresh server with its own "
        "warm-up. The results above use their mean; the p99 targets, the worst sitting:",
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
        "Ceilings (the ratios above use the mean of their two sittings):",
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
    lines += [
        f"| bare ASGI | mean | {bare:,.0f} | | | | |",
        f"| Starlette | mean | {starlette:,.0f} | | | | |",
        "",
        "## Targets",
        "",
        *targets(combined, ceilings),
        "",
        "Judged on the default configuration (server caches on): throughput and CPU per "
        f"request by the mean of each dataset's {per_dataset} sittings, the p99 targets by "
        "the worst (highest) sitting's p99. The rows with the caches "
        "off (`LMSPLANS_CACHE_ENTRIES=0`: every request reads the token, the learner and the "
        "plans from the database) are for information: they show what the data layer costs "
        "on each dataset size.",
        "",
    ]
    found = cautions(info, references, ceilings)
    if found:
        lines += ["## Cautions", "", *(f"- {c}" for c in found), ""]
    invalid = problems(references, ceilings)
    if invalid:
        lines += ["## INVALID RUN", "", *(f"- {p}" for p in invalid), ""]

    lines += [
        "## Datasets",
        "",
        "Generated by `bench/dataset.py` straight into the migrated schema and cached under "
        "`bench/out/` by backend and size (rebuilt when the generator or the migrations "
        "change). Organisations of at most 100,000 learners, each with 120 courses and 40 "
        "published plans of 8 courses on three levels (at least one mandatory); 3 to 7 plan "
        "enrolments per learner (5 on average); course progress (in progress or completed) "
        "for about a third of the courses learners are enrolled in; an enrolment is "
        "completed exactly when all its plan's mandatory courses are. **The benchmark "
        "datasets have no history: no `progress_events` rows are written.**",
        "",
        "| backend | learners | organisations | plan enrolments | course progress rows "
        "| share of enrolled courses | tokens | built in | this run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (backend, _), d in datasets.items():
        counts = d.counts
        lines.append(
            f"| {BACKEND_NAMES[backend]} | {d.size:,} | {counts['organisations']:,} | "
            f"{counts['plan_enrolments']:,} | {counts['course_progress']:,} | "
            f"{d.progress_share:.0%} | "
            f"{d.tokens:,} | {d.build_seconds:.0f} s | "
            + ("cached" if d.reused else "generated")
            + " |"
        )
    lines += ["", "## Run", ""]
    lines.append(
        f"- {args.warmup:g} s of warm-up before each measured run of {args.duration:g} s, "
        "prolonged with the caches on until every benchmarked learner was asked for (at most "
        "30 s); a fresh server for each run (each sitting); loopback only. uvicorn "
        "`loop`/`http` auto "
        f"({loop_http}), access log off, log level warning."
    )
    lines.append(
        f"- Server defaults: `LMSPLANS_CACHE_ENTRIES` {info['cache_entries']} (tokens, "
        f"learners and answers kept between writes), `LMSPLANS_DB_POOL_SIZE` "
        f"{info['db_pool_size']} (PostgreSQL). PostgreSQL + Redis runs: "
        "`LMSPLANS_DATABASE_URL=postgresql://...`, `LMSPLANS_REDIS_URL`, a fresh "
        "`LMSPLANS_REDIS_PREFIX` per server (its keys deleted afterwards); PostgreSQL and "
        "Redis run unpinned on the same machine."
    )
    for ref in references:
        sizes_seen = sorted(ref.body_sizes)
        quiet = ("LMSPLANS_DATABASE_URL", "LMSPLANS_REDIS_URL", "LMSPLANS_REDIS_PREFIX")
        settings = ", ".join(f"`{k}={v}`" for k, v in sorted(ref.env.items()) if k not in quiet)
        threshold = (
            f"threshold {ref.threshold} (the default)"
            if ref.threshold_note is None
            else f"**threshold raised**: {ref.threshold_note}"
        )
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
            f"{sum(sizes_seen) / len(sizes_seen):,.0f}); the server's own count on the route: "
            + ", ".join(f"{s}: {n:,}" for s, n in sorted(ref.statuses.items()))
            + f"; {warm}; {threshold}; {settings}."
        )
    lines += [
        "",
        "Server CPU µs/req is the server process's CPU time over the measured run divided by "
        "its requests; server core busy is that CPU time over the run's length; machine busy "
        "is the share of both cores busy (every process: server, wrk, PostgreSQL, Redis, and "
        "anything else running). Shared machines are noisy: trust the ratios measured in the "
        "same run more than the absolute figures.",
        "",
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
        "",
        "## Load generator output",
        "",
    ]
    outputs = [(ref.name, ref.run) for ref in references]
    outputs += [(f"{c.name} ceiling, sitting {c.sitting}", c.result) for c in ceilings]
    for name, result in outputs:
        lines += [
            "<details>",
            f"<summary>{name}</summary>",
            "",
            "```",
            result.raw.strip(),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
