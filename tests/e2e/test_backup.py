"""Backups taken while a real server records progress, and what they restore to.

SQLite: `lmsplans backup` mid-load holds some of the writes and not others, and the database
`lmsplans restore` makes of it replays to its own state, event for event. A restore refuses
a database a server has open unless told (`--force`), and then that server answers the
restored data at once. PostgreSQL: the `pg_dump` and `pg_restore` commands that `lmsplans
backup` and `restore` print are run as printed, under the same load.
"""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.api.test_progress_writes import assert_replay_matches
from tests.databases import postgres_admin_url
from tests.e2e.conftest import (
    DEMO_LEARNERS,
    DemoSite,
    cli_env,
    free_port,
    load_demo,
    run_cli,
    running_server,
)
from tests.e2e.test_durability import (
    ROOMY_LIMIT,
    assert_projection_is_the_replay,
    auth,
    new_plan,
    progress_path,
    rows,
)

pytestmark = pytest.mark.slow

MAX_WRITES = 5000
WAIT_SECONDS = 30.0
WRITES_AROUND_BACKUP = 25


class WriteLoad:
    """One thread recording progress through the API until stopped (at most `MAX_WRITES`),
    every write a change of state; counts the writes answered 200."""

    def __init__(self, base_url: str, token: str, pairs: list[tuple[str, str]]) -> None:
        self.acknowledged = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base_url, token, pairs))

    def _run(self, base_url: str, token: str, pairs: list[tuple[str, str]]) -> None:
        with httpx.Client(base_url=base_url, headers=auth(token), timeout=10) as http:
            for n in range(MAX_WRITES):
                if self._stop.is_set():
                    return
                course, learner = pairs[n % len(pairs)]
                response = http.put(
                    progress_path(course, learner),
                    json={"completionPercentage": 1 + (n // len(pairs)) % 98},
                    headers={"Idempotency-Key": f"backup-load-{n}"},
                )
                if response.status_code != 200:
                    self.failures.append(response.text)
                    return
                self.acknowledged += 1

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.acknowledged < count:
            assert not self.failures, self.failures
            assert time.monotonic() < deadline, f"{self.acknowledged} writes of {count}"
            time.sleep(0.01)

    def __enter__(self) -> WriteLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        assert not self._thread.is_alive()
        assert not self.failures, self.failures


def loaded_site(base_url: str, token: str) -> list[tuple[str, str]]:
    courses, learners = new_plan(base_url, token, courses=2, learners=4)
    return [(course, learner) for learner in learners for course in courses]


def event_count(database: Path) -> int:
    return int(rows(database, "SELECT count(*) FROM progress_events")[0][0])


def percentage(database: Path, course: str, learner: str) -> int:
    [row] = rows(
        database,
        "SELECT percentage FROM course_progress WHERE course_id = ? AND learner_id = ?",
        (int(course), int(learner)),
    )
    return int(row["percentage"])


@pytest.fixture
def site(tmp_path: Path) -> DemoSite:
    return load_demo(tmp_path / "site", env_extra=ROOMY_LIMIT)


def test_a_backup_under_write_load_restores_to_a_consistent_history(
    site: DemoSite, tmp_path: Path
) -> None:
    copy = tmp_path / "backups" / "lmsplans-backup.db"
    token = site.credentials["admin_token"]
    with running_server(site.env, port=free_port(), log=tmp_path / "serve.log") as server:
        pairs = loaded_site(server.base_url, token)
        before = event_count(site.database)
        with WriteLoad(server.base_url, token, pairs) as load:
            load.wait_for(WRITES_AROUND_BACKUP)
            taken = run_cli("backup", str(copy), env=site.env)
            load.wait_for(load.acknowledged + WRITES_AROUND_BACKUP)
        assert taken.returncode == 0, taken.stdout + taken.stderr
        # A server has the database open: restoring over it is refused, and changes nothing.
        live_events = event_count(site.database)
        refused = run_cli("restore", str(copy), env=site.env)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "is open in another process (a running server?)" in refused.stderr
        assert "Nothing was changed." in refused.stderr
        assert event_count(site.database) == live_events

    in_backup = event_count(copy)
    assert before < in_backup < live_events, "the backup was not taken under load"
    assert f"Backed up {site.database} to {copy}: " in taken.stdout
    assert f"{in_backup} progress events" in taken.stdout
    assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file
    assert_projection_is_the_replay(copy)

    restored = tmp_path / "restored" / "lmsplans.db"
    env = cli_env(restored, **ROOMY_LIMIT)
    done = run_cli("restore", str(copy), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Restored {copy} into {restored}: " in done.stdout
    assert "saved at" not in done.stdout  # there was nothing to replace
    assert event_count(restored) == in_backup
    assert_projection_is_the_replay(restored)
    with closing(sqlite3.connect(restored)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        history = conn.execute("SELECT * FROM progress_events ORDER BY id").fetchall()
    with closing(sqlite3.connect(copy)) as conn:
        assert history == conn.execute("SELECT * FROM progress_events ORDER BY id").fetchall()
    # And it serves what it holds.
    course, learner = pairs[0]
    with running_server(env, port=free_port(), log=tmp_path / "restored.log") as server:
        answer = httpx.get(
            f"{server.base_url}{progress_path(course, learner)}", headers=auth(token)
        )
    assert answer.status_code == 200, answer.text
    expected = str(percentage(copy, course, learner))
    assert answer.json()["courseProgress"]["completionPercentage"] == expected


def test_a_forced_restore_is_served_at_once_by_the_running_server(
    site: DemoSite, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    token = site.credentials["admin_token"]
    with running_server(site.env, port=free_port(), log=tmp_path / "serve.log") as server:
        [(course, learner), *_] = loaded_site(server.base_url, token)
        url = f"{server.base_url}{progress_path(course, learner)}"
        with httpx.Client(headers=auth(token), timeout=10) as http:
            assert http.put(url, json={"completionPercentage": 10}).status_code == 200
            assert run_cli("backup", str(copy), env=site.env).returncode == 0
            assert http.put(url, json={"completionPercentage": 60}).status_code == 200
            assert http.get(url).json()["courseProgress"]["completionPercentage"] == "60"
            events = event_count(site.database)

            done = run_cli("restore", "--force", str(copy), env=site.env)
            assert done.returncode == 0, done.stdout + done.stderr
            assert http.get(url).json()["courseProgress"]["completionPercentage"] == "10"
    assert "A server had it open: its next requests see the restored data." in done.stdout
    [saved_line] = [line for line in done.stdout.splitlines() if "saved at" in line]
    previous = Path(saved_line.rsplit(" ", 1)[1].rstrip("."))
    assert previous.name.startswith("x.db.before-restore-")
    assert percentage(previous, course, learner) == 60  # the replaced state, kept
    assert event_count(previous) == events
    assert event_count(site.database) == event_count(copy) == events - 1
    assert_projection_is_the_replay(site.database)


def test_backup_and_restore_refuse_what_they_cannot_do(site: DemoSite, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_text("not a backup")
    again = run_cli("backup", str(copy), env=site.env)
    assert again.returncode == 1
    assert f"{copy} exists: choose another file, or pass --force" in again.stderr
    assert copy.read_text() == "not a backup"
    events = event_count(site.database)
    broken = run_cli("restore", str(copy), env=site.env)
    assert broken.returncode == 1
    assert f"{copy} is not an lmsplans database" in broken.stderr
    assert event_count(site.database) == events
    replaced = run_cli("backup", "--force", str(copy), env=site.env)
    assert replaced.returncode == 0, replaced.stderr
    assert event_count(copy) == events
    missing = run_cli("backup", str(tmp_path / "b.db"), env=cli_env(tmp_path / "none.db"))
    assert missing.returncode == 1
    assert f"No database at {tmp_path / 'none.db'}: nothing to back up" in missing.stderr
    # On PostgreSQL it says which command does it, without the password (nor connecting).
    secret = cli_env(tmp_path / "x.db", LMSPLANS_DATABASE_URL="postgresql://app:s3cret@db.x/lms")
    told = run_cli("backup", str(tmp_path / "pg.dump"), env=secret)
    assert told.returncode == 2
    assert printed_command(told.stderr, "pg_dump ")[-1] == "postgresql://app@db.x/lms"
    assert "the password is left out: give it in PGPASSWORD or ~/.pgpass" in told.stderr
    for result in (again, broken, missing, told):
        assert "Traceback" not in result.stderr
        assert "s3cret" not in result.stderr


# --- PostgreSQL ---------------------------------------------------------------------------


def _admin(statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(postgres_admin_url())
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def postgres_databases(postgres_skip_reason: str | None) -> Iterator[tuple[str, str]]:
    """Two new, empty databases: the live one and the one to restore into."""
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    names = [f"lmsplans_backup_{uuid.uuid4().hex[:8]}_{role}" for role in ("live", "restored")]
    for name in names:
        _admin(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def printed_command(stderr: str, program: str) -> list[str]:
    [line] = [line.strip() for line in stderr.splitlines() if line.strip().startswith(program)]
    return shlex.split(line)


def postgres_replay(url: str) -> int:
    """Replay the database's events, compare with its state; answers the number of events."""

    async def read() -> int:
        conn = await asyncpg.connect(url)
        try:
            events = await conn.fetch("SELECT * FROM progress_events ORDER BY id")
            assert_replay_matches(
                events,
                await conn.fetch("SELECT * FROM course_progress"),
                await conn.fetch("SELECT * FROM plan_enrolments"),
            )
            return len(events)
        finally:
            await conn.close()

    return asyncio.run(read())


def test_postgresql_backups_are_pg_dump_and_pg_restore_as_printed(
    postgres_databases: tuple[str, str], tmp_path: Path
) -> None:
    live, target = postgres_databases
    dump = tmp_path / "lmsplans.dump"
    env = cli_env(tmp_path / "unused.db", LMSPLANS_DATABASE_URL=live, **ROOMY_LIMIT)
    demo = run_cli("demo", "--no-serve", "--learners", str(DEMO_LEARNERS), env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    token = next(line.split()[-1] for line in demo.stdout.splitlines() if "admin    token:" in line)
    with running_server(env, port=free_port(), log=tmp_path / "serve.log") as server:
        pairs = loaded_site(server.base_url, token)
        with WriteLoad(server.base_url, token, pairs) as load:
            load.wait_for(WRITES_AROUND_BACKUP)
            told = run_cli("backup", str(dump), env=env)
            assert told.returncode == 2, told.stdout + told.stderr
            assert "The database is PostgreSQL, whose own tools do this" in told.stderr
            assert not dump.exists()
            pg_dump = printed_command(told.stderr, "pg_dump ")
            assert pg_dump == ["pg_dump", "--format=custom", f"--file={dump}", live]
            subprocess.run(pg_dump, check=True, timeout=120)  # noqa: S603 - as printed
            load.wait_for(load.acknowledged + WRITES_AROUND_BACKUP)
    live_events = postgres_replay(live)

    restore_env = {**env, "LMSPLANS_DATABASE_URL": target}
    told = run_cli("restore", str(dump), env=restore_env)
    assert told.returncode == 2, told.stdout + told.stderr
    assert "stop every server, then restore with pg_restore" in told.stderr
    pg_restore = printed_command(told.stderr, "pg_restore ")
    assert pg_restore[-1] == str(dump) and f"--dbname={target}" in pg_restore
    subprocess.run(pg_restore, check=True, timeout=120, capture_output=True)  # noqa: S603
    restored_events = postgres_replay(target)
    assert 0 < restored_events < live_events, "the dump was not taken under load"
    # The restored database serves, at the schema's head.
    with running_server(restore_env, port=free_port(), log=tmp_path / "restored.log") as server:
        course, learner = pairs[0]
        answer = httpx.get(
            f"{server.base_url}{progress_path(course, learner)}", headers=auth(token)
        )
    assert answer.status_code == 200, answer.text
