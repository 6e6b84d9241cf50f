"""`lmsplans progress` and `lmsplans export` (the command line's client half)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lmsplans.cli.main import app
from tests.client.conftest import DemoDatabase, LiveServer, expected_enrolments


@pytest.fixture
def env(open_server: LiveServer, demo_db: DemoDatabase) -> dict[str, str]:
    return {
        "LMSPLANS_BASE_URL": open_server.url,
        "LMSPLANS_ACCESS_TOKEN": demo_db.admin_token,
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }


def test_progress_shows_a_table_of_the_learners_plans(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["progress", "learner@zylker.example"], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Learning plans of learner@zylker.example" in out
    for column in ("Plan", "Status", "Progress", "All", "Due", "Overdue", "Completed"):
        assert column in out
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert "100%   100% (5/5)" in lines["New Joiner Onboarding"]
    assert "completed" in lines["New Joiner Onboarding"]
    assert "overdue" in lines["Project Delivery"]  # the demo learner has overdue plans
    assert "overdue" not in lines["Customer Excellence"]


def test_progress_as_json_and_with_flags(open_server: LiveServer, demo_db: DemoDatabase) -> None:
    args = ["progress", str(demo_db.people.learner_id), "--json"]
    flags = ["--base-url", open_server.url, "--access-token", demo_db.admin_token]
    result = CliRunner().invoke(app, args + flags, env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 4 and {r["userInfo"]["userId"] for r in records} == {
        str(demo_db.people.learner_id)
    }


def test_progress_errors_are_short_and_exit_non_zero(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["progress", "nobody@nowhere.example"], env=env)
    assert result.exit_code == 1
    assert "404 7048" in result.output and "Traceback" not in result.output
    bare = CliRunner().invoke(
        app, ["progress", "x"], env={"LMSPLANS_BASE_URL": "http://127.0.0.1:9"}
    )
    assert bare.exit_code == 2 and "LMSPLANS_ACCESS_TOKEN" in bare.output


def test_export_from_the_command_line(
    env: dict[str, str], demo_db: DemoDatabase, tmp_path: Path
) -> None:
    out = tmp_path / "all.jsonl"
    result = CliRunner().invoke(app, ["export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(r["user_id"], r["plan_id"]) for r in rows} == expected_enrolments(demo_db)
    assert f"Exported {len(rows)} rows for" in result.output
    again = CliRunner().invoke(app, ["export", "--out", str(out)], env=env)
    assert again.exit_code == 1 and "--overwrite" in again.output

    learners = tmp_path / "learners.txt"
    learners.write_text("# some learners\nlearner@zylker.example\n\nnobody@nowhere.example\n")
    out_csv = tmp_path / "some.data"
    result = CliRunner().invoke(
        app,
        ["export", "-f", "csv", "-o", str(out_csv), "--learners-file", str(learners)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "Skipped nobody@nowhere.example" in result.output
    assert len(out_csv.read_text().splitlines()) == 1 + 4

    unknown = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "x.xlsx")], env=env)
    assert unknown.exit_code == 2 and "--format" in unknown.output


@pytest.mark.parametrize("command", [[], ["progress"], ["export"]])
def test_help_everywhere(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Usage" in result.output
    if command:
        for name in ("LMSPLANS_BASE_URL", "LMSPLANS_ACCESS_TOKEN", "LMSPLANS_REFRESH_TOKEN"):
            assert name in result.output
        assert "LMSPLANS_CLIENT_ID" in result.output and "LMSPLANS_DC" in result.output
