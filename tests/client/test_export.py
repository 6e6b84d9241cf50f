"""`export_plan_progress` against real servers: pacing, locks, crashes, formats."""

from __future__ import annotations

import csv
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from lmsplans.client import Client
from lmsplans.client.export import (
    COLUMN_NAMES,
    ExportError,
    export_plan_progress,
    learners_from_rosters,
)
from tests.client.conftest import (
    REFERENCE_API,
    DemoDatabase,
    LiveServer,
    RecordingTransport,
    expected_enrolments,
    start_server,
)

MakeClient = Callable[..., Client]
LMSPLANS = Path(sys.executable).parent / "lmsplans"


@pytest.fixture
def fast(demo_db: DemoDatabase) -> Iterator[LiveServer]:
    """A server of its own (the limiter counts per user): 30 calls a second, a 3 s lock."""
    server = start_server(
        demo_db, rate_limit_threshold=30, rate_limit_window_seconds=1, rate_limit_lock_seconds=3
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def everyone(open_server: LiveServer, demo_db: DemoDatabase) -> list[str]:
    with Client(base_url=open_server.url, access_token=demo_db.admin_token) as client:
        return learners_from_rosters(client)


def csv_keys(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(row["user_id"], row["plan_id"]) for row in rows]


def jsonl_keys(path: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(row["user_id"], row["plan_id"]) for row in rows]


def assert_exactly_once(keys: list[tuple[str, str]], demo_db: DemoDatabase) -> None:
    assert len(keys) == len(set(keys)), "a row appears twice"
    assert set(keys) == expected_enrolments(demo_db), "rows are missing or foreign"


class StopAfter:
    """A progress hook that interrupts the export like Ctrl-C after `n` learners."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    def start(self, total: int, done: int) -> None:
        self.total, self.done = total, done

    def advance(self, learner: str, rows: int) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def test_rosters_name_every_enrolled_learner_once(
    everyone: list[str], demo_db: DemoDatabase
) -> None:
    assert len(everyone) == len(set(everyone)) >= 200
    assert set(everyone) == {learner for learner, _ in expected_enrolments(demo_db)}


@pytest.mark.slow
def test_a_paced_export_of_over_200_learners_meets_no_429_and_no_wasted_time(
    make_client: MakeClient, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    server = start_server(
        demo_db, rate_limit_threshold=30, rate_limit_window_seconds=2, rate_limit_lock_seconds=5
    )
    try:
        transport = RecordingTransport()
        client = make_client(
            base_url=server.url, access_token=demo_db.admin_token, transport=transport
        )
        out = tmp_path / "progress.csv"
        began = time.monotonic()
        result = export_plan_progress(
            client, out=out, fmt="csv", learners=lambda: learners_from_rosters(client)
        )
        elapsed = time.monotonic() - began
    finally:
        server.stop()
    assert 429 not in transport.statuses()
    assert set(transport.statuses()) == {200}
    calls = sum(1 for e in transport.log if e.path.endswith("/learning-plans/progress"))
    assert calls == result.learners >= 200
    # 30 calls per 2 s: the n-th call can go no earlier than ((n - 1) // 30) * 2 s.
    shortest = (calls - 1) // 30 * 2.0
    assert shortest <= elapsed <= shortest * 1.10, (elapsed, shortest)
    assert client.governor.stats(REFERENCE_API).threshold == 30  # adopted from the server
    assert_exactly_once(csv_keys(out), demo_db)
    assert result.rows == len(expected_enrolments(demo_db))
    assert not out.with_name(out.name + ".state").exists()


def exhaust(url: str, token: str, learner: int) -> int:
    """Another client of the same user calls until the server locks the API; the calls."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Zoho-oauthtoken {token}"}) as h:
        for n in range(1, 200):
            if h.get(f"/api/v1/learners/{learner}/learning-plans/progress").status_code == 429:
                return n
    raise AssertionError("the server never locked")


