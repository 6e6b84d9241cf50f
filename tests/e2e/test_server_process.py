"""A real `lmsplans serve` process on 127.0.0.1, driven over HTTP with httpx and curl.

The module's server runs on a small demo database with short lock settings (5 calls in a
5-second window, 2-second lock), so the lock is watched with real time. The window is long
enough that six calls fit in it even on a loaded machine; the lock is what takes real time.
Each test uses its own (user, API) pair, so the limiter never couples two tests.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    STOP_SECONDS,
    DemoSite,
    ServerProcess,
    cli_env,
    free_port,
    query_one,
    run_cli,
    running_server,
)

pytestmark = pytest.mark.slow


def auth(token: str, scheme: str = "Zoho-oauthtoken") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["message"]
    assert body["requestId"] == response.headers["x-request-id"]
    return body


def progress_path(learner: str) -> str:
    return f"/api/v1/learners/{learner}/learning-plans/progress"


def test_reference_endpoint_by_id_zuid_and_email(
    server: ServerProcess, demo_site: DemoSite
) -> None:
    credentials = demo_site.credentials
    learner_id = credentials["learner_id"]
    (zuid, email) = query_one(
        demo_site.database, "SELECT zuid, email FROM learners WHERE id = ?", (int(learner_id),)
    )
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        bodies = []
        for ref in (learner_id, str(zuid), email):
            response = http.get(progress_path(ref), headers=auth(credentials["admin_token"]))
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers
            bodies.append(response.json())
        assert bodies[0] == bodies[1] == bodies[2]
        body = bodies[0]
        assert (body["status"], body["isNextAvailable"]) == (200, False)
        assert body["learningPlans"]
        assert {p["userInfo"]["userId"] for p in body["learningPlans"]} == {learner_id}
        # The learner reads themself, their manager reads them too (Bearer works as well).
        for token, scheme in (
            (credentials["learner_token"], "Zoho-oauthtoken"),
            (credentials["manager_token"], "Bearer"),
        ):
            response = http.get(progress_path(learner_id), headers=auth(token, scheme))
            assert response.status_code == 200, response.text
            assert response.json()["learningPlans"] == body["learningPlans"]
        # Another organisation's learner does not exist for Zylker's admin.
        other = credentials["other_org_learner_id"]
        assert_error(
            http.get(progress_path(other), headers=auth(credentials["admin_token"])), 404, 7048
        )


def test_oauth_round_trip_for_a_client_made_by_the_cli(
    server: ServerProcess, demo_site: DemoSite
) -> None:
    created = run_cli(
        "client", "create", "--org", "Zylker Corp", "--user", "admin@zylker.example",
        "--scope", "ZOHOPEOPLE.training.READ", "--json",
        env=demo_site.env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    client = json.loads(created.stdout)
    plans = "/api/v1/learning-plans"
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        # The first access token printed by the CLI works.
        assert http.get(plans, headers=auth(client["access_token"])).status_code == 200
        response = http.post(
            "/oauth/v2/token",
            params={
                "grant_type": "refresh_token",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "refresh_token": client["refresh_token"],
            },
        )
        assert response.status_code == 200, response.text
        grant = response.json()
        assert grant["token_type"] == "Bearer"
        assert grant["expires_in"] == 3600
        assert grant["scope"] == "ZOHOPEOPLE.training.READ"
        assert grant["api_domain"] == server.base_url
        token = grant["access_token"]
        assert token not in (client["access_token"], client["refresh_token"])
        response = http.get(plans, headers=auth(token))
        assert response.status_code == 200, response.text
        assert len(response.json()["learningPlans"]) >= 8

        revoked = http.post("/oauth/v2/token/revoke", data={"token": token})
        assert revoked.status_code == 200, revoked.text
        assert_error(http.get(plans, headers=auth(token)), 401, 7201)
        # Revoking the access token left the refresh token and its first token alone.
        assert http.get(plans, headers=auth(client["access_token"])).status_code == 200


def test_the_lock_with_real_time(server: ServerProcess, demo_site: DemoSite) -> None:
    """Threshold 5 in a 5 s window, 2 s lock (the module's settings)."""
    credentials = demo_site.credentials
    learner = credentials["learner_token"]
    path = f"/api/v1/learners/{credentials['learner_id']}/course-progress"
    with httpx.Client(base_url=server.base_url, timeout=10, headers=auth(learner)) as http:
        remaining = []
        for _ in range(5):
            response = http.get(path)
            assert response.status_code == 200, response.text
            assert response.headers["RateLimit-Policy"] == '"api";q=5;w=5'
            remaining.append(response.headers["RateLimit"].split(";")[1])
        assert remaining == ["r=4", "r=3", "r=2", "r=1", "r=0"]

        locked = http.get(path)
        locked_at = time.monotonic()
        assert_error(locked, 429, 7209)
        assert locked.headers["Retry-After"] == "2"

        # Only that (user, API) is locked: the same user on another API, and another user
        # on this API, still pass.
        assert http.get(progress_path(credentials["learner_id"])).status_code == 200
        admin = auth(credentials["admin_token"])
        assert http.get(path, headers=admin).status_code == 200

        # Still locked a second later; this call must not extend the lock.
        time.sleep(max(0.0, locked_at + 1.0 - time.monotonic()))
        still = http.get(path)
        assert_error(still, 429, 7209)
        assert still.headers["Retry-After"] == "1"

        # Open again once the 2 s lock (counted from the 6th call) is over.
        time.sleep(max(0.0, locked_at + 2.3 - time.monotonic()))
        reopened = http.get(path)
        assert reopened.status_code == 200, reopened.text
        assert reopened.headers["RateLimit"].startswith('"api";r=4;')


def test_sigterm_stops_the_server_promptly_with_exit_0(demo_site: DemoSite) -> None:
    with (
        running_server(
            demo_site.env, port=free_port(), log=demo_site.root / "sigterm.log"
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        # An idle keep-alive connection must not hold the shutdown up.
        response = http.get(progress_path("me"), headers=auth(demo_site.credentials["admin_token"]))
        assert response.status_code in (200, 404)
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=STOP_SECONDS)  # promptly: no SIGKILL needed
        assert code == 0, server.log_text()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base_url}/healthz", timeout=1)
    assert "Traceback" not in server.log_text()


def test_sigterm_answers_open_long_polls_and_stops_promptly(demo_site: DemoSite) -> None:
    """A long poll of the change feed (`wait=30`) does not hold a stop up: the server
    answers it at once, with no events and the cursor to go on from, then exits 0."""
    admin = auth(demo_site.credentials["admin_token"])
    with (
        running_server(
            demo_site.env, port=free_port(), log=demo_site.root / "sigterm-poll.log"
        ) as server,
        concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool,
    ):
        latest = httpx.get(
            f"{server.base_url}/api/v1/events", params={"after": "latest"}, headers=admin
        )
        assert latest.status_code == 200, latest.text
        cursor = latest.json()["nextCursor"]
        polling = pool.submit(
            httpx.get,
            f"{server.base_url}/api/v1/events",
            params={"after": cursor, "wait": "30"},
            headers=admin,
            timeout=40,
        )
        time.sleep(1.0)  # the poll is waiting
        assert not polling.done()
        asked_to_stop = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        answer = polling.result(timeout=STOP_SECONDS)
        code = server.process.wait(timeout=STOP_SECONDS)
        stopped_after = time.monotonic() - asked_to_stop
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == []
    assert answer.json()["nextCursor"] == cursor
    assert code == 0, server.log_text()
    assert stopped_after < 3, f"stopped {stopped_after:.1f} s after SIGTERM"
    assert "Traceback" not in server.log_text()


def test_default_demo_builds_quickly_serves_and_its_curl_line_works(tmp_path: Path) -> None:
    """`lmsplans demo` as the README runs it: 1200 learners, then it serves."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    port = free_port()
    database = tmp_path / "demo.db"
    log = tmp_path / "demo.log"
    started = time.monotonic()
    with running_server(
        cli_env(database), port=port, log=log, command=("demo",), startup_seconds=60
    ) as server:
        # A few seconds on an idle machine; the bound only catches a pathological slowdown.
        build_seconds = time.monotonic() - started
        assert build_seconds < 45, build_seconds
        output = server.log_text()
        lines = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
        assert len(lines) == 1, output
        assert f"http://127.0.0.1:{port}/" in lines[0]
        # Verbatim, through a shell, as a user pastes it.
        result = subprocess.run(  # noqa: S603 - the line the demo printed, on loopback
            ["/bin/sh", "-c", lines[0]], capture_output=True, text=True, timeout=15, check=False
        )
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        assert body["status"] == 200 and body["learningPlans"]
        (learner_id,) = query_one(
            database, "SELECT id FROM learners WHERE email = 'learner@zylker.example'"
        )
        assert {p["userInfo"]["userId"] for p in body["learningPlans"]} == {str(learner_id)}
    # What the issue asks of the demo data.
    zylker = "(SELECT id FROM organisations WHERE name = 'Zylker Corp')"
    counts = query_one(
        database,
        f"SELECT (SELECT count(*) FROM learners WHERE org_id = {zylker}),"
        f" (SELECT count(*) FROM learners WHERE org_id = {zylker} AND role = 'manager'),"
        f" (SELECT count(*) FROM courses WHERE org_id = {zylker}),"
        f" (SELECT count(*) FROM learning_plans WHERE org_id = {zylker} AND publish_state = 1),"
        " (SELECT count(*) FROM organisations)",
    )
    assert counts[0] >= 1000 and counts[1] >= 2
    assert counts[2:] == (30, 8, 2)
