"""Live servers for the client's tests: the real app, served by uvicorn on 127.0.0.1.

The sync client needs a real socket (httpx's ASGI transport is async-only), so each server is
uvicorn in a thread of the test process, on a pre-bound loopback socket, over one demo
database built once per session. The servers differ only in their limiter and token settings.
Nothing here mocks the server: `RecordingTransport` and `FaultyTransport` wrap httpx's real
transport to count answers and to lose connections, as a network would.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager

from lmsplans.demo import DemoPeople, build_demo, mint_demo_tokens
from lmsplans.server.app import create_app
from lmsplans.server.auth.service import create_client
from lmsplans.server.settings import Settings

EXPORT_LEARNERS = 220  # the demo organisation's size: over 200 learners to export
REFERENCE_API = "GET /api/v1/learners/{learnerId}/learning-plans/progress"
STARTUP_SECONDS = 10.0


@dataclass(frozen=True)
class DemoDatabase:
    path: Path
    url: str
    people: DemoPeople
    admin_token: str
    manager_token: str
    learner_token: str


@dataclass
class LiveServer:
    """A running server: its URL, its settings and the thread serving it."""

    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass(frozen=True)
class SelfClient:
    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str


async def _prepare(url: str) -> tuple[DemoPeople, list[str]]:
    app = create_app(Settings(database_url=url))
    async with LifespanManager(app, startup_timeout=60):
        db = app.state.services.db
        now_ms = time.time_ns() // 1_000_000
        people = await build_demo(db, now_ms=now_ms, learners=EXPORT_LEARNERS)
        tokens = await mint_demo_tokens(db, people=people, now_ms=now_ms, ttl_seconds=7200)
    return people, [tokens.admin_token, tokens.manager_token, tokens.learner_token]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    """The demo organisation with 220 learners, in a SQLite file shared by every server."""
    path = tmp_path_factory.mktemp("client") / "demo.db"
    url = f"sqlite:///{path}"
    people, (admin, manager, learner) = asyncio.run(_prepare(url))
    return DemoDatabase(path, url, people, admin, manager, learner)


def new_self_client(demo_db: DemoDatabase, *, ttl_seconds: int) -> SelfClient:
    """A self client of the demo admin (as `lmsplans client create` makes), whose first access
    token lives `ttl_seconds`."""

    async def make() -> SelfClient:
        app = create_app(Settings(database_url=demo_db.url))
        async with LifespanManager(app, startup_timeout=60):
            db = app.state.services.db
            async with db.transaction() as conn:
                new = await create_client(
                    conn,
                    org_id=demo_db.people.org_id,
                    user_id=demo_db.people.admin_id,
                    scopes="ZOHOPEOPLE.training.ALL",
                    name="client tests",
                    now_ms=time.time_ns() // 1_000_000,
                    ttl_seconds=ttl_seconds,
                )
        return SelfClient(new.client_id, new.client_secret, new.refresh_token, new.access_token)

    return asyncio.run(make())


def start_server(demo_db: DemoDatabase, **overrides: Any) -> LiveServer:
    # No access log: this server runs in the test's process, whose stdout a command run
    # in-process (CliRunner) answers on.
    settings = Settings(database_url=demo_db.url, **{"access_log": False, **overrides})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    return LiveServer(f"http://127.0.0.1:{port}", settings, server, thread)


@pytest.fixture(scope="session")
def open_server(demo_db: DemoDatabase) -> Iterator[LiveServer]:
    """A server whose threshold no test reaches: for everything but pacing."""
    server = start_server(demo_db, rate_limit_threshold=100_000)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def paced_server(demo_db: DemoDatabase) -> Iterator[LiveServer]:
    """30 calls per 2 s window, a 5 s lock: the Zoho rule, 30 times faster."""
    server = start_server(
        demo_db,
        rate_limit_threshold=30,
        rate_limit_window_seconds=2,
        rate_limit_lock_seconds=5,
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fast_server(demo_db: DemoDatabase) -> Iterator[LiveServer]:
    """30 calls per 1 s window, a 3 s lock: for the longer jobs that are not timed."""
    server = start_server(
        demo_db,
        rate_limit_threshold=30,
        rate_limit_window_seconds=1,
        rate_limit_lock_seconds=3,
    )
    yield server
    server.stop()


@dataclass
class Exchange:
    method: str
    path: str
    status: int | None  # None: the connection failed
    headers: dict[str, str]


@dataclass
class RecordingTransport(httpx.BaseTransport):
    """httpx's real transport, keeping a log of every request and the status it got."""

    log: list[Exchange] = field(default_factory=list)
    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request.method, request.url.path, None, dict(request.headers))
        try:
            response = self.inner.handle_request(request)
        finally:
            with self.lock:
                self.log.append(exchange)
        exchange.status = response.status_code
        return response

    def statuses(self, path_part: str = "") -> list[int | None]:
        return [e.status for e in self.log if path_part in e.path]

    def close(self) -> None:
        self.inner.close()


@dataclass
class FaultyTransport(RecordingTransport):
    """Loses connections: `refuse` requests fail before reaching the server (connect error),
    then `drop` requests reach it but their answers are lost (read error)."""

    refuse: int = 0
    drop: int = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse > 0:
            self.refuse -= 1
            self.log.append(Exchange(request.method, request.url.path, None, dict(request.headers)))
            raise httpx.ConnectError("connection refused (injected)", request=request)
        response = super().handle_request(request)
        if self.drop > 0:
            self.drop -= 1
            response.read()
            response.close()
            self.log[-1].status = None
            raise httpx.ReadError("connection reset (injected)", request=request)
        return response


def expected_enrolments(demo_db: DemoDatabase) -> set[tuple[str, str]]:
    """(learner, plan) of every active enrolment in a published plan, read from the database
    itself: what a complete export must hold, once each."""
    with closing(sqlite3.connect(demo_db.path)) as conn:
        rows = conn.execute(
            """SELECT e.learner_id, e.plan_id FROM plan_enrolments e
                 JOIN learning_plans p ON p.id = e.plan_id
                WHERE e.unenrolled_time IS NULL AND p.publish_state = 1 AND p.org_id = ?""",
            (demo_db.people.org_id,),
        ).fetchall()
    return {(str(learner), str(plan)) for learner, plan in rows}


@pytest.fixture
def make_client() -> Iterator[Any]:
    """`Client(...)`, closed after the test."""
    from lmsplans.client import Client

    made: list[Client] = []

    def make(**kwargs: Any) -> Client:
        client = Client(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def pacing_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's clients keep their pacing state in a file of their own (not in the user's
    cache directory); subprocesses find it through XDG_CACHE_HOME, which they inherit."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("LMSPLANS_PACING_STATE", raising=False)
    return cache / "lmsplans" / "pacing.sqlite3"
