"""The change feed from the client's side (issue 13): `client.events.iter` (sync and async)
follows the cursor and long-polls; `lmsplans events tail` prints events as they are
committed; `lmsplans export --since` writes only the learners whose progress changed. Against
a live server on loopback, over a demo database of this module's own (it writes)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lmsplans.cli.main import app
from lmsplans.client import AsyncClient, Client, Event
from tests.client.conftest import DemoDatabase, LiveServer, _prepare, start_server

LMSPLANS = Path(sys.executable).parent / "lmsplans"


@pytest.fixture(scope="module")
def events_db(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    path = tmp_path_factory.mktemp("events") / "demo.db"
    url = f"sqlite:///{path}"
    people, (admin, manager, learner) = asyncio.run(_prepare(url))
    return DemoDatabase(path, url, people, admin, manager, learner)


@pytest.fixture(scope="module")
def server(events_db: DemoDatabase) -> Iterator[LiveServer]:
    live = start_server(events_db, rate_limit_threshold=100_000, overdue_sweep_seconds=0)
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer, events_db: DemoDatabase) -> Iterator[Client]:
    with Client(base_url=server.url, access_token=events_db.admin_token) as made:
        yield made


def some_progress(client: Client, learner_id: int) -> str:
    """Record a little more progress in a course of the learner's plans that they have not
    completed (and that is not locked for them); answers the course."""
    for entry in client.learners.learning_plans_progress(learner_id):
        for course in client.learners.plan_courses_progress(learner_id, entry.plan_id):
            if course.completion_status != "completed" and not course.is_locked:
                done = course.completion_percentage or 0
                if done < 90:
                    client.courses.record_progress(
                        course.course_id, learner_id, percentage=done + 5
                    )
                    return course.course_id
    raise AssertionError("the demo learner has no course left to progress in")


def test_iter_reads_every_event_and_says_where_to_go_on(client: Client) -> None:
    feed = client.events.iter(follow=False, limit=100)
    events = list(feed)
    assert events and all(isinstance(event, Event) for event in events)
    assert len({event.id for event in events}) == len(events)
    raw: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"after": cursor} if cursor else {})}
        body = client.request("GET", "/api/v1/events", params=params)
        raw.extend(body["events"])
        cursor = body["nextCursor"]
        if not body["isNextAvailable"]:
            break
    assert [event.raw for event in events] == raw
    assert feed.cursor == cursor
    assert list(client.events.iter(after=feed.cursor, follow=False)) == []
    some = list(client.events.iter(types=["learner.*"], follow=False))
    assert some and {event.type for event in some} <= {
        "learner.created",
        "learner.updated",
        "learner.deactivated",
    }


def test_iter_long_polls_for_the_next_event(client: Client, events_db: DemoDatabase) -> None:
    start = client.events.iter(after="latest", follow=False)
    assert list(start) == []
    learner = events_db.people.learner_id
    written: list[str] = []

    def later() -> None:
        time.sleep(0.5)
        with Client(base_url=client.base_url, access_token=events_db.admin_token) as writer:
            written.append(some_progress(writer, learner))

    writer = threading.Thread(target=later)
    writer.start()
    feed = client.events.iter(after=start.cursor, wait=10, types="course.progress.*")
    event = next(iter(feed))
    writer.join()
    [course] = written
    assert event.type in ("course.progress.updated", "course.progress.completed")
    assert (event.learner_id, event.course_id) == (str(learner), course)
    assert event.data is not None and "plans" in event.data


async def test_the_async_iterator_is_the_same(server: LiveServer, events_db: DemoDatabase) -> None:
    async with AsyncClient(base_url=server.url, access_token=events_db.admin_token) as client:
        feed = client.events.iter(follow=False, types="plan.*")
        events = [event async for event in feed]
        assert feed.cursor is not None
    with Client(base_url=server.url, access_token=events_db.admin_token) as sync:
        assert [e.raw for e in sync.events.iter(follow=False, types="plan.*")] == [
            e.raw for e in events
        ]


def test_events_tail_prints_what_is_committed(
    server: LiveServer, events_db: DemoDatabase, client: Client
) -> None:
    env = {
        **os.environ,
        "LMSPLANS_BASE_URL": server.url,
        "LMSPLANS_ACCESS_TOKEN": events_db.admin_token,
        "NO_COLOR": "1",
    }
    tail = subprocess.Popen(  # noqa: S603 - our own console script
        [str(LMSPLANS), "events", "tail", "--types", "learner.*"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # it has read where the feed ends and waits
        created = client.learners.create(
            email_id="tail.watcher@zylker.example", display_name="Tail Watcher", employee_id="TW1"
        )
        assert tail.stdout is not None
        line = tail.stdout.readline()
    finally:
        tail.terminate()
        tail.communicate(timeout=10)  # closes its pipes
    assert "learner.created" in line and f"learner={created.user_id}" in line


def test_events_tail_without_follow_as_json(server: LiveServer, events_db: DemoDatabase) -> None:
    env = {"LMSPLANS_BASE_URL": server.url, "LMSPLANS_ACCESS_TOKEN": events_db.admin_token}
    result = CliRunner().invoke(
        app, ["events", "tail", "--from-start", "--no-follow", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all({"id", "type", "occurredTime"} <= set(line) for line in lines)
    assert "Go on with: --after c1." in result.stderr
    refused = CliRunner().invoke(
        app,
        ["events", "tail", "--no-follow"],
        env={**env, "LMSPLANS_ACCESS_TOKEN": events_db.learner_token},
    )
    assert refused.exit_code == 1 and "403 9000" in refused.output


def test_export_since_writes_only_the_learners_whose_progress_changed(
    server: LiveServer, events_db: DemoDatabase, client: Client, tmp_path: Path
) -> None:
    env = {
        "LMSPLANS_BASE_URL": server.url,
        "LMSPLANS_ACCESS_TOKEN": events_db.admin_token,
        "NO_COLOR": "1",
        "COLUMNS": "300",
    }
    start = client.events.iter(after="latest", follow=False)
    list(start)
    learner = events_db.people.learner_id
    some_progress(client, learner)
    out = tmp_path / "changed.jsonl"
    result = CliRunner().invoke(
        app, ["export", "--out", str(out), "--since", str(start.cursor)], env=env
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and {row["user_id"] for row in rows} == {str(learner)}
    assert "Next time, for what changed since: --since c1." in result.output
    next_cursor = result.output.split("--since ")[-1].split()[0]
    quiet = tmp_path / "nothing.jsonl"
    again = CliRunner().invoke(
        app, ["export", "--out", str(quiet), "--since", next_cursor], env=env
    )
    assert again.exit_code == 0, again.output
    assert quiet.read_text() == ""
    assert f"--since {next_cursor}" in again.output
    both = CliRunner().invoke(
        app,
        [
            "export",
            "--out",
            str(tmp_path / "x.csv"),
            "--since",
            "start",
            "--learners-file",
            str(out),
        ],
        env=env,
    )
    assert both.exit_code == 2
