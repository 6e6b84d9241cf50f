"""`lmsplans worker` killed with SIGKILL mid-delivery loses nothing: the delivery it had
claimed is sent again by the next deliverer, with the same `webhook-id`, and every event
arrives in order, verified with the standardwebhooks package. On both backends."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lmsplans.demo import build_demo
from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks import service
from lmsplans.server.webhooks.delivery import LEASE_MS
from lmsplans.server.webhooks.schemas import WebhookIn
from lmsplans.server.webhooks.secrets import SecretBox
from lmsplans.server.writes import WriteContext
from tests.conftest import TEST_WEBHOOK_KEY
from tests.e2e.conftest import LMSPLANS, cli_env
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.slow

EVENTS = [f"evt-{n}" for n in range(1, 4)]


async def _setup(database_url: str, url: str) -> str:
    """An organisation with one endpoint at `url` and three events queued for it; answers
    the endpoint's secret."""
    db = await Database.open(database_url, pool_size=2)
    try:
        now = Clock().now_ms()
        people = await build_demo(db, now_ms=now, learners=3)
        write = WriteContext(org_id=people.org_id, actor_id=None, source="test", now_ms=now)
        box = SecretBox(key=TEST_WEBHOOK_KEY, key_file=Path("unused"))
        async with db.transaction() as conn:
            _, secret = await service.create_endpoint(
                conn, write=write, data=WebhookIn(url=url, eventTypes=["*"]), box=box, url=url
            )
            for event_id in EVENTS:
                event = {"id": event_id, "type": "plan.published", "occurredTime": str(now)}
                await service.enqueue_event(conn, org_id=people.org_id, event=event)
        return secret
    finally:
        await db.close()


async def _states(database_url: str) -> list[tuple[str, str]]:
    db = await Database.open(database_url, pool_size=1)
    try:
        async with db.read() as conn:
            rows = await conn.fetch_all(
                "SELECT event_id, state FROM webhook_deliveries ORDER BY id", {}
            )
        return [(row["event_id"], row["state"]) for row in rows]
    finally:
        await db.close()


def _worker(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = cli_env(
        log.parent / "unused.db",
        LMSPLANS_DATABASE_URL=database_url,
        LMSPLANS_WEBHOOK_SECRET_KEY=TEST_WEBHOOK_KEY,
        LMSPLANS_WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        LMSPLANS_DATA_DIR=str(log.parent),
    )
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            [str(LMSPLANS), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_held(receiver: Receiver, worker: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while not receiver.held.wait(0.2):
        if worker.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no delivery arrived; the worker said:\n{log.read_text()}")


def test_a_killed_worker_loses_nothing(database_url: str, tmp_path: Path) -> None:
    Settings(database_url=database_url)  # a valid URL for the worker
    with receiving() as receiver:
        secret = asyncio.run(_setup(database_url, receiver.url))
        receiver.holding.set()  # the first delivery is held open: the worker is mid-send
        log = tmp_path / "worker.log"
        first = _worker(database_url, log)
        try:
            _wait_held(receiver, first, log)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert first.returncode == -signal.SIGKILL
        receiver.release()  # the killed worker's request is answered to nobody
        assert asyncio.run(_states(database_url)) == [(e, "pending") for e in EVENTS]

        second = _worker(database_url, log)
        try:
            # The claim runs out (LEASE_MS), then everything goes out, the first again.
            got = receiver.wait_for(4, timeout=LEASE_MS / 1000 + 30)
            deadline = time.monotonic() + 30  # and records the last outcome
            while asyncio.run(_states(database_url))[-1][1] != "delivered":
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
        assert second.returncode == 0, log.read_text()
    assert [r.webhook_id for r in got] == ["evt-1", *EVENTS]
    assert [r.verified(secret)["id"] for r in got] == ["evt-1", *EVENTS]
    assert asyncio.run(_states(database_url)) == [(e, "delivered") for e in EVENTS]
