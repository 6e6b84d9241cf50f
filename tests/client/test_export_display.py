"""What `lmsplans export` says: how it reads, what the job costs, and when the rate limit is
what bounds it; a count while it lists rosters (its estimates are the governor's)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

from lmsplans.cli.export_display import ExportDisplay, about, rate
from lmsplans.cli.main import app
from lmsplans.client import Client
from lmsplans.client.export import ExportJob
from tests.client.conftest import REFERENCE_API, DemoDatabase, LiveServer

ROSTER_API = "GET /api/v1/learning-plans/{planId}/learners"


def job(via: str, total: int, calls: int, done: int = 0) -> ExportJob:
    unit, api = ("plans", ROSTER_API) if via == "rosters" else ("learners", REFERENCE_API)
    return ExportJob(via, "why", unit, total, done, api, lambda: calls)


@pytest.fixture
def display() -> ExportDisplay:
    client = Client(base_url="http://127.0.0.1:9", access_token="t", pacing_state=False)
    return ExportDisplay(client, Console(file=io.StringIO()))


def test_a_job_the_rate_limit_bounds_says_so_at_its_start(display: ExportDisplay) -> None:
    said = display.estimate(job("learners", 1199, 1199))
    assert said.startswith("1,199 learners at 30 calls a minute: about 4")  # 41 minutes at 29
    assert "The rate limit bounds this job" in said
    assert "LMSPLANS_RATE_LIMIT_THRESHOLD or the roster path (--via rosters)" in said
    resumed = display.estimate(job("learners", 1199, 199, done=1000))
    assert resumed.startswith("199 learners (1,000 done before) at 30 calls a minute: about 6 ")


def test_a_short_job_says_what_it_costs_and_nothing_of_the_limit(display: ExportDisplay) -> None:
    said = display.estimate(job("rosters", 8, 12))
    assert said == "8 plans, about 12 roster calls at 30 calls a minute: about 1 second."
    assert display.seconds_left() is None  # no job told yet
    display.describe(job("rosters", 8, 48))
    left = display.seconds_left()
    assert left is not None and 60 < left < 62  # a second window: the wait is counted


def test_durations_and_rates_read_plainly() -> None:
    assert [about(s) for s in (0.4, 1, 20, 75, 2400, 9000)] == [
        "about 1 second",
        "about 1 second",
        "about 20 seconds",
        "about 1 minute",
        "about 40 minutes",
        "about 2.5 hours",
    ]
    assert rate(30, 60) == "30 calls a minute" and rate(10, 2) == "10 calls per 2 s"


def test_the_command_says_how_it_reads(
    open_server: LiveServer, demo_db: DemoDatabase, tmp_path: object
) -> None:
    env = {
        "LMSPLANS_BASE_URL": open_server.url,
        "LMSPLANS_ACCESS_TOKEN": demo_db.admin_token,
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    out = f"{tmp_path}/all.csv"
    result = CliRunner().invoke(app, ["export", "--out", out], env=env)
    assert result.exit_code == 0, result.output
    assert "By plan rosters: the rosters carry progress: 100 learners a call." in result.output
    assert "8 plans, about " in result.output and " roster calls at 100000 calls" in result.output
    assert "in 8 plans to" in result.output
    by_learner = CliRunner().invoke(
        app, ["export", "--out", f"{tmp_path}/l.csv", "--via", "learners"], env=env
    )
    assert by_learner.exit_code == 0, by_learner.output
    assert "One call per learner: as asked (--via learners)." in by_learner.output
    assert "Listing learners from the plan rosters:" in by_learner.output
    wrong = CliRunner().invoke(app, ["export", "--out", f"{tmp_path}/w.csv", "--via", "x"], env=env)
    assert wrong.exit_code == 2 and "--via is one of auto, rosters, learners" in wrong.output
