"""Running as a service, as an operator would: `lmsplans serve` started from `/`, with a wrong
database URL, an unreachable database, Redis down; its logs; `--version` and completion."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

import lmsplans
from tests.e2e.conftest import LMSPLANS, cli_env, free_port, run_cli, running_server

pytestmark = pytest.mark.slow

EX_UNAVAILABLE, EX_CONFIG = 69, 78


def one_line_failure(result: subprocess.CompletedProcess[str], status: int) -> str:
    """The command failed with `status`, saying why in one line and nothing else."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://app:s3cret@db.example:port/lmsplans", "cannot parse"),
        ("mysql://root@localhost/lmsplans", "unsupported URL 'mysql://root@localhost/lmsplans'"),
        ("sqlite:/lmsplans.db", "a SQLite URL is sqlite:///relative"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "migrate", "demo"])
def test_a_database_url_that_cannot_be_parsed_is_one_line_and_status_78(
    tmp_path: Path, command: str, url: str, says: str
) -> None:
    env = cli_env(tmp_path / "unused.db", LMSPLANS_DATABASE_URL=url)
    line = one_line_failure(run_cli(command, env=env, cwd=tmp_path), EX_CONFIG)
    assert line.startswith("Invalid setting LMSPLANS_DATABASE_URL: "), line
    assert says in line
    assert "s3cret" not in line
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_other_settings_that_cannot_be_parsed_are_named_together(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "x.db", LMSPLANS_PORT="eighty", LMSPLANS_LOG_FORMAT="xml")
    line = one_line_failure(run_cli("serve", env=env), EX_CONFIG)
    assert line.startswith("Invalid settings LMSPLANS_PORT: "), line
    assert "; LMSPLANS_LOG_FORMAT: Input should be 'text' or 'json'" in line


