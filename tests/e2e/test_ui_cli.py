"""`lmsplans ui link`, `lmsplans ui password` and the demo's sign-in links, run as a user
runs them, against a real server process."""

from __future__ import annotations

import re

import httpx
import pytest

from lmsplans.server.sessions.schemas import sign_in_url
from tests.e2e.conftest import DemoSite, ServerProcess, run_cli

pytestmark = pytest.mark.slow

LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/ui/sign-in/([A-Za-z0-9_-]{43})")
PASSWORD = "correct horse battery staple"


def sign_in_with(server: ServerProcess, url: str) -> httpx.Response:
    """Open a sign-in link and press its button, as a browser does."""
    with httpx.Client(base_url=server.base_url) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert form_token is not None
        return browser.post(
            url,
            data={"form_token": form_token[1]},
            headers={"Sec-Fetch-Site": "same-origin"},
        )


def test_ui_link_prints_a_link_that_signs_in_once(
    demo_site: DemoSite, server: ServerProcess
) -> None:
    # The server's own address: where `lmsplans serve` listens with the same settings.
    env = {**demo_site.env, "LMSPLANS_PORT": str(demo_site.port)}
    made = run_cli("ui", "link", "--org", "Zylker Corp", "--user", "manager@zylker.example",
                   env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    found = LINK.fullmatch(url)
    assert found is not None, made.stdout
    assert url == sign_in_url(demo_site.base_url, found[2])
    assert "signs manager@zylker.example in once, until" in made.stderr
    signed = sign_in_with(server, url)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui"
    assert "lmsplans_session=" in signed.headers["set-cookie"]
    with httpx.Client(base_url=server.base_url) as browser:
        assert browser.get(url).status_code == 401  # used


def test_ui_link_builds_on_the_public_url(demo_site: DemoSite) -> None:
    made = run_cli(
        "ui", "link", "--org", "Zylker Corp", "--user", "learner@zylker.example",
        env={**demo_site.env, "LMSPLANS_PUBLIC_URL": "https://lms.example.com/"},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"https://lms\.example\.com/ui/sign-in/[A-Za-z0-9_-]{43}\n", made.stdout)
    given = run_cli(
        "ui", "link", "--org", "Zylker Corp", "--user", "learner@zylker.example",
        "--base-url", "http://10.0.0.5:9000", env=demo_site.env,
    )  # fmt: skip
    assert given.stdout.startswith("http://10.0.0.5:9000/ui/sign-in/")


@pytest.mark.parametrize(
    ("org", "user", "message"),
    [
        ("Nowhere Ltd", "admin@zylker.example", "No organisation named 'Nowhere Ltd'"),
        ("Zylker Corp", "learner@acme.example", "No user 'learner@acme.example'"),
    ],
)
def test_ui_link_refuses_unknown_people(
    demo_site: DemoSite, org: str, user: str, message: str
) -> None:
    refused = run_cli("ui", "link", "--org", org, "--user", user, env=demo_site.env)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert message in refused.stderr
    assert "Traceback" not in refused.stderr


def test_ui_password_sets_a_password_people_sign_in_with(
    demo_site: DemoSite, server: ServerProcess
) -> None:
    short = run_cli(
        "ui", "password", "--org", "Zylker Corp", "--user", "admin@zylker.example",
        "--password-stdin", env=demo_site.env, input="too short\n",
    )  # fmt: skip
    assert short.returncode == 1
    assert "at least 12 characters" in short.stderr
    made = run_cli(
        "ui", "password", "--org", "Zylker Corp", "--user", "admin@zylker.example",
        "--password-stdin", env=demo_site.env, input=PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "Password set for admin@zylker.example" in made.stdout
    with httpx.Client(base_url=server.base_url) as browser:
        page = browser.get("/ui/sign-in")
        form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert form_token is not None
        signed = browser.post(
            "/ui/sign-in",
            data={
                "form_token": form_token[1],
                "email": "admin@zylker.example",
                "password": PASSWORD,
                "next": "/ui",
            },
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        assert signed.status_code == 303, signed.text
        assert browser.get("/ui").status_code == 200


def test_the_demo_prints_a_sign_in_link_beside_each_token(
    demo_site: DemoSite, server: ServerProcess
) -> None:
    credentials = demo_site.credentials
    lines = demo_site.stdout.splitlines()
    for role in ("admin", "manager", "learner"):
        url = credentials[f"{role}_ui_url"]
        assert LINK.fullmatch(url), url
        token_line = next(i for i, line in enumerate(lines) if credentials[f"{role}_token"] in line)
        assert lines[token_line + 1].split() == ["sign", "in:", url]
    # The learner's link signs the learner in, to their own page.
    signed = sign_in_with(server, credentials["learner_ui_url"])
    assert signed.status_code == 303
