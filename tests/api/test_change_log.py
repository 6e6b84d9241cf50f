"""The change log (`lmsplans.server.changes`): a write makes stale only what it touched, and
each organisation's changes form one sequence in commit order, which a reader follows
without missing or repeating one, even when transactions commit in another order than they
began. On both backends."""

from __future__ import annotations

import asyncio

import httpx

from lmsplans.demo import DemoTokens
from lmsplans.server.changes.queries import changes_after
from lmsplans.server.db import Page
from lmsplans.server.http import Services
from lmsplans.server.params import DEFAULT_LIMIT
from lmsplans.server.progress.routes import progress_page_key
from lmsplans.server.writes import WriteContext
from tests.conftest import auth


def _progress(learner_id: int) -> str:
    return f"/api/v1/learners/{learner_id}/learning-plans/progress"


async def test_a_write_makes_stale_only_what_it_touched(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    people, headers = demo.people, auth(demo.admin_token)
    for learner_id in (people.learner_id, people.manager_id):
        assert (await client.get(_progress(learner_id), headers=headers)).status_code == 200
    page = Page(0, DEFAULT_LIMIT)
    kept, changed = (progress_page_key(i, page) for i in (people.learner_id, people.manager_id))
    assert services.cache.get(kept) is not None and services.cache.get(changed) is not None
    renamed = await client.patch(
        f"/api/v1/learners/{people.manager_id}",
        params={"learnerData": '{"displayName": "Renamed Manager"}'},
        headers=headers,
    )
    assert renamed.status_code == 200, renamed.text
    again = await client.get(_progress(people.learner_id), headers=headers)  # catches up
    assert again.status_code == 200
    assert services.cache.get(changed) is None  # the learner written: dropped
    assert services.cache.get(kept) is not None  # another learner's answer: still kept
    async with services.db.read() as conn:
        newest = await conn.fetch_value(
            "SELECT max(seq) FROM changes WHERE org_id = :org_id", {"org_id": people.org_id}
        )
        (last,) = await changes_after(
            conn, org_id=people.org_id, after_seq=int(newest) - 1, limit=10
        )
    assert last.event_type == "learner.updated" and last.learner_id == people.manager_id
    # What changed, by the API's field names (as the PATCH that changed it named them).
    assert last.data == {"changed": {"displayName": "Renamed Manager"}}


async def test_each_organisation_s_changes_are_followed_once_in_commit_order(
    services: Services, demo: DemoTokens
) -> None:
    """Writers that began first commit last (they wait before committing); a reader follows
    the organisation's sequence meanwhile. It sees every change once, numbered without a
    gap, and the numbers are the order of the commits, not of the beginnings."""
    db, org_id = services.db, demo.people.org_id
    async with db.read() as conn:
        start = int(
            await conn.fetch_value(
                "SELECT coalesce(max(seq), 0) FROM changes WHERE org_id = :org_id",
                {"org_id": org_id},
            )
        )
    writers = 12
    began: list[int] = []
    committed: list[int] = []
    done = asyncio.Event()

    async def write(index: int) -> None:
        slow = index % 3 == 0  # begins early, commits late
        write = WriteContext(org_id=org_id, actor_id=None, source="test", now_ms=index)
        async with db.transaction() as conn:
            began.append(index)
            if db.dialect == "postgresql":
                await conn.execute(f"SELECT pg_sleep({0.3 if slow else 0.01})")
            else:  # one writer at a time: the others wait for this one
                await asyncio.sleep(0.01)
                await conn.execute("UPDATE organisations SET name = name WHERE id = -1")
            write.changes.event("test.change", data={"writer": index})
        committed.append(index)

    seen: list[tuple[int, int]] = []  # (seq, writer)

    async def follow() -> None:
        cursor = start
        while True:
            finished = done.is_set()
            async with db.read() as conn:
                found = await changes_after(conn, org_id=org_id, after_seq=cursor, limit=5)
            for change in found:
                assert change.data is not None
                seen.append((change.seq, change.data["writer"]))
                cursor = change.seq
            if finished and not found:
                return
            await asyncio.sleep(0.005)

    reader = asyncio.create_task(follow())
    tasks = []
    for index in range(writers):
        tasks.append(asyncio.create_task(write(index)))
        await asyncio.sleep(0.02)  # they begin in index order
    await asyncio.gather(*tasks)
    done.set()
    await reader
    assert [seq for seq, _ in seen] == list(range(start + 1, start + writers + 1))
    assert sorted(writer for _, writer in seen) == list(range(writers))  # each once
    assert [writer for _, writer in seen] == committed  # numbered in commit order
    if db.dialect == "postgresql":
        assert committed != began, "the slow writers committed after later ones"