def test_an_unreachable_database_is_one_line_and_status_69(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    url = f"postgresql://app:s3cret@127.0.0.1:{closed}/lmsplans"
    for command in ("serve", "migrate", "demo"):
        env = cli_env(tmp_path / "unused.db", LMSPLANS_DATABASE_URL=url)
        line = one_line_failure(run_cli(command, env=env), EX_UNAVAILABLE)
        assert line.startswith(
            f"Cannot reach the database postgresql://app:***@127.0.0.1:{closed}/lmsplans: "
        ), line
        assert "s3cret" not in line
    # A SQLite file that cannot be made: under a path that is a file, not a directory.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = cli_env(blocker / "lmsplans.db")
    line = one_line_failure(run_cli("serve", env=env), EX_UNAVAILABLE)
    assert line.startswith(f"Cannot reach the database sqlite:///{blocker}/lmsplans.db: "), line


def test_a_database_that_does_not_exist_is_status_69(
    tmp_path: Path, postgres_skip_reason: str | None
) -> None:
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    from tests.databases import postgres_admin_url

    url = postgres_admin_url().rsplit("/", 1)[0] + "/lmsplans_no_such_database"
    env = cli_env(tmp_path / "unused.db", LMSPLANS_DATABASE_URL=url)
    line = one_line_failure(run_cli("migrate", env=env), EX_UNAVAILABLE)
    assert 'database "lmsplans_no_such_database" does not exist' in line


def test_debug_shows_the_traceback_with_the_same_status(tmp_path: Path) -> None:
    url = f"postgresql://app@127.0.0.1:{free_port()}/lmsplans"
    env = cli_env(tmp_path / "unused.db", LMSPLANS_DATABASE_URL=url)
    result = run_cli("--debug", "serve", env=env)
    assert result.returncode == EX_UNAVAILABLE
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Cannot reach the database ")


def test_a_server_started_in_the_root_directory_finds_its_data_directory(
    tmp_path: Path,
) -> None:
    """A service manager starts servers in `/`: the database is in the user's data
    directory all the same, and the start-up line says where."""
    env = cli_env(tmp_path / "unused.db", XDG_DATA_HOME=str(tmp_path / "data-home"))
    del env["LMSPLANS_DATABASE_URL"]
    env["LMSPLANS_LOG_LEVEL"] = "info"
    database = tmp_path / "data-home" / "lmsplans" / "lmsplans.db"
    port = free_port()
    with running_server(env, port=port, log=tmp_path / "serve.log", cwd=Path("/")) as server:
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
    assert database.is_file()
    assert not Path("/lmsplans.db").exists()
    start = [line for line in server.log_text().splitlines() if " serving http" in line]
    assert len(start) == 1, server.log_text()
    assert (
        f"lmsplans {lmsplans.__version__} serving http://127.0.0.1:{port} (process "
        f"{server.process.pid}): database sqlite:///{database}, limiter in-process "
        f"(this process only), data dir {database.parent}, access log on (text)"
    ) in start[0]
    # LMSPLANS_DATA_DIR moves it.
    env["LMSPLANS_DATA_DIR"] = str(tmp_path / "elsewhere")
    with running_server(env, port=free_port(), log=tmp_path / "again.log", cwd=Path("/")):
        pass
    assert (tmp_path / "elsewhere" / "lmsplans.db").is_file()


def test_a_server_whose_redis_is_down_starts_and_says_so(tmp_path: Path) -> None:
    redis_url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    env = cli_env(tmp_path / "x.db", LMSPLANS_REDIS_URL=redis_url, LMSPLANS_LOG_LEVEL="info")
    with running_server(env, port=free_port(), log=tmp_path / "serve.log") as server:
        ready = httpx.get(f"{server.base_url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "limiter": "down"}
    log = server.log_text()
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, log
    assert warnings[0].endswith(
        f"WARNING lmsplans: The limiter (Redis at redis://:***@127.0.0.1:"
        f"{redis_url.rsplit(':', 1)[1].split('/')[0]}/0) does not answer: API calls answer "
        "503 7503 until it does"
    ), warnings[0]
    assert "s3cret" not in log


def test_json_logs_from_a_real_server_one_object_a_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "x.db", LMSPLANS_LOG_FORMAT="json", LMSPLANS_LOG_LEVEL="info")
    with running_server(env, port=free_port(), log=tmp_path / "serve.log") as server:
        sent = [f"probe-{n}" for n in range(5)]
        answers = [
            httpx.get(f"{server.base_url}/healthz", headers={"X-Request-Id": request_id})
            for request_id in sent
        ]
        assert [a.headers["x-request-id"] for a in answers] == sent
    records = [json.loads(line) for line in server.log_text().splitlines()]  # all JSON
    access = [r for r in records if r["logger"] == "lmsplans.access"]
    probes = [r for r in access if r["requestId"].startswith("probe-")]
    assert [r["requestId"] for r in probes] == sent
    assert {(r["method"], r["path"], r["status"]) for r in probes} == {("GET", "/healthz", 200)}
    assert any(r["logger"] == "lmsplans" and " serving http" in r["message"] for r in records)
    # Turned off, there is no access line at all.
    env["LMSPLANS_ACCESS_LOG"] = "false"
    with running_server(env, port=free_port(), log=tmp_path / "quiet.log") as server:
        httpx.get(f"{server.base_url}/healthz")
    loggers = {json.loads(line)["logger"] for line in server.log_text().splitlines()}
    assert "lmsplans.access" not in loggers and "lmsplans" in loggers


def test_version_and_shell_completion(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "unused.db")
    version = run_cli("--version", env=env)
    assert (version.returncode, version.stdout) == (0, f"lmsplans {lmsplans.__version__}\n")
    # From bash, as a person types it: typer finds the shell among the command's parents
    # (and ignores a shell named after the flag), so the test's own parents must not decide.
    script = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        ["bash", "-c", f"'{LMSPLANS}' --show-completion; exit $?"],  # noqa: S607 - bash
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert "_lmsplans_completion()" in script.stdout
    assert "complete -o default -F _lmsplans_completion lmsplans" in script.stdout
    # The completion itself, as bash asks for it.
    completing = {
        **env,
        "_LMSPLANS_COMPLETE": "complete_bash",
        "COMP_WORDS": "lmsplans re",
        "COMP_CWORD": "1",
    }
    assert run_cli(env=completing).stdout.split() == ["restore"]
    completing.update(COMP_WORDS="lmsplans client ", COMP_CWORD="2")
    assert run_cli(env=completing).stdout.split() == ["create"]
    assert not (tmp_path / "unused.db").exists()
