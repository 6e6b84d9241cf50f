"""The Dockerfile, compose.yaml and the systemd unit name only what exists: files to copy,
settings, the console script, and a database URL that matches the database beside it.

No container engine runs here, so the image is not built by the tests (docs/running.md says
how it was tried); the systemd unit is checked by `systemd-analyze verify` where systemd is
installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.parse
from pathlib import Path

import pytest
import yaml

from lmsplans.cli.runtime import ExitStatus
from lmsplans.server.settings import Settings
from tests.conftest import REPO_ROOT

SETTINGS = {f"LMSPLANS_{name.upper()}" for name in Settings.model_fields}
SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
UNIT = REPO_ROOT / "docs" / "lmsplans.service"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    logical = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def env_names(arguments: str) -> set[str]:
    return set(re.findall(r"(\w+)=", arguments))


def test_the_dockerfile_copies_what_exists_and_runs_the_console_script() -> None:
    steps = instructions(REPO_ROOT / "Dockerfile")
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    for word, arguments in steps:
        if word == "COPY" and not arguments.startswith("--from="):
            *sources, _ = arguments.split()
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
                assert source.rstrip("/") in kept, f"{source} is left out by .dockerignore"
    env = {name for word, arguments in steps if word == "ENV" for name in env_names(arguments)}
    assert {name for name in env if name.startswith("LMSPLANS_")} <= SETTINGS
    assert {"LMSPLANS_DATA_DIR", "LMSPLANS_HOST"} <= env
    [cmd] = [json.loads(arguments) for word, arguments in steps if word == "CMD"]
    assert cmd == ["lmsplans", "serve"] and "lmsplans" in SCRIPTS
    [expose] = [arguments for word, arguments in steps if word == "EXPOSE"]
    assert expose == str(Settings.model_fields["port"].default)
    [user] = [arguments for word, arguments in steps if word == "USER"]
    assert user.split(":")[0] != "0"  # not root
    [volume] = [json.loads(arguments) for word, arguments in steps if word == "VOLUME"]
    assert volume == ["/var/lib/lmsplans"]
    assert "LMSPLANS_DATA_DIR=/var/lib/lmsplans" in dict(steps)["ENV"]


def test_compose_runs_the_server_on_the_postgresql_and_redis_beside_it() -> None:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"lmsplans", "postgres", "redis"}
    server = services["lmsplans"]
    env = server["environment"]
    assert set(env) <= SETTINGS
    defaults = {"POSTGRES_PASSWORD": "lmsplans"}  # `${NAME:-default}` as compose expands it
    expanded = {
        name: re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: defaults.get(m[1], m[2]), value)
        for name, value in env.items()
    }
    settings = Settings(
        database_url=expanded["LMSPLANS_DATABASE_URL"],
        redis_url=expanded["LMSPLANS_REDIS_URL"],
        log_format=expanded["LMSPLANS_LOG_FORMAT"],
    )
    database = urllib.parse.urlsplit(settings.database_url)
    postgres = {
        name: re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", value)
        for name, value in services["postgres"]["environment"].items()
    }
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path == "/" + postgres["POSTGRES_DB"]
    assert urllib.parse.urlsplit(str(settings.redis_url)).hostname == "redis"
    # Several workers need the shared limiter, which they have here.
    command = server["command"]
    assert command[:2] == ["lmsplans", "serve"] and "--workers" in command
    assert server["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert all("healthcheck" in services[name] for name in ("postgres", "redis"))
    assert server["build"] == "."


def test_the_systemd_unit_names_real_settings_and_restarts_but_not_on_bad_settings() -> None:
    unit = UNIT.read_text()
    assert re.search(r"^ExecStart=/opt/lmsplans/bin/lmsplans serve$", unit, re.M)
    assert re.search(rf"^RestartPreventExitStatus={ExitStatus.CONFIG.value}$", unit, re.M)
    assert re.search(r"^Environment=LMSPLANS_DATA_DIR=/var/lib/lmsplans$", unit, re.M)
    assert re.search(r"^StateDirectory=lmsplans$", unit, re.M)
    named = set(re.findall(r"^Environment=(\w+)=", unit, re.M))
    assert named <= SETTINGS


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # The unit as installed, but starting this environment's console script.
    script = Path(sys.executable).with_name("lmsplans")
    copy = tmp_path / "lmsplans.service"
    copy.write_text(UNIT.read_text().replace("/opt/lmsplans/bin/lmsplans", str(script)))
    result = subprocess.run(  # noqa: S603 - systemd's own tool, fixed arguments
        ["systemd-analyze", "verify", str(copy)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # no warning either (an unknown key, say)