@pytest.mark.slow
def test_a_lock_injected_mid_export_is_waited_out_and_every_row_kept_once(
    make_client: MakeClient, demo_db: DemoDatabase, fast: LiveServer, tmp_path: Path
) -> None:
    transport = RecordingTransport()
    client = make_client(base_url=fast.url, access_token=demo_db.admin_token, transport=transport)
    injected: list[float] = []

    class LockAt:
        def start(self, total: int, done: int) -> None:
            pass

        def advance(self, learner: str, rows: int) -> None:
            if len(injected) == 0 and learner == everyone_ids[90]:
                exhaust(fast.url, demo_db.admin_token, demo_db.people.learner_id)
                injected.append(time.monotonic())

    with Client(base_url=fast.url, access_token=demo_db.admin_token) as lister:
        everyone_ids = learners_from_rosters(lister)
    out = tmp_path / "progress.jsonl"
    result = export_plan_progress(
        client, out=out, fmt="jsonl", learners=everyone_ids, progress=LockAt()
    )
    assert injected, "the lock was never injected"
    statuses = transport.statuses("/learning-plans/progress")
    assert statuses.count(429) == 1  # met once, then waited out
    assert client.governor.stats(REFERENCE_API).locks == 1
    assert result.exported == len(everyone_ids)
    assert_exactly_once(jsonl_keys(out), demo_db)


