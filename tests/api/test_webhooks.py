"""Webhooks: the admin API, and deliveries to a real receiver on loopback, verified with the
standardwebhooks package, on both backends.

The app delivers nothing by itself here (`LMSPLANS_WEBHOOK_DELIVERY=worker`, see
tests/conftest.py): each test runs the deliverer's passes itself, so what is due, what is
sent and what waits is exact, and time moves only with the test's clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks import attempts, service
from lmsplans.server.webhooks.delivery import Deliverer
from lmsplans.server.webhooks.schemas import WebhookIn
from lmsplans.server.webhooks.secrets import SecretBox
from lmsplans.server.writes import WriteContext
from tests.api.readdata import sql
from tests.api.test_events_feed import plan_with_learners, read_all
from tests.api.test_progress_writes import Api, ok_body, token_for
from tests.conftest import assert_error
from tests.webhook_receiver import Receiver, receiving

HOUR = 3600


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        rate_limit_threshold=10**6,
        webhook_allow_private_targets=True,
    )


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    return Api(client, await token_for(services, demo, demo.people.admin_id))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


@pytest.fixture
async def deliverer(services: Services, settings: Settings) -> Any:
    deliverer = Deliverer(
        services.db,
        clock=services.clock,
        box=SecretBox.from_settings(settings),
        allow_private=True,
    )
    yield deliverer
    await deliverer.close()


async def register(admin: Api, url: str, types: list[str] | None = None) -> dict[str, Any]:
    body = ok_body(
        await admin.send("POST", "/webhooks", {"url": url, "eventTypes": types or ["*"]})
    )
    webhook: dict[str, Any] = body["webhook"]
    return webhook


async def enqueue(services: Services, org_id: int, *events: dict[str, Any]) -> None:
    async with services.db.transaction() as conn:
        conn.changes.nothing_cached()  # events made up by the test: no write to record
        for event in events:
            await service.enqueue_event(conn, org_id=org_id, event=event)


def event(n: int, kind: str = "plan.enrollment.completed") -> dict[str, Any]:
    return {"id": f"evt-{n}", "type": kind, "occurredTime": "1764000000000", "data": {"n": n}}


async def test_the_test_event_arrives_signed_and_verifies(
    admin: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    webhook = await register(admin, receiver.url, ["plan.*"])
    secret = webhook["secret"]
    assert secret.startswith("whsec_")
    path = f"/webhooks/{webhook['webhookId']}"
    read = ok_body(await admin.send("GET", path))["webhook"]
    assert "secret" not in read and read["enabled"] is True and read["eventTypes"] == ["plan.*"]

    queued = ok_body(await admin.send("POST", f"{path}/test"))["eventIds"]
    assert await deliverer.deliver_due() == 1
    [got] = receiver.received
    sent = got.verified(secret)
    assert sent["type"] == "webhook.test" and sent["id"] == queued[0] == got.webhook_id
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFB" * 8).verify(got.body, got.headers)

    log = ok_body(await admin.send("GET", f"{path}/deliveries"))["deliveries"]
    assert [(a["eventId"], a["statusCode"], a["succeeded"]) for a in log] == [
        (queued[0], "200", True)
    ]
    assert log[0]["responseExcerpt"] == "ok" and int(log[0]["durationMs"]) >= 0
    assert await deliverer.deliver_due() == 0  # delivered once


async def test_500_then_200_delivers_every_event_in_order_after_retries(
    admin: Api,
    receiver: Receiver,
    deliverer: Deliverer,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
) -> None:
    webhook = await register(admin, receiver.url, ["plan.*"])
    await enqueue(services, demo.people.org_id, event(1), event(2, "learner.created"), event(3))
    receiver.statuses = [500, 503]
    assert await deliverer.deliver_due() == 1  # evt-1: 500
    assert await deliverer.deliver_due() == 0  # the retry waits 5 s; evt-3 waits behind it
    clock.advance(5)
    assert await deliverer.deliver_due() == 1  # evt-1: 503
    clock.advance(299)
    assert await deliverer.deliver_due() == 0
    clock.advance(1)  # five minutes after the second failure
    while await deliverer.deliver_due():
        pass
    ids = [r.webhook_id for r in receiver.received]
    assert ids == ["evt-1", "evt-1", "evt-1", "evt-3"]  # learner.created is not subscribed
    assert [r.status for r in receiver.received] == [500, 503, 200, 200]
    for got in receiver.received:
        assert got.verified(webhook["secret"])["id"] == got.webhook_id
    log = ok_body(await admin.send("GET", f"/webhooks/{webhook['webhookId']}/deliveries"))
    attempts = [(a["eventId"], a["attempt"], a["statusCode"]) for a in log["deliveries"]]
    assert attempts == [
        ("evt-3", "1", "200"),
        ("evt-1", "3", "200"),
        ("evt-1", "2", "503"),
        ("evt-1", "1", "500"),
    ]


async def test_410_disables_the_endpoint_and_enabling_resumes_where_it_stopped(
    admin: Api, receiver: Receiver, deliverer: Deliverer, services: Services, demo: DemoTokens
) -> None:
    webhook = await register(admin, receiver.url)
    path = f"/webhooks/{webhook['webhookId']}"
    await enqueue(services, demo.people.org_id, event(1), event(2))
    receiver.statuses = [410]
    assert await deliverer.deliver_due() == 1
    read = ok_body(await admin.send("GET", path))["webhook"]
    assert read["enabled"] is False and "410" in read["disabledReason"]
    assert await deliverer.deliver_due() == 0
    await enqueue(services, demo.people.org_id, event(3))  # not queued for a disabled endpoint

    enabled = ok_body(await admin.send("PATCH", path, {"enabled": True}))["webhook"]
    assert enabled["enabled"] is True and enabled["disabledReason"] == ""
    while await deliverer.deliver_due():
        pass
    assert [r.webhook_id for r in receiver.received] == ["evt-1", "evt-1", "evt-2"]


async def test_five_days_of_failures_disable_the_endpoint(
    admin: Api,
    receiver: Receiver,
    deliverer: Deliverer,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
) -> None:
    webhook = await register(admin, receiver.url)
    await enqueue(services, demo.people.org_id, *(event(n) for n in range(1, 4)))
    receiver.statuses = [500] * 1000
    start = clock.now_ms()
    for _ in range(200):
        await deliverer.deliver_due()
        read = await sql(
            services,
            "SELECT enabled FROM webhook_endpoints WHERE id = :id",
            {"id": int(webhook["webhookId"])},
        )
        if not read[0]["enabled"]:
            break
        clock.advance(HOUR)
    days = (clock.now_ms() - start) / 86_400_000
    assert 5 <= days < 5.5, days
    states = await sql(
        services,
        "SELECT event_id, state FROM webhook_deliveries ORDER BY id",
    )
    # The first event was given up after about three days; the next still waits.
    assert [(r["event_id"], r["state"]) for r in states] == [
        ("evt-1", "failed"),
        ("evt-2", "pending"),
        ("evt-3", "pending"),
    ]
    read_back = ok_body(await admin.send("GET", f"/webhooks/{webhook['webhookId']}"))
    assert "five days" in read_back["webhook"]["disabledReason"]


async def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(
    admin: Api, receiver: Receiver, deliverer: Deliverer, clock: ManualClock
) -> None:
    webhook = await register(admin, receiver.url)
    path = f"/webhooks/{webhook['webhookId']}"
    old = webhook["secret"]
    rotated = ok_body(await admin.send("POST", f"{path}/rotate-secret"))["webhook"]
    new = rotated["secret"]
    assert new != old and rotated["previousSecretExpiresTime"] != "null"
    await admin.send("POST", f"{path}/test")
    await deliverer.deliver_due()
    first = receiver.received[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert first.verified(old) == first.verified(new)

    clock.advance(24 * HOUR + 1)
    await admin.send("POST", f"{path}/test")
    await deliverer.deliver_due()
    later = receiver.received[-1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    assert later.verified(new)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        later.verified(old)


async def test_replay_sends_an_event_again_with_its_id(
    admin: Api, receiver: Receiver, deliverer: Deliverer, services: Services, demo: DemoTokens
) -> None:
    webhook = await register(admin, receiver.url)
    path = f"/webhooks/{webhook['webhookId']}"
    await enqueue(services, demo.people.org_id, event(1), event(2))
    while await deliverer.deliver_due():
        pass
    replayed = ok_body(await admin.send("POST", f"{path}/replay", {"eventIds": ["evt-2", "evt-1"]}))
    assert replayed["eventIds"] == ["evt-2", "evt-1"]
    while await deliverer.deliver_due():
        pass
    assert [r.webhook_id for r in receiver.received] == ["evt-1", "evt-2", "evt-2", "evt-1"]
    assert receiver.received[3].body == receiver.received[0].body

    before = await sql(services, "SELECT count(*) AS n FROM webhook_deliveries", {})
    refused = await admin.send("POST", f"{path}/replay", {"eventIds": ["evt-1", "evt-9"]})
    body = assert_error(refused, 400, 7204)
    assert [e["field"] for e in body["errors"]] == ["eventIds.1"]
    after = await sql(services, "SELECT count(*) AS n FROM webhook_deliveries", {})
    assert before == after
    cursor = await admin.send("POST", f"{path}/replay", {"after": "0"})
    assert_error(cursor, 400, 7204)


async def test_roles_and_organisations(
    client: httpx.AsyncClient, admin: Api, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    webhook = await register(admin, "http://127.0.0.1:9/hook")
    path = f"/webhooks/{webhook['webhookId']}"
    for user in (demo.people.manager_id, demo.people.learner_id):
        other = Api(client, await token_for(services, demo, user))
        for method, where, payload in [
            ("GET", "/webhooks", None),
            ("POST", "/webhooks", {"url": "http://127.0.0.1/x", "eventTypes": ["*"]}),
            ("GET", path, None),
            ("PATCH", path, {"enabled": False}),
            ("DELETE", path, None),
            ("POST", f"{path}/rotate-secret", None),
            ("POST", f"{path}/test", None),
            ("GET", f"{path}/deliveries", None),
            ("POST", f"{path}/replay", {"eventIds": ["x"]}),
        ]:
            assert_error(await other.send(method, where, payload), 403, 9000)

    rows = await sql(
        services,
        "SELECT org_id FROM learners WHERE id = :id",
        {"id": demo.people.other_org_learner_id},
    )
    other_org = int(rows[0]["org_id"])
    write = WriteContext(org_id=other_org, actor_id=None, source="test", now_ms=clock.now_ms())
    async with services.db.transaction() as conn:
        theirs, _ = await service.create_endpoint(
            conn,
            write=write,
            data=WebhookIn(url="http://127.0.0.1/theirs", eventTypes=["*"]),
            box=SecretBox.from_settings(services.settings),
            url="http://127.0.0.1/theirs",
        )
    their_path = f"/webhooks/{theirs}"
    for method, where in [
        ("GET", their_path),
        ("PATCH", their_path),
        ("DELETE", their_path),
        ("POST", f"{their_path}/test"),
        ("GET", f"{their_path}/deliveries"),
    ]:
        payload = {"enabled": False} if method == "PATCH" else None
        assert_error(await admin.send(method, where, payload), 404, 7049)
    listed = ok_body(await admin.send("GET", "/webhooks"))["webhooks"]
    assert [w["webhookId"] for w in listed] == [webhook["webhookId"]]
    # Events of the other organisation go to its endpoints only.
    await enqueue(services, other_org, event(1))
    queued = await sql(services, "SELECT endpoint_id FROM webhook_deliveries", {})
    assert [int(r["endpoint_id"]) for r in queued] == [theirs]


async def test_secrets_are_stored_encrypted(
    admin: Api, services: Services, settings: Settings
) -> None:
    webhook = await register(admin, "http://127.0.0.1:9/hook")
    rows = await sql(services, "SELECT secret FROM webhook_endpoints", {})
    stored = rows[0]["secret"]
    assert webhook["secret"] not in stored
    assert SecretBox.from_settings(settings).open(stored) == webhook["secret"]


async def test_the_server_delivers_by_itself_unless_a_worker_does(
    database_url: str, clock: ManualClock, receiver: Receiver
) -> None:
    """`LMSPLANS_WEBHOOK_DELIVERY=server` (the default): the app's own loop sends."""
    import asyncio

    from asgi_lifespan import LifespanManager

    from lmsplans.demo import build_demo, mint_demo_tokens
    from lmsplans.server.app import create_app

    settings = Settings(
        database_url=database_url,
        webhook_allow_private_targets=True,
        webhook_delivery="server",
    )
    app = create_app(settings, clock=clock)
    async with LifespanManager(app):
        services: Services = app.state.services
        people = await build_demo(services.db, now_ms=clock.now_ms(), learners=5)
        tokens = await mint_demo_tokens(
            services.db, people=people, now_ms=clock.now_ms(), ttl_seconds=3600
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = Api(http, tokens.admin_token)
            webhook = await register(admin, receiver.url)
            await admin.send("POST", f"/webhooks/{webhook['webhookId']}/test")
            for _ in range(200):  # up to 20 s: the loop polls every half second
                if receiver.received:
                    break
                await asyncio.sleep(0.1)
    [got] = receiver.received
    assert got.verified(webhook["secret"])["type"] == "webhook.test"


async def test_the_client_manages_webhooks_and_verifies_deliveries(
    app: Any, services: Services, demo: DemoTokens, receiver: Receiver, deliverer: Deliverer
) -> None:
    from lmsplans.client import AsyncClient, webhooks

    token = await token_for(services, demo, demo.people.admin_id)
    async with AsyncClient(
        base_url="http://testserver",
        access_token=token,
        transport=httpx.ASGITransport(app=app),
        pacing_state=False,
    ) as client:
        made = await client.webhooks.create(receiver.url, ["plan.*"], description="CRM")
        assert made.secret and made.secret.startswith("whsec_") and made.enabled is True
        assert [w.webhook_id for w in await client.webhooks.list().to_list()] == [made.webhook_id]
        fetched = await client.webhooks.get(made.webhook_id)
        assert fetched.secret is None and fetched.description == "CRM"
        changed = await client.webhooks.update(made.webhook_id, event_types=["*"])
        assert changed.event_types == ("*",)
        [test_id] = await client.webhooks.test(made.webhook_id)
        await deliverer.deliver_due()
        [got] = receiver.received
        event = webhooks.verify(got.body.encode(), got.headers, made.secret)
        assert event["id"] == test_id and event["type"] == "webhook.test"
        with pytest.raises(webhooks.WebhookVerificationError):
            webhooks.verify(got.body + " ", got.headers, made.secret)
        [attempt] = await client.webhooks.deliveries(made.webhook_id).to_list()
        assert attempt.event_id == test_id and attempt.status_code == 200 and attempt.succeeded
        assert await client.webhooks.replay(made.webhook_id, [test_id]) == (test_id,)
        rotated = await client.webhooks.rotate_secret(made.webhook_id)
        assert rotated.secret and rotated.secret != made.secret
        gone = await client.webhooks.delete(made.webhook_id)
        assert gone.webhook_id == made.webhook_id
        assert await client.webhooks.list().to_list() == []


async def test_whatever_the_receiver_answers_is_logged_as_text(
    admin: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    webhook = await register(admin, receiver.url)
    path = f"/webhooks/{webhook['webhookId']}"
    receiver.answer = b"\x00\xff not json \x00" + b"x" * 5000
    receiver.statuses = [502]
    await admin.send("POST", f"{path}/test")
    assert await deliverer.deliver_due() == 1
    [attempt] = ok_body(await admin.send("GET", f"{path}/deliveries"))["deliveries"]
    assert attempt["statusCode"] == "502" and attempt["succeeded"] is False
    excerpt = attempt["responseExcerpt"]
    assert excerpt.startswith("\ufffd not json ") and len(excerpt) == 500


async def test_a_secret_is_never_kept_for_an_idempotent_replay(
    admin: Api, services: Services
) -> None:
    """A create or a rotation sent again with its `Idempotency-Key` answers the same
    endpoint, with the secret null: the stored answer does not hold it."""
    body = {"url": "http://127.0.0.1:9/once", "eventTypes": ["*"]}
    first = ok_body(await admin.send("POST", "/webhooks", body, key="create-once"))["webhook"]
    again = await admin.send("POST", "/webhooks", body, key="create-once")
    assert again.headers["idempotent-replayed"] == "true"
    replayed = ok_body(again)["webhook"]
    assert first["secret"].startswith("whsec_") and replayed["secret"] is None
    assert replayed["webhookId"] == first["webhookId"]
    path = f"/webhooks/{first['webhookId']}/rotate-secret"
    rotated = ok_body(await admin.send("POST", path, key="rotate-once"))["webhook"]
    assert ok_body(await admin.send("POST", path, key="rotate-once"))["webhook"]["secret"] is None
    kept = await sql(services, "SELECT response_body FROM idempotency_keys", {})
    assert kept, "the answers were kept for replays"
    for secret in (first["secret"], rotated["secret"]):
        assert all(secret.encode() not in bytes(row["response_body"]) for row in kept)


# --- The change feed's events, delivered -------------------------------------------------


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


async def test_a_delivery_tried_meanwhile_waits_for_its_retry(
    admin: Api, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    """Two deliverers saw the same delivery due (two pgqueuer jobs for one endpoint, say);
    the first tried it and failed: the second's claim is refused until the retry's time, so
    no attempt comes before its schedule."""
    await register(admin, "http://127.0.0.1:9/hook")
    await enqueue(services, demo.people.org_id, event(1))
    [row] = await sql(services, "SELECT id FROM webhook_deliveries", {})
    now = clock.now_ms()
    async with services.db.transaction() as conn:
        conn.changes.nothing_cached()
        token = await attempts.claim(conn, delivery_id=row["id"], now_ms=now, lease_ms=20_000)
        assert token is not None
        await attempts.record_attempt(
            conn,
            delivery_id=row["id"],
            token=token,
            now_ms=now,
            attempt_time=now,
            status_code=500,
            duration_ms=1,
            excerpt="",
            error="",
        )
    async with services.db.transaction() as conn:
        conn.changes.nothing_cached()
        assert await attempts.claim(conn, delivery_id=row["id"], now_ms=now, lease_ms=1) is None
        retry = now + 5_000
        assert await attempts.claim(conn, delivery_id=row["id"], now_ms=retry, lease_ms=1)
