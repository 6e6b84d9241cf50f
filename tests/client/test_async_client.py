"""The async client over httpx's ASGI transport: the real app in-process, on a clock that the
tests move, so pacing, locks and token expiry take no real time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from lmsplans.client import AsyncClient, NotFoundError, RateLimitPolicy
from lmsplans.demo import DemoTokens
from lmsplans.server.auth.service import create_client
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services

REFERENCE_API = "GET /api/v1/learners/{learnerId}/learning-plans/progress"


@pytest.fixture
async def make(app: Starlette, clock: ManualClock) -> AsyncIterator[object]:
    """AsyncClient over the app, whose waits move the server's clock instead of sleeping."""
    made: list[AsyncClient] = []
    log: list[int] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    async def record(response: httpx.Response) -> None:
        log.append(response.status_code)

    def factory(**kwargs: object) -> AsyncClient:
        client = AsyncClient(
            base_url="http://testserver",
            transport=httpx.ASGITransport(app=app),
            clock=clock.monotonic,
            sleep=sleep,
            **kwargs,  # type: ignore[arg-type]
        )
        client._http.event_hooks["response"].append(record)
        made.append(client)
        return client

    factory.log = log  # type: ignore[attr-defined]
    yield factory
    for client in made:
        await client.aclose()


async def test_pages_records_and_errors(make: object, demo: DemoTokens) -> None:
    client: AsyncClient = make(access_token=demo.admin_token)  # type: ignore[operator]
    learner = demo.people.learner_id
    pages = [p async for p in client.learners.learning_plans_progress(learner, page_size=1).pages()]
    assert [p.start_index for p in pages] == [0, 1, 2, 3]
    whole = await client.learners.learning_plans_progress(learner).to_list()
    assert [e.raw for p in pages for e in p.items] == [e.raw for e in whole]
    plans = await client.learning_plans.list(page_size=4).to_list()
    assert len(plans) == len({p.plan_id for p in plans}) == 9
    roster = [m async for m in client.learning_plans.learners(plans[0].plan_id, page_size=9)]
    summary = await client.learning_plans.roster_summary(plans[0].plan_id)
    assert len(roster) == len({m.user_id for m in roster}) == summary.total_count
    email = roster[3].user_info.email_id or ""
    searched = client.learning_plans.learners(plans[0].plan_id, search=email.upper())
    assert [m.raw async for m in searched] == [roster[3].raw]
    found = await client.learning_plans.roster_summary(plans[0].plan_id, search=email)
    assert found.matching_count == 1 and found.total_count == summary.total_count
    courses = await client.learners.course_progress(learner, page_size=2).to_list()
    one = await client.courses.learner_progress(courses[0].course_id, learner)
    assert one.raw == courses[0].raw
    everyone = await client.courses.progress(courses[0].course_id, page_size=8).to_list()
    assert len(everyone) == len({c.user_id for c in everyone}) > 8
    in_plan = await client.learners.plan_courses_progress(learner, whole[0].plan_id).to_list()
    assert in_plan and all(c.level for c in in_plan)
    with pytest.raises(NotFoundError) as missing:
        await client.learners.learning_plans_progress("nobody@nowhere.example").to_list()
    assert missing.value.code == 7048 and missing.value.request_id


async def test_paced_past_the_threshold_without_a_429(
    make: object, demo: DemoTokens, clock: ManualClock
) -> None:
    client: AsyncClient = make(access_token=demo.admin_token)  # type: ignore[operator]
    began = clock.monotonic()
    for _ in range(75):
        await client.learners.learning_plans_progress(demo.people.learner_id).first_page()
    assert 429 not in make.log  # type: ignore[attr-defined]
    # 30 a minute (the server's default, announced in its headers): 75 calls span 2 minutes.
    assert clock.monotonic() - began == pytest.approx(120, abs=1)
    stats = client.governor.stats(REFERENCE_API)
    assert (stats.threshold, stats.window_seconds, stats.locks) == (30, 60, 0)


async def test_a_lock_is_waited_out(
    make: object, demo: DemoTokens, clock: ManualClock, app: Starlette
) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Zoho-oauthtoken {demo.admin_token}"}
    path = f"/api/v1/learners/{demo.people.learner_id}/learning-plans/progress"
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as h:
        statuses = [(await h.get(path)).status_code for _ in range(31)]
    assert statuses[-1] == 429  # another client of the same user locked the API
    client: AsyncClient = make(  # type: ignore[operator]
        access_token=demo.admin_token, rate_limit=RateLimitPolicy(lock_seconds=1)
    )
    before = clock.monotonic()
    entries = await client.learners.learning_plans_progress(demo.people.learner_id).to_list()
    assert len(entries) == 4
    assert make.log == [429, 200]  # type: ignore[attr-defined]
    assert clock.monotonic() - before == pytest.approx(300, abs=1)  # Retry-After, not 1 s


async def test_an_expired_token_is_refreshed_once(
    make: object, demo: DemoTokens, clock: ManualClock, services: Services
) -> None:
    async with services.db.transaction() as conn:
        creds = await create_client(
            conn,
            org_id=demo.people.org_id,
            user_id=demo.people.admin_id,
            scopes="ZOHOPEOPLE.training.READ",
            name="async tests",
            now_ms=clock.now_ms(),
            ttl_seconds=3600,
        )
    client: AsyncClient = make(  # type: ignore[operator]
        access_token=creds.access_token,
        refresh_token=creds.refresh_token,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
    )
    learner = demo.people.learner_id
    assert len(await client.learners.learning_plans_progress(learner).to_list()) == 4
    clock.advance(3601)  # the first token expires mid-job
    for _ in range(3):
        assert len(await client.learners.learning_plans_progress(learner).to_list()) == 4
    assert make.log == [200, 401, 200, 200, 200, 200]  # type: ignore[attr-defined]
    assert client.token_refreshes == 1
    await client.oauth.revoke()
    assert not client._auth.credentials.can_refresh
