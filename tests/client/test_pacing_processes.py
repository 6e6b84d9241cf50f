"""Pacing across processes, for real: `lmsplans serve` and `lmsplans export` as processes of
their own on loopback, the server's threshold made small (10 calls per 2 s, a 60 s lock that
no test could sit out), and the 429s counted by the server itself (`/metrics`).

An export killed at the end of a burst and resumed at once, and two exports by the same user
at once, meet no lock because every process of the user keeps its calls in one state file
(with `--headroom 0`, so only that file can save them: without it both tests meet 429s); a
person's manual call during an export meets none because the export leaves one call of each
window free (the default headroom).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    LMSPLANS,
    DemoSite,
    ServerProcess,
    load_demo,
    query_one,
    running_server,
)

pytestmark = pytest.mark.slow
RATE = {
    "LMSPLANS_RATE_LIMIT_THRESHOLD": "10",
    "LMSPLANS_RATE_LIMIT_WINDOW_SECONDS": "2",
    "LMSPLANS_RATE_LIMIT_LOCK_SECONDS": "60",
}
ANSWERS = re.compile(
    r'^lmsplans_http_requests_total\{route="([^"]+)",status="(\d+)"\} (\S+)$', re.M
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    return load_demo(tmp_path_factory.mktemp("paced"), env_extra=RATE)


@pytest.fixture
def server(site: DemoSite, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own per test: its limiter starts empty, its counts are the test's."""
    with running_server(site.env, port=site.port, log=tmp_path / "serve.log") as process:
        yield process


def answers(server: ServerProcess) -> dict[int, int]:
    """Answers of the server's /api routes so far, by status."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=5).text
    counts: dict[int, int] = {}
    for route, status, count in ANSWERS.findall(text):
        if route.startswith("/api/"):
            counts[int(status)] = counts.get(int(status), 0) + int(float(count))
    return counts


def export_env(site: DemoSite, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in site.env.items() if not k.startswith("LMSPLANS_")}
    env.update(
        LMSPLANS_BASE_URL=site.base_url,
        LMSPLANS_ACCESS_TOKEN=site.credentials["admin_token"],
        XDG_CACHE_HOME=str(cache),  # the user's cache directory, shared by their processes
    )
    return env


def command(out: Path, headroom: int) -> list[str]:
    return [
        str(LMSPLANS),
        "export",
        "--out",
        str(out),
        "--via",
        "learners",
        "--headroom",
        str(headroom),
    ]


def export(out: Path, env: dict[str, str], *, headroom: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own console script
        command(out, headroom),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def enrolments(site: DemoSite) -> int:
    (count,) = query_one(
        site.database,
        """SELECT count(*) FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id
            JOIN learners a ON a.id = ? AND a.org_id = p.org_id
           WHERE e.unenrolled_time IS NULL AND p.publish_state = 1""",
        (int(site.credentials["admin_id"]),),
    )
    return int(count)


def keys(out: Path) -> list[tuple[str, str]]:
    import csv

    with out.open(newline="") as handle:
        return [(row["user_id"], row["plan_id"]) for row in csv.DictReader(handle)]


def wait_for_learners(state: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not (state.exists() and state.read_bytes().count(b"\n") > count):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the export did not get going"
        time.sleep(0.002)


def test_an_export_killed_mid_burst_and_resumed_at_once_meets_no_429(
    site: DemoSite, server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "progress.csv"
    state = out.with_name(out.name + ".state")
    env = export_env(site, tmp_path / "cache")
    first = export(out, env)
    try:
        wait_for_learners(state, 20, first)  # its second window is full: it waits for a slot
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    done_before = state.read_bytes().count(b"\n") - 1
    assert 20 <= done_before < 40
    began = time.monotonic()
    second = subprocess.run(  # noqa: S603 - at once, with the same arguments
        command(out, 0),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    assert "resumed after" in second.stdout
    assert answers(server).get(429, 0) == 0, answers(server)
    rows = keys(out)
    assert len(rows) == len(set(rows)) == enrolments(site)
    assert time.monotonic() - began < 60  # paced, never locked (a lock alone is 60 s)


def test_two_exports_by_the_same_user_at_once_meet_no_429(
    site: DemoSite, server: ServerProcess, tmp_path: Path
) -> None:
    env = export_env(site, tmp_path / "cache")
    outs = [tmp_path / "one.csv", tmp_path / "two.csv"]
    runs = [export(out, env) for out in outs]
    try:
        results = [run.communicate(timeout=180) for run in runs]
    finally:
        for run in runs:
            run.kill()
            run.wait(timeout=10)
    assert [run.returncode for run in runs] == [0, 0], results
    counts = answers(server)
    assert counts.get(429, 0) == 0, counts
    for out in outs:
        rows = keys(out)
        assert len(rows) == len(set(rows)) == enrolments(site)
    assert (tmp_path / "cache" / "lmsplans" / "pacing.sqlite3").exists()


def test_a_persons_manual_call_during_an_export_meets_no_429(
    site: DemoSite, server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "progress.csv"
    run = export(out, export_env(site, tmp_path / "cache"), headroom=1)
    path = f"/api/v1/learners/{site.credentials['learner_id']}/learning-plans/progress"
    headers = {"Authorization": f"Zoho-oauthtoken {site.credentials['admin_token']}"}
    try:
        wait_for_learners(out.with_name(out.name + ".state"), 9, run)  # a window's 9 calls
        manual = httpx.get(site.base_url + path, headers=headers, timeout=10).status_code
        _, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
        run.wait(timeout=10)
    assert run.returncode == 0, stderr
    assert manual == 200  # the slot the export left free
    counts = answers(server)
    assert counts.get(429, 0) == 0, counts
    rows = keys(out)
    assert len(rows) == len(set(rows)) == enrolments(site)
