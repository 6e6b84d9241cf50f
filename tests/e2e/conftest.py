"""End-to-end fixtures: the installed `lmsplans` command and real server processes on loopback.

Every process gets its own SQLite file and a clean `LMSPLANS_*` environment, every wait is
bounded, and every server started here is stopped (SIGTERM, then SIGKILL after 5 s).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

LMSPLANS = Path(sys.executable).parent / "lmsplans"
STARTUP_SECONDS = 15.0
STOP_SECONDS = 5.0
DEMO_LEARNERS = 40
# Short settings so the lock can be watched with real time.
SHORT_LOCK = {
    "LMSPLANS_RATE_LIMIT_THRESHOLD": "5",
    "LMSPLANS_RATE_LIMIT_WINDOW_SECONDS": "5",
    "LMSPLANS_RATE_LIMIT_LOCK_SECONDS": "2",
}


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(database: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any `LMSPLANS_*`, pointed at `database`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    env["LMSPLANS_DATABASE_URL"] = f"sqlite:///{database}"
    env["LMSPLANS_LOG_LEVEL"] = "warning"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`lmsplans <args>` to completion, with its output captured (and `input` on stdin)."""
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(LMSPLANS), *args],
        env=env,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def table_counts(database: Path, *tables: str) -> dict[str, int]:
    with closing(sqlite3.connect(database)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def query_one(database: Path, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    with closing(sqlite3.connect(database)) as conn:
        row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


@dataclass
class ServerProcess:
    """A running `lmsplans serve`."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def stop(self) -> int:
        """SIGTERM, wait up to 5 s, then SIGKILL. Answers the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
                raise
        return self.process.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def running_server(
    env: dict[str, str],
    *,
    port: int,
    log: Path,
    command: tuple[str, ...] = ("serve",),
    startup_seconds: float = STARTUP_SECONDS,
    cwd: Path | None = None,
) -> Iterator[ServerProcess]:
    """`lmsplans serve --port <port>`, yielded once `/healthz` answers; stopped on exit.

    `command` may be another serving command (`("demo",)`); the output goes to `log`.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            [str(LMSPLANS), *command, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_healthy(server, startup_seconds)
        yield server
    finally:
        server.stop()


def _wait_healthy(server: ServerProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy within {seconds} s:\n{server.log_text()}")


@dataclass(frozen=True)
class DemoSite:
    """A database loaded by `lmsplans demo --no-serve`, and what the command wrote."""

    root: Path
    database: Path
    port: int
    env: dict[str, str]
    credentials: dict[str, str]
    stdout: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def load_demo(
    root: Path, *, env_extra: dict[str, str] | None = None, learners: int = DEMO_LEARNERS
) -> DemoSite:
    root.mkdir(parents=True, exist_ok=True)
    database = root / "x.db"
    env = cli_env(database, **(env_extra or {}))
    port = free_port()
    credentials_file = root / "credentials.json"
    result = run_cli(
        "demo",
        "--no-serve",
        "--learners",
        str(learners),
        "--port",
        str(port),
        "--credentials-out",
        str(credentials_file),
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    credentials = json.loads(credentials_file.read_text())
    return DemoSite(root, database, port, env, credentials, result.stdout)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    """A small demo database (with the short lock settings in its environment)."""
    return load_demo(tmp_path_factory.mktemp("demo"), env_extra=SHORT_LOCK)


@pytest.fixture(scope="module")
def server(demo_site: DemoSite) -> Iterator[ServerProcess]:
    """`lmsplans serve` on the demo database, on the port the demo announced."""
    with running_server(
        demo_site.env, port=demo_site.port, log=demo_site.root / "serve.log"
    ) as process:
        yield process
