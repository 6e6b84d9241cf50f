"""The benchmarks kept from rotting: each command run for real, briefly, on a tiny dataset.

These are not measurements (the figures of a second on a busy machine mean nothing): they
prove that `bench/` still builds its datasets in the schema as it is, drives a real server
with a real load generator over loopback, checks the answers against the database and
writes a report of real figures. Every run is bounded by its options and by a timeout.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench"
# A tiny dataset and about a second of load: the whole command in a few seconds.
TINY = ["--backends", "sqlite", "--sizes", "100", "--tokens", "100", "--check", "5"]
# The reference run reads with wrk where it is installed (its Lua script and its output
# are then checked too), else with the Python load generator; the mixed run always with the
# Python one (phases shorter than wrk's whole seconds).
LOADGEN = "wrk" if shutil.which("wrk") else "python"


def run_bench(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own scripts, fixed arguments
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def results_row(report: str, backend: str, learners: str) -> list[str]:
    """The cells of a report's results row for a backend and size."""
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[:2] == [backend, learners]:
            return cells
    raise AssertionError(f"no results row for {backend} {learners} in:\n{report}")


def test_reference_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    started = time.monotonic()
    done = run_bench(
        "reference.py",
        *TINY,
        "--duration", "1", "--warmup", "0.2", "--sittings", "1",
        "--no-uncached", "--no-ceilings", "--threshold", "100000", "--loadgen", LOADGEN,
        "--cache-dir", str(tmp_path / "cache"), "--output", str(output),
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    report = output.read_text()
    assert "INVALID RUN" not in report
    # 5 answers were checked against the database, then the load was all 200s.
    assert "5 answers checked against the database" in report
    row = results_row(report, "SQLite", "100")
    rps, p99 = float(row[3].replace(",", "")), float(row[5])
    assert rps > 100 and p99 > 0, row
    statuses = re.search(r"the server's own count on the route: ([^;]+);", report)
    assert statuses is not None and re.fullmatch(r"200: [\d,]+", statuses[1]), statuses
    assert "(README.md)" in report  # the report links to how it is read
    assert elapsed < 30, f"the smoke run took {elapsed:.1f} s"
    # The cached dataset is found again, not rebuilt.
    again = run_bench(
        "dataset.py", "--backend", "sqlite", "--size", "100", "--tokens", "100",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "sqlite 100: cached" in again.stdout


@pytest.mark.parametrize("app", ["static_app.py", "static_starlette.py"])
def test_ceiling_apps_answer_the_body_they_are_given(tmp_path: Path, app: str) -> None:
    body = b'{"learningPlans": [], "status": 200}'
    body_file = tmp_path / "body.json"
    body_file.write_bytes(body)
    port = free_port()
    command = [sys.executable, str(BENCH / app), "--port", str(port), "--body", str(body_file)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/learners/1/learning-plans/progress"
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{app} did not start"
                assert server.poll() is None, f"{app} exited with {server.returncode}"
                time.sleep(0.05)
        assert answer.status_code == 200
        assert answer.content == body
        assert answer.headers["content-type"] == "application/json"
    finally:
        server.terminate()
        server.wait(timeout=10)


def dataset_state(database: Path) -> tuple[object, ...]:
    """What the mixed workload writes and must undo: the events and the percentages."""
    with closing(sqlite3.connect(database)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM progress_events), (SELECT max(id) FROM progress_events),"
            " (SELECT sum(percentage) FROM course_progress),"
            " (SELECT sum(modified_time) FROM course_progress)"
        ).fetchone()
    return tuple(row)


def test_mixed_workload_runs_end_to_end_and_undoes_its_writes(tmp_path: Path) -> None:
    cache, output = tmp_path / "cache", tmp_path / "RESULTS-mixed.md"
    built = run_bench(
        "dataset.py", "--backend", "sqlite", "--size", "100", "--tokens", "100",
        "--cache-dir", str(cache),
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    assert "INCONSISTENT" not in built.stdout  # the history replays to the tables
    database = cache / "sqlite-100.db"
    before = dataset_state(database)
    assert before[0] > 4 * 100  # several events per learner
    done = run_bench(
        "mixed.py",
        *TINY,
        "--readers", "50", "--duration", "0.5", "--warmup", "0.2", "--sittings", "1",
        "--rates", "10", "--write-connections", "1", "--loadgen", "python",
        "--cache-dir", str(cache), "--output", str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = output.read_text()
    assert "INVALID RUN" not in report
    phases = {}
    for line in report.split("## Results")[1].split("## Targets")[0].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[:3] == ["SQLite", "100", "1"]:
            phases[cells[3]] = cells[4:]
    assert list(phases) == [
        "reads alone (1)",
        "reads + 10 writes/s",
        "reads alone (2)",
        "writes alone, 1 connection",
    ]
    assert float(phases["reads + 10 writes/s"][0].replace(",", "")) > 0  # reads req/s
    assert float(phases["reads + 10 writes/s"][5]) > 0  # writes achieved a second
    assert phases["writes alone, 1 connection"][8] == "0"  # every write counted
    written = re.search(r"([\d,]+) progress events written, then undone", report)
    assert written is not None and int(written[1].replace(",", "")) > 0
    assert dataset_state(database) == before


def test_plan_report_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS-plan-report.md"
    done = run_bench(
        "plan_report.py", "--backends", "sqlite", "--size", "100", "--requests", "2",
        "--cache-dir", str(tmp_path / "cache"), "--output", str(output),
        timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a target missed
    report = output.read_text()
    views = {}
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == "SQLite":
            views[cells[1], cells[2]] = cells[3:]
    assert {view for _, view in views} == {
        "report",
        "report, roster page 100",
        "report, overdue only",
        "report, search",
        "roster page (htmx)",
        "roster CSV (every learner)",
        "plans list",
        "report poll, nothing changed",
        "report poll, after a write",
        "plans list poll, nothing changed",
        "plans list poll, after a write",
    }
    assert {caches for caches, _ in views} == {"on", "off"}
    for cells in views.values():
        requests, median, p95 = int(cells[0]), float(cells[1]), float(cells[2])
        assert requests == 2 and 0 < median <= p95, cells
    # The report's counts were checked against the API's roster summary, and said so.
    assert re.search(r"the report counts \{'total': 100, .*\} and so does the API", report)
    assert "report p95" in report