@pytest.mark.slow
def test_an_export_killed_half_way_and_rerun_has_no_duplicates_and_no_gaps(
    demo_db: DemoDatabase, fast: LiveServer, tmp_path: Path, everyone: list[str]
) -> None:
    out = tmp_path / "progress.csv"
    state = out.with_name(out.name + ".state")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    env.update(
        LMSPLANS_BASE_URL=fast.url,
        LMSPLANS_ACCESS_TOKEN=demo_db.admin_token,
        NO_COLOR="1",
        COLUMNS="120",
    )
    # One call per learner (the journal counts learners); the roster path is tested apart.
    command = [str(LMSPLANS), "export", "--format", "csv", "--out", str(out), "--via", "learners"]
    first = subprocess.Popen(  # noqa: S603 - our own console script
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if state.exists() and state.read_bytes().count(b"\n") > len(everyone) // 2:
                break
            time.sleep(0.005)
        else:
            raise AssertionError("the export did not get half way")
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    journal = state.read_bytes().count(b"\n") - 1
    assert len(everyone) // 2 <= journal < len(everyone)  # killed part way
    second = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "resumed after" in second.stdout
    assert_exactly_once(csv_keys(out), demo_db)
    assert out.read_text().count("learner,user_id,") == 1  # one header
    assert not state.exists()


def test_ctrl_c_then_a_half_written_learner_then_resume(
    make_client: MakeClient,
    open_server: LiveServer,
    demo_db: DemoDatabase,
    tmp_path: Path,
    everyone: list[str],
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    out = tmp_path / "progress.jsonl"
    state = out.with_name(out.name + ".state")
    with pytest.raises(KeyboardInterrupt):
        export_plan_progress(
            client, out=out, fmt="jsonl", learners=everyone, progress=StopAfter(50)
        )
    assert state.read_bytes().count(b"\n") == 51  # the header and 50 learners
    # Now a crash in the middle of the next learner: rows without a journal entry, half a
    # line, and half a journal line.
    with out.open("ab") as data:
        data.write(b'{"learner": "' + everyone[50].encode() + b'", "user_id": "1"}\n{"learn')
    with state.open("ab") as log:
        log.write(b'{"learner": "' + everyone[50].encode())
    result = export_plan_progress(client, out=out, fmt="jsonl", learners=everyone)
    assert result.resumed_from == 50 and result.exported == len(everyone) - 50
    assert_exactly_once(jsonl_keys(out), demo_db)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(rows[0]) == COLUMN_NAMES
    assert isinstance(rows[0]["progress_percentage"], int)
    assert isinstance(rows[0]["is_overdue"], bool)
    assert rows[0]["enrolled_time"].endswith("+00:00")


def test_parquet_resumes_and_types_its_columns(
    make_client: MakeClient,
    open_server: LiveServer,
    demo_db: DemoDatabase,
    tmp_path: Path,
    everyone: list[str],
) -> None:
    # pyarrow is a dev dependency (the `export-parquet` extra): missing, this test fails.
    pq = importlib.import_module("pyarrow.parquet")
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    out = tmp_path / "progress.parquet"
    with pytest.raises(KeyboardInterrupt):
        export_plan_progress(
            client, out=out, fmt="parquet", learners=everyone, progress=StopAfter(70)
        )
    assert not out.exists()  # parquet appears only when complete
    part = out.with_name(out.name + ".part.jsonl")
    with part.open("ab") as data:
        data.write(b'{"learner": "half a row')
    result = export_plan_progress(client, out=out, fmt="parquet", learners=everyone)
    assert result.resumed_from == 70
    table = pq.read_table(out)
    assert table.column_names == COLUMN_NAMES
    assert str(table.schema.field("enrolled_time").type) == "timestamp[ms, tz=UTC]"
    assert str(table.schema.field("progress_percentage").type) == "int64"
    assert str(table.schema.field("is_overdue").type) == "bool"
    keys = list(
        zip(table.column("user_id").to_pylist(), table.column("plan_id").to_pylist(), strict=True)
    )
    assert_exactly_once(keys, demo_db)
    assert not part.exists() and not out.with_name(out.name + ".state").exists()


def test_csv_from_a_learners_file_skips_unknown_learners(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    out = tmp_path / "some.csv"
    learners = ["learner@zylker.example", "nobody@nowhere.example", "learner@zylker.example"]
    with pytest.raises(KeyboardInterrupt):
        export_plan_progress(client, out=out, fmt="csv", learners=learners, progress=StopAfter(1))
    with out.open("ab") as data:
        data.write(b"learner@zylker.example,100002000000040")  # half a row
    result = export_plan_progress(client, out=out, fmt="csv", learners=learners)
    assert result.learners == 2 and result.rows == 4  # repeats dropped
    assert result.skipped == [("nobody@nowhere.example", "404 7048: No such learner")]
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == COLUMN_NAMES and len(rows) == 5
    assert {row[0] for row in rows[1:]} == {"learner@zylker.example"}
    assert {row[1] for row in rows[1:]} == {str(demo_db.people.learner_id)}
    assert all(row[COLUMN_NAMES.index("is_overdue")] in ("true", "false") for row in rows[1:])


def test_an_existing_output_is_kept_unless_overwrite(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)
    out = tmp_path / "progress.csv"
    out.write_text("precious\n")
    learners = ["learner@zylker.example"]
    with pytest.raises(ExportError, match="already exists"):
        export_plan_progress(client, out=out, fmt="csv", learners=learners)
    assert out.read_text() == "precious\n"
    result = export_plan_progress(client, out=out, fmt="csv", learners=learners, overwrite=True)
    assert result.rows == 4 and "precious" not in out.read_text()

    with pytest.raises(KeyboardInterrupt):
        export_plan_progress(
            client, out=tmp_path / "x.csv", fmt="csv", learners=learners, progress=StopAfter(1)
        )
    (tmp_path / "x.csv.state").write_bytes(
        (tmp_path / "x.csv.state").read_bytes().split(b"\n")[0] + b"\n"
    )
    with pytest.raises(ExportError, match="--format csv"):
        export_plan_progress(client, out=tmp_path / "x.csv", fmt="jsonl", learners=learners)


@pytest.mark.slow
def test_a_token_expiring_mid_job_is_refreshed_once_and_the_job_continues(
    make_client: MakeClient, demo_db: DemoDatabase, tmp_path: Path, everyone: list[str]
) -> None:
    from tests.client.conftest import new_self_client

    server = start_server(demo_db, rate_limit_threshold=10, rate_limit_window_seconds=1)
    try:
        creds = new_self_client(demo_db, ttl_seconds=2)  # its first access token lives 2 s
        transport = RecordingTransport()
        client = make_client(
            base_url=server.url,
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            transport=transport,
        )
        result = export_plan_progress(
            client, out=tmp_path / "p.csv", fmt="csv", learners=everyone[:40]
        )
    finally:
        server.stop()
    assert result.exported == 40
    statuses = transport.statuses()
    assert statuses[0] == 200  # the first token worked for a while...
    assert statuses.count(401) == 1  # ...until it expired, once
    assert [e.path for e in transport.log].count("/oauth/v2/token") == 1
    assert client.token_refreshes == 1
    assert len(csv_keys(tmp_path / "p.csv")) == result.rows > 40


@pytest.mark.slow
def test_tokens_are_refreshed_before_they_expire(
    make_client: MakeClient, demo_db: DemoDatabase, everyone: list[str]
) -> None:
    from tests.client.conftest import new_self_client

    server = start_server(
        demo_db, rate_limit_threshold=10, rate_limit_window_seconds=1, access_token_ttl_seconds=3
    )
    try:
        creds = new_self_client(demo_db, ttl_seconds=3)
        transport = RecordingTransport()
        client = make_client(
            base_url=server.url,
            refresh_token=creds.refresh_token,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            transport=transport,
        )
        began = time.monotonic()
        counts = [len(client.learners.learning_plans_progress(x).to_list()) for x in everyone[:40]]
        elapsed = time.monotonic() - began
    finally:
        server.stop()
    assert all(counts) and 2.7 < elapsed < 5.4
    assert 401 not in transport.statuses()
    assert client.token_refreshes == 2  # the first token, and one before it expired


def test_a_run_that_died_before_its_first_row_starts_cleanly(
    make_client: MakeClient, open_server: LiveServer, demo_db: DemoDatabase, tmp_path: Path
) -> None:
    client = make_client(base_url=open_server.url, access_token=demo_db.admin_token)

    def interrupted() -> list[str]:
        raise KeyboardInterrupt  # Ctrl-C while the learners are being listed

    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"progress.{fmt}"
        with pytest.raises(KeyboardInterrupt):
            export_plan_progress(client, out=out, fmt=fmt, learners=interrupted)
        out.unlink()  # as if the run died between its journal and its output
        result = export_plan_progress(client, out=out, fmt=fmt, learners=["learner@zylker.example"])
        assert result.rows == 4 and result.resumed_from == 0
        assert len(out.read_text().splitlines()) == 4 + (fmt == "csv")


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_stops_cleanly_and_says_how_to_resume(
    demo_db: DemoDatabase, fast: LiveServer, tmp_path: Path
) -> None:
    out = tmp_path / "progress.csv"
    state = out.with_name(out.name + ".state")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMSPLANS_")}
    env.update(LMSPLANS_BASE_URL=fast.url, LMSPLANS_ACCESS_TOKEN=demo_db.admin_token)
    run = subprocess.Popen(  # noqa: S603 - our own console script
        [str(LMSPLANS), "export", "--out", str(out), "--via", "learners"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a terminal's Ctrl-C finds it: a shell starts background jobs (a test run
        # launched with `&`) with SIGINT ignored, and Python then never raises
        # KeyboardInterrupt.
        preexec_fn=_interruptible,
    )
    try:
        deadline = time.monotonic() + 30
        while not (state.exists() and state.read_bytes().count(b"\n") > 40):
            assert time.monotonic() < deadline, "the export did not start"
            time.sleep(0.01)
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 130
    assert "Run the same command again to resume" in stderr
    exported = state.read_bytes().count(b"\n") - 1
    users = {user for user, _ in csv_keys(out)}
    # Every recorded learner's rows; at most one more learner's, written as Ctrl-C came and
    # cut off by the next run.
    assert exported <= len(users) <= exported + 1
