"""The plan report page of a plan of 10,000 enrolled learners: its server time (issue 14).

    .venv/bin/python bench/plan_report.py [--backends sqlite,postgresql] [--size 10000]

For each backend it copies the benchmark dataset of `--size` learners (`bench/dataset.py`,
cached) and adds one plan that enrols every learner of the first organisation, "All hands";
then it runs `lmsplans serve` on the copy twice, with the server's caches (the default) and
without them (`LMSPLANS_CACHE_ENTRIES=0`: every request reads the roster again), signs in
through a link of `lmsplans ui link`, and asks for the report and the pages around it one
request at a time, `--requests` times each. The server's time is what each page says in
`Server-Timing` (from catching up with the change log to the last byte of the page rendered); the
client's time on loopback is beside it. The report's counts are checked against the API's
roster summary. How to read it: `bench/README.md`; the figures: `bench/RESULTS-plan-report.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import dataset
from backends import on_postgres, sqlite_path
from harness import (
    BACKEND_NAMES,
    BACKENDS,
    BENCH_DIR,
    DEFAULT_PG_ADMIN_URL,
    DEFAULT_REDIS_URL,
    HOST,
    OUT_DIR,
    Server,
    csv_of,
    free_port,
    lmsplans_command,
    machine_ticks,
    running,
    server_env,
    work_directory,
)

TARGET_MS = 300.0
PLAN_NAME = "All hands"
PLAN_COURSES = 8
MANDATORY_POSITIONS = (0, 3, 6)  # one mandatory course on each level
PLAN_DAYS = 90
DAY_MS = 86_400_000
COUNT = re.compile(r'data-count="(\w+)"><dt>[^<]*</dt><dd>(\d+)</dd>')
TIMING = re.compile(r"app;dur=([\d.]+)")
HTMX = {"HX-Request": "true"}
# (name, path: `{plan}` the plan's id, `{report_since}` and `{list_since}` the state the
# report and the plans list were drawn at, as their pollers send it; extra headers): the
# report, what a person does on it, and what its live updates ask every few seconds.
VIEWS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("report", "/ui/plans/{plan}", {}),
    ("report, roster page 100", "/ui/plans/{plan}?page=100", {}),
    ("report, overdue only", "/ui/plans/{plan}?status=overdue", {}),
    ("report, search", "/ui/plans/{plan}?q=smith", {}),
    (
        "roster page (htmx)",
        "/ui/plans/{plan}?page=2",
        {**HTMX, "HX-Target": "roster-results"},
    ),
    ("roster CSV (every learner)", "/ui/plans/{plan}/roster.csv", {}),
    ("plans list", "/ui", {}),
    # A poll while nothing changed: 204.
    ("report poll, nothing changed", "/ui/plans/{plan}/updates?since={report_since}", HTMX),
    # A poll that knows nothing (as after a write): the counts and charts drawn again.
    ("report poll, after a write", "/ui/plans/{plan}/updates", HTMX),
    ("plans list poll, nothing changed", "/ui/updates?since={list_since}", HTMX),
    ("plans list poll, after a write", "/ui/updates", HTMX),
)
POLLER = re.compile(r'id="(report|plans)-poll"[^>]*hx-get="[^"]*since=([\w.-]+)"')


@dataclass(frozen=True, slots=True)
class Timing:
    view: str
    backend: str
    cached: bool
    server_ms: list[float]
    client_ms: list[float]
    cpu_ms: float  # the server process's CPU time per request, on average

    def row(self) -> str:
        server, client = sorted(self.server_ms), sorted(self.client_ms)
        return (
            f"| {BACKEND_NAMES[self.backend]} | {'on' if self.cached else 'off'} | {self.view} "
            f"| {len(server)} | {statistics.median(server):.1f} | {self.p95():.1f} "
            f"| {server[-1]:.1f} | {self.cpu_ms:.1f} | {statistics.median(client):.1f} |"
        )

    def p95(self) -> float:
        server = sorted(self.server_ms)
        return server[min(len(server) - 1, round(0.95 * (len(server) - 1)))]


@dataclass(frozen=True, slots=True)
class AllHands:
    """The plan added to a copy of the dataset."""

    plan_id: int
    org_name: str
    admin_email: str
    enrolled: int
    completed: int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="plan_report.py", description=__doc__.split("\n")[0])
    parser.add_argument("--backends", type=csv_of(str, BACKENDS), default=["sqlite"])
    parser.add_argument("--size", type=int, default=10_000, help="Learners [10000].")
    parser.add_argument("--requests", type=int, default=20, help="Requests per view [20].")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cache-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS-plan-report.md")
    parser.add_argument("--keep", action="store_true", help="Keep the work directory.")
    args = parser.parse_args(argv)
    args.env = []  # server_env's extra settings: none
    if args.size < 100 or args.size > 100_000 or not 1 <= args.requests <= 1000:
        parser.error("--size is 100 to 100,000 learners (one organisation), --requests 1 to 1000")
    return args


# --------------------------------------------------------------------------- the plan


async def _row(conn: Any, sql: str, params: dict[str, Any] | None = None) -> Any:
    row = await conn.fetch_one(sql, params)
    if row is None:
        raise RuntimeError(f"the dataset has no answer to: {sql}")
    return row


async def add_all_hands(url: str, *, seed: int) -> AllHands:
    """One published plan of 8 of the first organisation's courses (those most often
    completed) on three levels, enrolling every learner of it, enrolled over the last 400
    days by its admin; each enrolment joined once started, completed exactly when its
    mandatory courses are (at the last of them), as `progress.rules` says."""
    from lmsplans.server.changes.log import EVERYTHING
    from lmsplans.server.db import Database

    rng = random.Random(f"{seed}:all-hands")
    now_ms = int(time.time() * 1000)
    db = await Database.open(url, pool_size=2)
    try:
        async with db.transaction() as conn:
            conn.changes.touch(None, EVERYTHING)  # written directly: no cache may keep a thing
            org = await _row(conn, "SELECT id, name FROM organisations ORDER BY id LIMIT 1")
            org_id = org["id"]
            admin = await _row(
                conn,
                "SELECT id, email FROM learners WHERE org_id = :o AND role = 'admin'"
                " ORDER BY id LIMIT 1",
                {"o": org_id},
            )
            popular = await conn.fetch_all(
                """SELECT course_id FROM course_progress
                    WHERE org_id = :o AND status = 'completed'
                    GROUP BY course_id ORDER BY count(*) DESC, course_id LIMIT :n""",
                {"o": org_id, "n": PLAN_COURSES},
            )
            courses = [row["course_id"] for row in popular]
            plan_id = int(await conn.fetch_value("SELECT max(id) FROM learning_plans")) + 1
            created = now_ms - 420 * DAY_MS
            await conn.insert_row(
                "learning_plans",
                {
                    "id": plan_id,
                    "org_id": org_id,
                    "name": PLAN_NAME,
                    "description": "Every learner of the organisation (bench/plan_report.py).",
                    "image_is_system": True,
                    "image": "1",
                    "image_url": "/newhr/images/lmsbg/cat1.png",
                    "duration": PLAN_DAYS,
                    "duration_type": 0,
                    "publish_state": 1,
                    "disabled": False,
                    "owner_id": admin["id"],
                    "created_time": created,
                    "modified_time": created,
                    "published_time": created,
                },
            )
            await conn.execute_many(
                """INSERT INTO plan_courses (plan_id, course_id, level, is_mandatory, is_locked,
                                             position)
                   VALUES (:plan_id, :course_id, :level, :mandatory, :locked, :position)""",
                [
                    {
                        "plan_id": plan_id,
                        "course_id": course_id,
                        "level": 1 + position * 3 // PLAN_COURSES,
                        "mandatory": position in MANDATORY_POSITIONS,
                        "locked": position >= 3 and position % 2 == 1,
                        "position": position,
                    }
                    for position, course_id in enumerate(courses)
                ],
            )
            await conn.execute(
                "INSERT INTO plan_admins (plan_id, learner_id) VALUES (:p, :l)",
                {"p": plan_id, "l": admin["id"]},
            )
            mandatory = {courses[position] for position in MANDATORY_POSITIONS}
            done: dict[int, dict[int, int]] = {}
            started: set[int] = set()
            for row in await conn.fetch_all(
                f"""SELECT learner_id, course_id, status, completed_time FROM course_progress
                     WHERE org_id = :o AND course_id IN ({", ".join(map(str, courses))})""",
                {"o": org_id},
            ):
                started.add(row["learner_id"])
                if row["status"] == "completed":
                    done.setdefault(row["learner_id"], {})[row["course_id"]] = row["completed_time"]
            learners = await conn.fetch_all(
                "SELECT id FROM learners WHERE org_id = :o ORDER BY id", {"o": org_id}
            )
            first_id = int(await conn.fetch_value("SELECT max(id) FROM plan_enrolments")) + 1
            rows = []
            for n, learner in enumerate(learners):
                learner_id = learner["id"]
                enrolled = now_ms - rng.randint(1, 400) * DAY_MS
                finished = [t for c, t in done.get(learner_id, {}).items() if c in mandatory]
                complete = len(finished) == len(mandatory)
                joined = learner_id in started or rng.random() < 0.5
                rows.append(
                    {
                        "id": first_id + n,
                        "org_id": org_id,
                        "plan_id": plan_id,
                        "learner_id": learner_id,
                        "enrolled": enrolled,
                        "by": admin["id"],
                        "joined": joined,
                        "joined_time": enrolled + 3_600_000 if joined else None,
                        "completed": complete,
                        "completed_time": max(finished) if complete else None,
                    }
                )
            await conn.execute_many(
                """INSERT INTO plan_enrolments (id, org_id, plan_id, learner_id, user_type,
                       enrolled_time, enrolled_by, is_joined, joined_time, is_completed,
                       completed_time)
                   VALUES (:id, :org_id, :plan_id, :learner_id, 1, :enrolled, :by, :joined,
                           :joined_time, :completed, :completed_time)""",
                rows,
            )
        if url.startswith("postgresql"):
            # As autovacuum would soon: the planner learns of the new plan's 10,000 rows.
            async with db.transaction() as conn:
                conn.changes.nothing_cached()  # statistics only
                for table in ("plan_enrolments", "plan_courses", "learning_plans"):
                    await conn.execute(f"ANALYZE {table}")
    finally:
        await db.close()
    completed = sum(1 for row in rows if row["completed"])
    return AllHands(plan_id, org["name"], admin["email"], len(rows), completed)


def copy_dataset(data: dataset.Dataset, workdir: Path, admin_url: str) -> str:
    """A copy of the cached dataset to add the plan to (the cache stays as built)."""
    if data.backend == "sqlite":
        copy = workdir / "plan-report.db"
        with sqlite3.connect(sqlite_path(data.url)) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        return f"sqlite:///{copy}"
    name = f"lmsplans_plan_report_{int(time.time())}"

    async def create(conn: Any) -> None:
        source = data.url.rsplit("/", 1)[1]
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')

    on_postgres(admin_url, create, timeout=120)
    return dataset.postgres_url(admin_url, name)


def drop_copy(url: str, admin_url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]

        async def drop(conn: Any) -> None:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        on_postgres(admin_url, drop, timeout=60)


# --------------------------------------------------------------------------- the pages


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*lmsplans_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"lmsplans {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def signed_in(env: dict[str, str], base_url: str, plan: AllHands) -> httpx.Client:
    """A client signed in as the organisation's admin through `lmsplans ui link`."""
    link = cli(env, "ui", "link", "--org", plan.org_name, "--user", plan.admin_email).strip()
    client = httpx.Client(base_url=base_url, timeout=120)
    page = client.get(link)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    if page.status_code != 200 or form_token is None:
        raise RuntimeError(f"the sign-in link did not open: {page.status_code}")
    signed = client.post(
        link, data={"form_token": form_token[1]}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    if signed.status_code != 303:
        raise RuntimeError(f"signing in failed: {signed.status_code} {signed.text[:300]}")
    return client


def api_token(env: dict[str, str], plan: AllHands) -> str:
    """An access token of the organisation's admin (`lmsplans client create`)."""
    made = cli(
        env, "client", "create", "--org", plan.org_name, "--user", plan.admin_email, "--json"
    )
    access = re.search(r'"access_token": "([^"]+)"', made)
    if access is None:
        raise RuntimeError(f"no access token in: {made}")
    return access[1]


def check_counts(client: httpx.Client, plan: AllHands, token: str) -> dict[str, int]:
    """The report's counts, checked against the API's roster summary."""
    api = client.get(
        f"/api/v1/learning-plans/{plan.plan_id}/learners",
        params={"limit": "1"},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )
    summary = api.json()["summary"]
    page = client.get(f"/ui/plans/{plan.plan_id}").text
    shown = dict(COUNT.findall(page.split('id="counts"', 1)[1].split("</dl>", 1)[0]))
    counts = {key: int(value) for key, value in shown.items()}
    expected = {
        "total": int(summary["totalCount"]),
        "completed": int(summary["completedCount"]),
        "inProgress": int(summary["inProgressCount"]),
        "notStarted": int(summary["notStartedCount"]),
        "overdue": int(summary["overdueCount"]),
    }
    if counts != expected:
        raise RuntimeError(f"the report counts {counts}, the API's summary {expected}")
    if counts["total"] != plan.enrolled:
        raise RuntimeError(f"the report counts {counts['total']} of {plan.enrolled} enrolled")
    return counts


def measure(
    client: httpx.Client,
    server: Server,
    plan: AllHands,
    *,
    backend: str,
    cached: bool,
    requests: int,
) -> list[Timing]:
    """Each view `requests` times, one request at a time, after one request not counted
    (the first of a server compiles its templates)."""
    timings = []
    since = {
        f"{found[1] if found[1] == 'report' else 'list'}_since": found[2]
        for page in (f"/ui/plans/{plan.plan_id}", "/ui")
        if (found := POLLER.search(client.get(page).text)) is not None
    }
    for view, template, headers in VIEWS:
        path = template.format(plan=plan.plan_id, **since)
        server_ms, client_ms = [], []
        cpu_before = 0.0
        for attempt in range(requests + 1):
            if attempt == 1:
                cpu_before = server.cpu_seconds()
            began = time.perf_counter()
            response = client.get(path, headers=headers)
            took = (time.perf_counter() - began) * 1000
            # A poll "while nothing changed" is 204 until a learner falls due meanwhile.
            if response.status_code not in ((204, 200) if "nothing changed" in view else (200,)):
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            timing = TIMING.search(response.headers.get("server-timing", ""))
            if timing is None:
                raise RuntimeError(f"{path}: no Server-Timing")
            if attempt:
                server_ms.append(float(timing[1]))
                client_ms.append(took)
        cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / requests
        timings.append(Timing(view, backend, cached, server_ms, client_ms, cpu_ms))
        print(f"    {timings[-1].row()}", flush=True)
    return timings


def bench_backend(
    args: argparse.Namespace, backend: str, workdir: Path
) -> tuple[AllHands, dict[str, int], list[Timing]]:
    data = dataset.ensure(
        backend,
        args.size,
        tokens=min(10_000, args.size),  # as reference.py's datasets: the cache is shared
        seed=args.seed,
        pg_admin_url=args.pg_admin_url,
        cache_dir=args.cache_dir,
    )
    url = copy_dataset(data, workdir, args.pg_admin_url)
    try:
        plan = asyncio.run(add_all_hands(url, seed=args.seed))
        print(
            f"  {backend}: plan {plan.plan_id} '{PLAN_NAME}', {plan.enrolled:,} enrolled",
            flush=True,
        )
        timings: list[Timing] = []
        counts: dict[str, int] = {}
        token = ""
        for cached in (True, False):
            port = free_port()
            extra = {"LMSPLANS_PORT": str(port), "LMSPLANS_ACCESS_LOG": "false"}
            if not cached:
                extra["LMSPLANS_CACHE_ENTRIES"] = "0"
            env = server_env(
                args, url, backend, threshold=100_000, tag=f"plan-report-{port}", **extra
            )
            command = [*lmsplans_command(), "serve", "--port", str(port)]
            log = workdir / f"serve-{backend}-{port}.log"
            server = Server(f"lmsplans serve ({backend})", command, env, log)
            with running(server, f"http://{HOST}:{port}/healthz"):
                print(f"  {backend}, caches {'on' if cached else 'off'}:", flush=True)
                client = signed_in(env, f"http://{HOST}:{port}", plan)
                try:
                    token = token or api_token(env, plan)
                    counts = check_counts(client, plan, token)
                    timings += measure(
                        client,
                        server,
                        plan,
                        backend=backend,
                        cached=cached,
                        requests=args.requests,
                    )
                finally:
                    client.close()
        return plan, counts, timings
    finally:
        drop_copy(url, args.pg_admin_url)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def render(
    args: argparse.Namespace,
    results: list[tuple[str, AllHands, dict[str, int], list[Timing]]],
    loads: tuple[str, str],
    busy: float,
) -> str:
    lines = [
        "# The plan report on a plan of 10,000 learners: results",
        "",
        "Written by `bench/plan_report.py` (how it measures: "
        "[README.md](README.md#the-plan-report-page-issue-14)). Server time: the page's "
        "`Server-Timing`, in milliseconds; "
        "the client's on loopback beside it. One request at a time.",
        "",
        f"- command: `.venv/bin/python bench/plan_report.py --backends "
        f"{','.join(args.backends)} --size {args.size} --requests {args.requests}`",
        f"- machine: {os.cpu_count()} cores; load average {loads[0]} at the start, "
        f"{loads[1]} at the end; the machine was {busy:.0%} busy over the run (every "
        "process, ours included)",
        "",
        "| backend | caches | view | requests | server ms, median | p95 | max "
        "| server CPU ms a request | client ms, median |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for backend, plan, counts, timings in results:
        lines += [timing.row() for timing in timings]
        for timing in timings:
            if timing.view == "report":
                met = "met" if timing.p95() < TARGET_MS else "NOT met"
                caches = "on" if timing.cached else "off"
                verdicts.append(
                    f"- {BACKEND_NAMES[backend]}, caches {caches}: report p95 "
                    f"{timing.p95():.1f} ms < {TARGET_MS:.0f} ms: **{met}**"
                )
        verdicts.append(
            f"- {BACKEND_NAMES[backend]}: plan {plan.plan_id}, {plan.enrolled:,} enrolled; the "
            f"report counts {counts} and so does the API's roster summary (checked)"
        )
    lines += ["", "## Target (issue 14: under 300 ms of server time)", "", *verdicts, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loads_start = load_average()
    busy_start = machine_ticks()
    results = []
    with work_directory(args.keep) as workdir:
        for backend in args.backends:
            plan, counts, timings = bench_backend(args, backend, workdir)
            results.append((backend, plan, counts, timings))
    busy_end = machine_ticks()
    total = busy_end[1] - busy_start[1]
    busy = (busy_end[0] - busy_start[0]) / total if total else 0.0
    text = render(args, results, (loads_start, load_average()), busy)
    args.output.write_text(text)
    print()
    print(text)
    print(f"Written to {args.output}")
    met = all(
        timing.p95() < TARGET_MS
        for _, _, _, timings in results
        for timing in timings
        if timing.view == "report"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
