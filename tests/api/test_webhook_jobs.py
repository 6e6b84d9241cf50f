"""On PostgreSQL, pgqueuer carries the deliveries to the deliverers: its job is enqueued in
the write's own transaction (a rolled-back write wakes nobody), and a consumer listening on
its own connection delivers as soon as the write commits, with no sweep to wait for."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks import service
from lmsplans.server.webhooks.delivery import Deliverer
from lmsplans.server.webhooks.jobs import ENTRYPOINT
from lmsplans.server.webhooks.queue import JobConsumer
from lmsplans.server.webhooks.secrets import SecretBox
from tests.api.readdata import sql
from tests.api.test_progress_writes import Api, ok_body, token_for
from tests.webhook_receiver import Receiver, receiving


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: pgqueuer's jobs exist there (SQLite's one server process delivers
    from its own loop, tested in test_webhooks.py)."""
    reason = request.getfixturevalue("postgres_skip_reason")
    if reason:
        pytest.skip(reason)
    return "postgresql"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, rate_limit_threshold=10**6, webhook_allow_private_targets=True
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


async def jobs(services: Services) -> int:
    rows = await sql(
        services, "SELECT count(*) AS n FROM pgqueuer WHERE entrypoint = :e", {"e": ENTRYPOINT}
    )
    return int(rows[0]["n"])


def event(n: int) -> dict[str, Any]:
    return {"id": f"evt-{n}", "type": "plan.published", "occurredTime": "1764000000000"}


async def test_the_job_is_enqueued_in_the_writes_transaction(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    admin = Api(client, await token_for(services, demo, demo.people.admin_id))
    await admin.ok("POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "eventTypes": ["*"]})
    before = await jobs(services)
    with pytest.raises(RuntimeError):
        async with services.db.transaction() as conn:
            conn.changes.nothing_cached()  # events made up by the test: no write to record
            assert await service.enqueue_event(conn, org_id=demo.people.org_id, event=event(1))
            raise RuntimeError("the write fails after queuing")
    assert await jobs(services) == before
    assert await sql(services, "SELECT id FROM webhook_deliveries", {}) == []
    async with services.db.transaction() as conn:
        conn.changes.nothing_cached()
        await service.enqueue_event(conn, org_id=demo.people.org_id, event=event(2))
    assert await jobs(services) == before + 1


async def test_a_consumer_delivers_as_soon_as_the_write_commits(
    client: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    demo: DemoTokens,
    receiver: Receiver,
) -> None:
    admin = Api(client, await token_for(services, demo, demo.people.admin_id))
    made = await admin.ok("POST", "/webhooks", {"url": receiver.url, "eventTypes": ["*"]})
    secret = made["webhook"]["secret"]
    deliverer = Deliverer(
        services.db,
        clock=services.clock,
        box=SecretBox.from_settings(settings),
        allow_private=True,
    )
    consumer = JobConsumer(settings.database_url, deliverer)  # no sweep runs here
    await consumer.start()
    try:
        receiver.statuses = [500]
        async with services.db.transaction() as conn:
            conn.changes.nothing_cached()
            for n in (1, 2):
                await service.enqueue_event(conn, org_id=demo.people.org_id, event=event(n))
        for _ in range(300):  # up to 30 s
            if receiver.received:
                break
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
        await deliverer.close()
    # The first attempt failed: its retry is a job for when it falls due (5 s on).
    assert [(r.webhook_id, r.status) for r in receiver.received] == [("evt-1", 500)]
    assert receiver.received[0].verified(secret)["id"] == "evt-1"
    waiting = await sql(
        services,
        """SELECT count(*) AS n FROM pgqueuer WHERE entrypoint = :e AND status = 'queued'
            AND execute_after > now() + interval '3 seconds'""",
        {"e": ENTRYPOINT},
    )
    assert waiting[0]["n"] >= 1
    log = ok_body(await admin.send("GET", f"/webhooks/{made['webhook']['webhookId']}/deliveries"))
    assert [a["statusCode"] for a in log["deliveries"]] == ["500"]
