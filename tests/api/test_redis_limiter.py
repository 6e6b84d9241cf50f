"""The Redis limiter: the semantics of spec section 4 on a real Redis, atomic under
concurrency, shared by every app that uses it, and 503 (never unlimited) when Redis is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lmsplans.demo import build_demo, mint_demo_tokens
from lmsplans.server.app import create_app
from lmsplans.server.clock import ManualClock
from lmsplans.server.errors import ServiceUnavailable
from lmsplans.server.ratelimit import RedisLimiter
from lmsplans.server.settings import Settings
from tests.conftest import DEMO_LEARNERS, assert_error, auth

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
async def limiter(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisLimiter]:
    """Threshold 5 in a 1 s window, 2 s lock: real time, kept short."""
    limiter = RedisLimiter.from_url(
        redis_url, threshold=5, window_seconds=1, lock_seconds=2, prefix=redis_prefix
    )
    yield limiter
    await limiter.close()


async def test_threshold_then_lock_then_an_empty_window(limiter: RedisLimiter) -> None:
    decisions = [await limiter.hit("k") for _ in range(5)]
    assert all(d.allowed for d in decisions)
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    sixth = await limiter.hit("k")
    assert not sixth.allowed and sixth.retry_after == 2
    await asyncio.sleep(1.1)
    during = await limiter.hit("k")
    assert not during.allowed and during.retry_after == 1  # calls in the lock do not extend it
    await asyncio.sleep(1.0)
    after = [await limiter.hit("k") for _ in range(5)]
    assert all(d.allowed for d in after)  # the window starts empty after the lock
    assert not (await limiter.hit("k")).allowed


async def test_keys_are_counted_apart(limiter: RedisLimiter) -> None:
    for _ in range(6):
        await limiter.hit("a")
    assert not (await limiter.hit("a")).allowed
    assert (await limiter.hit("b")).allowed


async def test_the_window_slides(limiter: RedisLimiter) -> None:
    for _ in range(4):
        assert (await limiter.hit("w")).allowed
    await asyncio.sleep(1.05)  # those four leave the window
    for _ in range(5):
        assert (await limiter.hit("w")).allowed


async def test_concurrent_calls_never_exceed_the_threshold(
    redis_url: str, redis_prefix: str
) -> None:
    limiters = [
        RedisLimiter.from_url(
            redis_url, threshold=30, window_seconds=60, lock_seconds=300, prefix=redis_prefix
        )
        for _ in range(4)  # as if four server processes
    ]
    decisions = await asyncio.gather(*(limiters[i % 4].hit("shared") for i in range(80)))
    assert sum(d.allowed for d in decisions) == 30
    # Every allowed call was counted once: the quota left went 29, 28, ... 0.
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(30))
    assert all(d.retry_after is not None for d in decisions if not d.allowed)
    for limiter in limiters:
        await limiter.close()


async def test_calls_made_together_are_counted_in_the_order_they_came(
    limiter: RedisLimiter,
) -> None:
    # Made at once, they share one round trip to Redis (one batch), counted in turn.
    decisions = await asyncio.gather(*(limiter.hit("together") for _ in range(8)))
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert [d.retry_after for d in decisions[5:]] == [2, 2, 2]


async def test_unreachable_redis_refuses_instead_of_letting_calls_through() -> None:
    limiter = RedisLimiter.from_url(
        UNREACHABLE_REDIS, threshold=30, window_seconds=60, lock_seconds=300
    )
    with pytest.raises(ServiceUnavailable):
        await limiter.hit("k")
    assert await limiter.ping() is False
    await limiter.close()


async def test_the_app_limits_through_redis_and_answers_503_when_it_is_down(
    database_url: str, redis_url: str, redis_prefix: str, clock: ManualClock
) -> None:
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        rate_limit_threshold=3,
    )
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        services = app.state.services
        people = await build_demo(services.db, now_ms=clock.now_ms(), learners=DEMO_LEARNERS)
        tokens = await mint_demo_tokens(
            services.db, people=people, now_ms=clock.now_ms(), ttl_seconds=3600
        )
        path = f"/api/v1/learners/{people.learner_id}/learning-plans/progress"
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses = [
                (await client.get(path, headers=auth(tokens.admin_token))).status_code
                for _ in range(4)
            ]
            assert statuses == [200, 200, 200, 429]
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["limiter"] == "ok"

    broken = Settings(database_url=database_url, redis_url=UNREACHABLE_REDIS)
    app = create_app(broken, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(path, headers=auth(tokens.admin_token))
            assert_error(response, 503, 7503)
            ready = await client.get("/readyz")
            body = assert_error(ready, 503, 7503)
            assert body["checks"] == {"database": "ok", "limiter": "down"}
