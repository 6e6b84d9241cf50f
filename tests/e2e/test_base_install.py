"""The package without its `server` extra, installed as a user would: the client half works,
and every server command says in one line what to install, never a traceback.

A fresh virtual environment gets the package (`--no-deps -e .`) and the base dependencies
only (`project.dependencies` of pyproject.toml, pinned by `constraints.txt`), with this test
run's own pip.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import cli_env

pytestmark = pytest.mark.slow

PIP_SECONDS = 300
SERVER_COMMANDS = [
    ("serve",),
    ("migrate",),
    ("demo",),
    ("backup", "copy.db"),
    ("restore", "copy.db"),
    ("client", "create", "--org", "Zylker Corp", "--user", "admin@zylker.example"),
    ("org", "create", "--name", "Newbie Ltd", "--admin-email", "hr@newbie.example"),
    ("org", "list"),
    ("org", "rename", "Newbie Ltd", "Newbie Limited"),
    ("import", "learners", "people.csv", "--org", "Newbie Ltd"),
    ("import", "plans", "plans.yaml", "--org", "Newbie Ltd"),
]


def pip(venv: Path, *args: str) -> None:
    command = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    result = subprocess.run(  # noqa: S603 - pip with fixed arguments
        [*command, "install", "-q", *args],
        capture_output=True,
        text=True,
        timeout=PIP_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def base_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `lmsplans` console script of an environment without the server's dependencies."""
    venv = tmp_path_factory.mktemp("base") / "venv"
    subprocess.run(  # noqa: S603 - the running Python, fixed arguments
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    pip(venv, "--no-deps", "-e", str(REPO_ROOT))
    base = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pip(venv, "-c", str(REPO_ROOT / "constraints.txt"), *base)
    probe = subprocess.run(  # noqa: S603 - the new environment's Python, fixed arguments
        [str(venv / "bin" / "python"), "-c", "import starlette"],
        capture_output=True,
        check=False,
    )
    assert probe.returncode != 0, "the base environment has the server's dependencies"
    return venv / "bin" / "lmsplans"


@pytest.mark.parametrize("command", SERVER_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_server_commands_say_what_to_install(
    base_install: Path, command: tuple[str, ...], tmp_path: Path
) -> None:
    result = subprocess.run(  # noqa: S603 - the console script under test, fixed arguments
        [str(base_install), *command],
        env=cli_env(tmp_path / "x.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    name = " ".join(command[:2]) if command[0] in ("client", "org", "import") else command[0]
    assert line.startswith(f"`lmsplans {name}` needs the server's dependencies"), line
    assert line.endswith("pip install 'lmsplans[server]'"), line
    assert list(tmp_path.iterdir()) == []


def test_the_client_half_works_without_the_server(base_install: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "x.db")
    for args, expected in (
        (("--version",), "lmsplans "),
        (("--help",), "progress"),
        (("progress", "--help"), "Usage: lmsplans progress"),
        (("export", "--help"), "Usage: lmsplans export"),
    ):
        result = subprocess.run(  # noqa: S603 - the console script under test
            [str(base_install), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (args, result.stderr)
        assert expected in result.stdout, args
