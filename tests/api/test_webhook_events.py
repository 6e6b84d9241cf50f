"""Webhooks carry the change feed (issue 13): progress recorded until a plan completes
reaches a receiver on loopback as signed deliveries, verified with the standardwebhooks
package, one by one the feed's own events (same ids, same bodies, same order). On both
backends; the app delivers nothing by itself here, the test runs the deliverer's passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks.delivery import Deliverer
from lmsplans.server.webhooks.secrets import SecretBox
from tests.api.test_events_feed import plan_with_learners, read_all
from tests.api.test_progress_writes import Api, ok_body
from tests.conftest import assert_error
from tests.webhook_receiver import Receiver, receiving


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        rate_limit_threshold=10**6,
        webhook_allow_private_targets=True,
    )


@pytest.fixture
def admin(client: httpx.AsyncClient, demo: DemoTokens) -> Api:
    return Api(client, demo.admin_token)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


@pytest.fixture
async def deliverer(services: Services, settings: Settings) -> Any:
    deliverer = Deliverer(
        services.db, clock=services.clock, box=SecretBox.from_settings(settings), allow_private=True
    )
    yield deliverer
    await deliverer.close()


async def test_a_completed_plan_reaches_the_receiver_as_the_feed_tells_it(
    admin: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    _, start = await read_all(admin)  # the demo's history: before the endpoint existed
    made = ok_body(
        await admin.send("POST", "/webhooks", {"url": receiver.url, "eventTypes": ["*"]})
    )
    secret = made["webhook"]["secret"]
    course, plan, (alice, bob) = await plan_with_learners(admin)
    ok_body(await admin.progress(course, alice, {"completionPercentage": 40}))
    ok_body(await admin.progress(course, alice, {"completionStatus": "completed"}))
    ok_body(await admin.progress(course, bob, {"completionStatus": "inProgress"}))
    while await deliverer.deliver_due():
        pass
    feed, _ = await read_all(admin, start)
    assert "plan.enrollment.completed" in [event["type"] for event in feed]
    delivered = [got.verified(secret) for got in receiver.received]
    assert [json.loads(json.dumps(event)) for event in delivered] == feed
    assert [got.webhook_id for got in receiver.received] == [event["id"] for event in feed]
    completed = [e for e in delivered if e["type"] == "plan.enrollment.completed"]
    assert [(e["learnerId"], e["planId"]) for e in completed] == [(alice, plan)]
    assert await deliverer.deliver_due() == 0  # each once


async def test_an_endpoint_gets_only_the_types_it_asked_for(
    admin: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    _, start = await read_all(admin)
    made = ok_body(
        await admin.send(
            "POST", "/webhooks", {"url": receiver.url, "eventTypes": ["course.progress.*"]}
        )
    )
    course, _plan, (alice, _bob) = await plan_with_learners(admin)
    ok_body(await admin.progress(course, alice, {"completionStatus": "completed"}))
    while await deliverer.deliver_due():
        pass
    feed, _ = await read_all(admin, start, types="course.progress.*")
    assert feed, "progress was recorded"
    delivered = [got.verified(made["webhook"]["secret"]) for got in receiver.received]
    assert [event["id"] for event in delivered] == [event["id"] for event in feed]


async def test_replay_after_a_cursor_sends_the_feeds_events_an_endpoint_missed(
    admin: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    _, start = await read_all(admin)
    course, _plan, (alice, _bob) = await plan_with_learners(admin)
    ok_body(await admin.progress(course, alice, {"completionStatus": "completed"}))
    # Registered after the events: nothing for it yet.
    made = ok_body(
        await admin.send("POST", "/webhooks", {"url": receiver.url, "eventTypes": ["plan.*"]})
    )
    path = f"/webhooks/{made['webhook']['webhookId']}/replay"
    assert await deliverer.deliver_due() == 0
    feed, end = await read_all(admin, start, types="plan.*")
    queued: list[str] = []
    cursor, more = start, True
    while more:
        answer = ok_body(await admin.send("POST", path, {"after": cursor}))
        queued += answer["eventIds"]
        cursor, more = answer["nextCursor"], answer["isNextAvailable"]
    assert queued == [event["id"] for event in feed]
    while await deliverer.deliver_due():
        pass
    delivered = [got.verified(made["webhook"]["secret"]) for got in receiver.received]
    assert delivered == feed
    # Nothing after the end; both ways at once, or neither, is refused.
    assert ok_body(await admin.send("POST", path, {"after": end}))["eventIds"] == []
    both = await admin.send("POST", path, {"after": end, "eventIds": [feed[0]["id"]]})
    assert_error(both, 400, 7204)
    assert_error(await admin.send("POST", path, {}), 400, 7204)
