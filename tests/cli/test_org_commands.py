"""`lmsplans org create`, `org list`, `org rename`: from an empty database to an organisation
with its first admin, a self client and a sign-in link; run again, nothing changes."""

from __future__ import annotations

import asyncio
import re
import shlex
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lmsplans.server.app import create_app
from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.sessions.schemas import SessionPolicy
from lmsplans.server.sessions.service import redeem_sign_in_link
from lmsplans.server.settings import Settings
from tests.cli.conftest import Run, json_of

TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
NEWBIE = ("--name", "Newbie Ltd", "--admin-email", "HR@newbie.example", "--admin-name", "Hana Ito")


def test_create_makes_the_organisation_its_admin_a_client_and_a_link(
    lmsplans: Run, query: Any, database_url: str
) -> None:
    result = lmsplans("org", "create", *NEWBIE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    [org] = query("SELECT id, name FROM organisations")
    assert org["name"] == "Newbie Ltd"
    [admin] = query("SELECT * FROM learners")
    assert (admin["email"], admin["display_name"], admin["role"], admin["status"]) == (
        "hr@newbie.example", "Hana Ito", "admin", "active",
    )  # fmt: skip
    assert f"Organisation 'Newbie Ltd' created (id {org['id']})" in out
    # The self client, as `client create` prints it: shown once, stored hashed.
    secrets = dict(
        re.findall(r"^  (client_id|client_secret|refresh_token|access_token) +(\S+)$", out, re.M)
    )
    assert set(secrets) == {"client_id", "client_secret", "refresh_token", "access_token"}
    assert TOKEN.fullmatch(secrets["access_token"]) and TOKEN.fullmatch(secrets["refresh_token"])
    [client] = query("SELECT * FROM oauth_clients")
    assert client["user_id"] == admin["id"] and secrets["client_secret"] not in repr(client)
    # The sign-in link: the web interface's shape, 15 minutes, once.
    [url] = re.findall(r"http://127\.0\.0\.1:8000/ui/sign-in/(\S+)", out)
    assert "valid 15 minutes, usable once" in out
    [link] = query("SELECT * FROM ui_sign_in_links")
    assert link["learner_id"] == admin["id"]
    assert link["expires_time"] - link["created_time"] == 15 * 60_000
    # The export line works for the client half of the command line.
    [export] = [line.strip() for line in out.splitlines() if line.strip().startswith("export ")]
    values = dict(pair.split("=", 1) for pair in shlex.split(export)[1:])
    assert values == {
        "LMSPLANS_BASE_URL": "http://127.0.0.1:8000",
        "LMSPLANS_ACCESS_TOKEN": secrets["access_token"],
        "LMSPLANS_CLIENT_ID": secrets["client_id"],
        "LMSPLANS_CLIENT_SECRET": secrets["client_secret"],
        "LMSPLANS_REFRESH_TOKEN": secrets["refresh_token"],
    }
    assert _signs_in(database_url, url)


def test_export_prints_only_the_shell_line_on_stdout(lmsplans: Run) -> None:
    result = lmsplans(
        "org", "create", *NEWBIE, "--export", "--base-url", "https://lms.newbie.example/"
    )
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    names = [pair.split("=", 1)[0] for pair in shlex.split(line)[1:]]
    assert shlex.split(line)[0] == "export" and names == [
        "LMSPLANS_BASE_URL",
        "LMSPLANS_ACCESS_TOKEN",
        "LMSPLANS_CLIENT_ID",
        "LMSPLANS_CLIENT_SECRET",
        "LMSPLANS_REFRESH_TOKEN",
    ]
    assert "LMSPLANS_BASE_URL=https://lms.newbie.example " in line
    assert "client_secret" in result.stderr
    assert "https://lms.newbie.example/ui/sign-in/" in result.stderr
    again = lmsplans("org", "create", *NEWBIE, "--export")
    assert again.exit_code == 0 and again.stdout == "" and "exists already" in again.stderr


def _signs_in(database_url: str, token: str) -> bool:
    async def redeem() -> bool:
        db = await Database.open(database_url, pool_size=1)
        try:
            now = Clock().now_ms()
            await redeem_sign_in_link(db, token=token, now_ms=now, policy=SessionPolicy())
            return True
        finally:
            await db.close()

    return asyncio.run(redeem())


def test_the_same_name_again_changes_nothing(lmsplans: Run, snapshot: Any) -> None:
    assert lmsplans("org", "create", *NEWBIE).exit_code == 0
    before = snapshot()
    again = lmsplans("org", "create", "--name", "newbie LTD", "--admin-email", "hr@newbie.example")
    assert again.exit_code == 0, again.output
    assert "exists already" in again.stdout and "nothing changed" in again.stdout
    assert "client_secret" not in again.stdout
    as_json = json_of(lmsplans("org", "create", *NEWBIE, "--json"))
    assert as_json["created"] is False and "client" not in as_json
    # Someone else as its admin: nothing changes either, but the script is told (status 1).
    other = lmsplans("org", "create", "--name", "Newbie Ltd", "--admin-email", "x@newbie.example")
    assert other.exit_code == 1
    assert "x@newbie.example is not one of its active admins" in other.stderr
    assert snapshot() == before


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--name", " ", "--admin-email", "a@b.example"), "--name may not be empty"),
        (("--name", "X", "--admin-email", "bob"), "--admin-email 'bob' is not an email address"),
        (("--name", "X\x07", "--admin-email", "a@b.example"), "--name 'X\\x07' holds control"),
        (("--name", "X" * 201, "--admin-email", "a@b.example"), "longer than 200 characters"),
    ],
)
def test_bad_values_are_one_line_status_65_and_write_nothing(
    lmsplans: Run, snapshot: Any, args: tuple[str, ...], said: str
) -> None:
    before = snapshot()
    result = lmsplans("org", "create", *args)
    assert result.exit_code == 65
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == "" and "Traceback" not in result.output
    assert snapshot() == before


