"""The `curl` lines of the README and of docs/api.md work when pasted: each runs, with the real
curl, against a real `lmsplans demo` server, and answers 200.

Only what the text says to fill in is filled in: the address (the demo's port here), the
token and the ids the demo prints (or that an earlier answer gives: the plan, the course),
and the self client's credentials that `lmsplans client create` prints.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import DemoSite, ServerProcess, load_demo, run_cli, running_server

pytestmark = pytest.mark.slow

DOCUMENTS = ("README.md", "docs/api.md")
SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)


# The README's "Run it for your organisation" is a sequence of its own: its curl line needs
# the shell its five commands set up. tests/e2e/test_quick_start.py runs it as written.
QUICK_START = "## Run it for your organisation"


def without_quick_start(document: str) -> str:
    """The document without the quick start's section."""
    if QUICK_START not in document:
        return document
    start = document.index(QUICK_START)
    end = document.index("\n## ", start + 1)
    return document[:start] + document[end:]


def curl_lines(document: str) -> list[str]:
    """Each `curl` command of the document's shell blocks, its continued lines joined."""
    commands = []
    for block in SHELL_BLOCK.findall(document):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("curl "):
                commands.append(line.strip())
    return commands


@pytest.fixture(scope="module")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DemoSite, ServerProcess]]:
    site = load_demo(tmp_path_factory.mktemp("readme"))
    # As the README's webhook example says: its receiver is on this machine.
    env = {**site.env, "LMSPLANS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}
    with running_server(
        env, port=site.port, log=site.root / "serve.log", startup_seconds=60
    ) as server:
        yield site, server


def test_every_curl_line_of_the_docs_answers_200(
    demo_server: tuple[DemoSite, ServerProcess],
) -> None:
    bash = shutil.which("bash")
    assert bash and shutil.which("curl"), "bash and curl run the documented examples as pasted"
    site, server = demo_server
    token, learner_id = site.credentials["admin_token"], site.credentials["learner_id"]
    created = run_cli(
        "client",
        "create",
        "--org",
        "Zylker Corp",
        "--user",
        "admin@zylker.example",
        "--json",
        env=site.env,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    client = json.loads(created.stdout)
    # The plan and course the walk-through takes "from the answer above".
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    api = f"{server.base_url}/api/v1"
    plans = httpx.get(
        f"{api}/learners/learner@zylker.example/learning-plans/progress", headers=headers
    ).json()["learningPlans"]
    plan = plans[0]["planId"]
    courses = httpx.get(
        f"{api}/learners/learner@zylker.example/learning-plans/{plan}/courses/progress",
        headers=headers,
    ).json()["courses"]
    course = next(c["courseId"] for c in courses if not c["isLocked"])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")},
        "TOKEN": token,
        "LEARNER": "learner@zylker.example",
        "API": api,
        "PLAN": plan,
        "COURSE": course,
    }
    ran = 0
    for document in DOCUMENTS:
        for line in curl_lines(without_quick_start((REPO_ROOT / document).read_text())):
            command = line.replace("http://127.0.0.1:8000", server.base_url)
            command = re.sub(
                r"Zoho-oauthtoken 1000\.[0-9a-fx]+(\.\.\.)?", f"Zoho-oauthtoken {token}", command
            )
            command = re.sub(r"/learners/[0-9]{18}/", f"/learners/{learner_id}/", command)
            for name in ("client_id", "client_secret", "refresh_token"):
                command = command.replace(f"{name}=...", f"{name}={client[name]}")
            assert "..." not in command.replace("7f1c...", ""), f"unfilled: {line}"
            result = subprocess.run(  # noqa: S603 - the documented command, filled in
                [bash, "-c", command + " -w '\\n%{http_code}'"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            body, _, status = result.stdout.rpartition("\n")
            assert status == "200", f"{document}: {line}\n-> {status} {body}"
            answer = json.loads(body)
            assert answer.get("status") == 200 or "access_token" in answer, (line, answer)
            ran += 1
    assert ran >= 11, ran  # the README's six and docs/api.md's five
