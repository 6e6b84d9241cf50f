"""The demo's tokens: it says when they expire and how to get new ones, and running it again
mints fresh ones, also while its server is running, without touching the data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import DemoSite, query_one, run_cli, running_server, table_counts
from tests.e2e.test_cli import DEMO_TABLES

pytestmark = pytest.mark.slow


def test_the_demo_says_when_its_tokens_expire_and_how_to_renew_them(demo_site: DemoSite) -> None:
    credentials = demo_site.credentials
    assert credentials["expires_in"] == 3600
    expires = datetime.fromisoformat(credentials["expires_at"])
    # The newest access token of the demo admin expires then (to the second).
    (expires_ms,) = query_one(
        demo_site.database,
        "SELECT max(expires_time) FROM access_tokens WHERE user_id = ?",
        (int(credentials["admin_id"]),),
    )
    assert int(expires.timestamp()) == expires_ms // 1000
    said = " ".join(demo_site.stdout.split())  # the console wraps nothing, but be sure
    when = expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert f"The tokens expire at {when} UTC (in 1 hour)." in said
    assert "run `lmsplans demo` again: it keeps the data and mints fresh tokens" in said
    assert "lmsplans client create --org 'Zylker Corp' --user admin@zylker.example" in said
    assert "POST /oauth/v2/token" in said
    assert f"database: sqlite:///{demo_site.database}" in said


def test_demo_while_its_server_runs_refreshes_the_tokens_and_serves_them_there(
    demo_site: DemoSite, tmp_path: Path
) -> None:
    before = table_counts(demo_site.database, *DEMO_TABLES, "access_tokens")
    with running_server(demo_site.env, port=demo_site.port, log=tmp_path / "serve.log") as server:
        out = tmp_path / "fresh.json"
        again = run_cli(
            "demo", "--port", str(demo_site.port), "--credentials-out", str(out),
            env=demo_site.env,
        )  # fmt: skip
        assert again.returncode == 0, again.stdout + again.stderr
        assert (
            f"lmsplans already answers on {server.base_url}, so no second server is started"
            in " ".join(again.stdout.split())
        )
        fresh = json.loads(out.read_text())
        assert fresh["admin_token"] != demo_site.credentials["admin_token"]
        assert re.fullmatch(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}", fresh["admin_token"])
        # The running server takes the new token at once.
        answer = httpx.get(
            f"{server.base_url}/api/v1/learners/{fresh['learner_id']}/learning-plans/progress",
            headers={"Authorization": f"Zoho-oauthtoken {fresh['admin_token']}"},
        )
        assert answer.status_code == 200, answer.text
        assert server.process.poll() is None
    after = table_counts(demo_site.database, *DEMO_TABLES, "access_tokens")
    assert {t: after[t] for t in DEMO_TABLES} == {t: before[t] for t in DEMO_TABLES}
    assert after["access_tokens"] == before["access_tokens"] + 3