def test_list_and_rename(lmsplans: Run, query: Any) -> None:
    assert json_of(lmsplans("org", "list", "--json")) == []
    assert "No organisation yet" in lmsplans("org", "list").stdout
    created = json_of(lmsplans("org", "create", *NEWBIE, "--json"))
    json_of(
        lmsplans("org", "create", "--name", "Acme", "--admin-email", "a@acme.example", "--json")
    )
    listed = json_of(lmsplans("org", "list", "--json"))
    assert [(o["name"], o["activeLearners"], o["admins"]) for o in listed] == [
        ("Newbie Ltd", 1, 1),
        ("Acme", 1, 1),
    ]
    assert "Newbie Ltd" in lmsplans("org", "list").stdout

    renamed = lmsplans("org", "rename", "Newbie Ltd", "Newbie Limited")
    assert renamed.exit_code == 0 and "is now 'Newbie Limited'" in renamed.stdout
    again = lmsplans("org", "rename", "Newbie Ltd", "Newbie Limited")  # a script run twice
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    by_id = lmsplans("org", "rename", created["organisation"]["id"], "Newbie Limited")
    assert by_id.exit_code == 0 and "nothing changed" in by_id.stdout
    taken = lmsplans("org", "rename", "Newbie Limited", "ACME")
    assert taken.exit_code == 1 and "another organisation is named 'Acme'" in taken.stderr
    missing = lmsplans("org", "rename", "Nowhere", "Somewhere")
    assert missing.exit_code == 1 and "No organisation named 'Nowhere'" in missing.stderr
    assert lmsplans("org", "rename", "Acme", "").exit_code == 65
    assert [r["name"] for r in query("SELECT name FROM organisations ORDER BY id")] == [
        "Newbie Limited",
        "Acme",
    ]


def test_the_admins_client_works_against_the_api(lmsplans: Run, database_url: str) -> None:
    created = json_of(lmsplans("org", "create", *NEWBIE, "--json"))
    token = created["client"]["access_token"]

    async def call() -> httpx.Response:
        application = create_app(Settings(database_url=database_url))
        async with LifespanManager(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                return await http.get(
                    "/api/v1/learners", headers={"Authorization": f"Zoho-oauthtoken {token}"}
                )

    answer = asyncio.run(call())
    assert answer.status_code == 200, answer.text
    assert [p["emailId"] for p in answer.json()["learners"]] == ["hr@newbie.example"]
