"""The `lmsplans` command line, run as a user runs it: the installed console script."""

from __future__ import annotations

import json
import re
import socket
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    DemoSite,
    cli_env,
    free_port,
    query_one,
    run_cli,
    table_counts,
)

pytestmark = pytest.mark.slow

DEMO_TABLES = (
    "organisations",
    "learners",
    "courses",
    "learning_plans",
    "plan_courses",
    "plan_enrolments",
    "course_progress",
    "progress_events",
)
CREDENTIAL_KEYS = {
    "base_url",
    "admin_token",
    "manager_token",
    "learner_token",
    "learner_id",
    "other_org_learner_id",
    "admin_ui_url",
    "manager_ui_url",
    "learner_ui_url",
}
TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")


def test_help_works_for_every_command(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "unused.db")
    expected = {
        (): ["serve", "migrate", "demo", "client", "org", "import", "ui"],
        ("serve",): ["--host", "--port", "--workers"],
        ("migrate",): ["Create the database"],
        ("demo",): ["--port", "--credentials-out", "--learners", "--no-serve"],
        ("client",): ["create"],
        ("client", "create"): ["--org", "--user", "--scope", "--json"],
        ("org",): ["create", "list", "rename"],
        ("org", "create"): ["--name", "--admin-email", "--admin-name", "--json", "--export"],
        ("import",): ["learners", "plans"],
        ("import", "learners"): ["--org", "--dry-run", "--json", "employee id"],
        ("import", "plans"): ["--org", "--dry-run", "--json"],
        ("ui",): ["link", "password"],
        ("ui", "link"): ["--org", "--user", "--base-url", "15 minutes"],
        ("ui", "password"): ["--org", "--user", "--password-stdin"],
    }
    for command, words in expected.items():
        result = run_cli(*command, "--help", env=env)
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage:" in result.stdout, command
        for word in words:
            assert word in result.stdout, (command, word)
    # Asking for help touches no database.
    assert not (tmp_path / "unused.db").exists()


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    database = tmp_path / "new" / "x.db"
    database.parent.mkdir()
    env = cli_env(database)
    result = run_cli("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert database.exists()
    assert table_counts(database, *DEMO_TABLES, "oauth_clients") == dict.fromkeys(
        (*DEMO_TABLES, "oauth_clients"), 0
    )
    (journal_mode,) = query_one(database, "PRAGMA journal_mode")
    assert journal_mode == "wal"
    (version,) = query_one(database, "SELECT version_num FROM alembic_version")
    # Migrating an up-to-date database changes nothing.
    again = run_cli("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert query_one(database, "SELECT version_num FROM alembic_version") == (version,)


def test_demo_writes_credentials_and_prints_a_curl_line(demo_site: DemoSite) -> None:
    credentials = demo_site.credentials
    assert set(credentials) >= CREDENTIAL_KEYS
    assert credentials["base_url"] == f"http://127.0.0.1:{demo_site.port}"
    for role in ("admin", "manager", "learner"):
        assert TOKEN.fullmatch(credentials[f"{role}_token"]), role
        assert credentials[f"{role}_token"] in demo_site.stdout
    db = demo_site.database
    (learner_id,) = query_one(db, "SELECT id FROM learners WHERE email = 'learner@zylker.example'")
    assert credentials["learner_id"] == str(learner_id)
    (other_org,) = query_one(
        db,
        "SELECT o.name FROM learners l JOIN organisations o ON o.id = l.org_id WHERE l.id = ?",
        (int(credentials["other_org_learner_id"]),),
    )
    assert other_org != "Zylker Corp"
    curl = [line.strip() for line in demo_site.stdout.splitlines() if "curl " in line]
    assert curl == [
        f"curl -s {credentials['base_url']}/api/v1/learners/{learner_id}/learning-plans/progress"
        f" -H 'Authorization: Zoho-oauthtoken {credentials['admin_token']}'"
    ]


def test_demo_a_second_time_duplicates_nothing_and_mints_fresh_tokens(
    demo_site: DemoSite,
) -> None:
    before = table_counts(demo_site.database, *DEMO_TABLES, "access_tokens")
    assert before["learners"] >= 40 and before["progress_events"] > 0
    out = demo_site.root / "again.json"
    result = run_cli(
        "demo", "--no-serve", "--port", str(demo_site.port), "--credentials-out", str(out),
        env=demo_site.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    after = table_counts(demo_site.database, *DEMO_TABLES, "access_tokens")
    assert {t: after[t] for t in DEMO_TABLES} == {t: before[t] for t in DEMO_TABLES}
    assert after["access_tokens"] == before["access_tokens"] + 3
    again = json.loads(out.read_text())
    for key in ("base_url", "learner_id", "other_org_learner_id"):
        assert again[key] == demo_site.credentials[key]
    for role in ("admin", "manager", "learner"):
        assert TOKEN.fullmatch(again[f"{role}_token"])
        assert again[f"{role}_token"] != demo_site.credentials[f"{role}_token"]


def test_client_create_prints_the_client_as_json(demo_site: DemoSite) -> None:
    before = table_counts(demo_site.database, "oauth_clients", "refresh_tokens", "access_tokens")
    result = run_cli(
        "client", "create", "--org", "Zylker Corp", "--user", "admin@zylker.example",
        "--scope", "ZOHOPEOPLE.training.READ", "--json",
        env=demo_site.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)  # stdout is the JSON document and nothing else
    assert {"client_id", "client_secret", "refresh_token", "access_token"} <= set(client)
    assert re.fullmatch(r"1000\.[0-9A-Z]{30}", client["client_id"])
    assert re.fullmatch(r"[0-9a-f]{42}", client["client_secret"])
    assert TOKEN.fullmatch(client["refresh_token"])
    assert TOKEN.fullmatch(client["access_token"])
    assert client["scope"] == "ZOHOPEOPLE.training.READ"
    assert client["expires_in"] == 3600
    after = table_counts(demo_site.database, "oauth_clients", "refresh_tokens", "access_tokens")
    assert after == {table: count + 1 for table, count in before.items()}
    (user_email, scopes) = query_one(
        demo_site.database,
        "SELECT l.email, c.scopes FROM oauth_clients c JOIN learners l ON l.id = c.user_id"
        " WHERE c.client_id = ?",
        (client["client_id"],),
    )
    assert (user_email, scopes) == ("admin@zylker.example", "ZOHOPEOPLE.training.READ")
    # The secret is shown once and stored only as a hash.
    assert client["client_secret"] not in demo_site.database.read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("org", "user", "scope", "message"),
    [
        ("Nowhere Ltd", "admin@zylker.example", "ZOHOPEOPLE.training.READ", "Nowhere Ltd"),
        ("Zylker Corp", "nobody@zylker.example", "ZOHOPEOPLE.training.READ", "nobody@zylker"),
        # A user of the other organisation is no user of this one.
        ("Zylker Corp", "learner@acme.example", "ZOHOPEOPLE.training.READ", "learner@acme"),
        ("Zylker Corp", "admin@zylker.example", "ZOHOPEOPLE.training.FLY", "training.FLY"),
        ("Zylker Corp", "admin@zylker.example", "ZOHOCRM.modules.ALL", "ZOHOCRM.modules.ALL"),
    ],
)
def test_client_create_refuses_unknown_org_user_or_scope(
    demo_site: DemoSite, org: str, user: str, scope: str, message: str
) -> None:
    before = table_counts(demo_site.database, "oauth_clients")
    result = run_cli(
        "client", "create", "--org", org, "--user", user, "--scope", scope, "--json",
        env=demo_site.env,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert table_counts(demo_site.database, "oauth_clients") == before


def test_serve_refuses_several_workers_without_redis(tmp_path: Path) -> None:
    port = free_port()
    result = run_cli("serve", "--port", str(port), "--workers", "2", env=cli_env(tmp_path / "x.db"))
    assert result.returncode != 0
    assert "LMSPLANS_REDIS_URL" in result.stderr
    assert "worker" in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing was left listening.
    with closing(socket.socket()) as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
