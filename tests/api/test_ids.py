"""Ids: every id in every answer is a string (Zoho's convention; JavaScript loses integers
above 2^53), the description types each one so, and no id is ever given twice, on either
backend (an id a client kept, or an idempotent replay, must never name another record).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens
from lmsplans.server.auth.service import create_client
from lmsplans.server.changes.log import EVERYTHING
from lmsplans.server.db.schema import metadata
from lmsplans.server.http import Services
from lmsplans.server.models import metadata as _all_tables  # noqa: F401  (registers tables)
from lmsplans.server.progress.schemas import CourseStatus
from lmsplans.server.settings import Settings
from lmsplans.server.webhooks import attempts as webhook_attempts
from lmsplans.server.webhooks import service as webhook_service
from lmsplans.server.webhooks.schemas import WebhookIn
from lmsplans.server.webhooks.secrets import SecretBox
from lmsplans.server.writes import WriteContext
from tests.api.readdata import C, add_plan, record
from tests.api.test_progress_writes import Api, ok_body, roomy_settings, token_for
from tests.conftest import auth

# A key that names an id (or ids): userId, planuserId, eventId, zuid, enrolled, ...
ID_KEY = re.compile(r"(Id|Ids|^zuid|^id)$")
ID_LISTS = {"enrolled", "alreadyEnrolled", "planAdmins"}
# Named like ids, but text: an address, an HR system's own code, the request's hex id.
NOT_IDS = {"emailId", "employeeId", "requestId"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


def id_values(document: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every value the answer gives under an id's name (or in a list of ids), with where."""
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}"
            if (ID_KEY.search(key) or key in ID_LISTS) and key not in NOT_IDS:
                if isinstance(value, list):
                    yield from ((f"{where}[{i}]", item) for i, item in enumerate(value))
                else:
                    yield where, value
            if isinstance(value, dict | list):
                yield from id_values(value, where)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            yield from id_values(item, f"{path}[{index}]")


async def test_every_id_in_every_answer_is_a_string(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    now = services.clock.now_ms()
    token = await token_for(services, demo, demo.people.admin_id)
    api = Api(client, token)
    learner = str(demo.people.learner_id)
    plan = await add_plan(services, demo, courses=[C(mandatory=True), C(False)], now_ms=now)
    course = str(plan.course_ids[0])
    # Writes through the API, so the history holds enrolment and progress events.
    ok_body(await api.send("PUT", f"/learning-plans/{plan.id}/learners", [learner]))
    await record(
        services,
        demo,
        learner_id=int(learner),
        course_id=int(course),
        status=CourseStatus.COMPLETED,
        at_ms=now,
    )
    new_course = (await api.ok("POST", "/courses", {"courseName": "Ids"}))["course"]["courseId"]
    answers = [
        await api.ok("POST", "/learning-plans", {"planName": "Ids", "planAdmins": [learner]}),
        await api.ok("GET", "/learning-plans"),
        await api.ok("GET", f"/learning-plans/{plan.id}"),
        await api.ok("GET", f"/learning-plans/{plan.id}/learners"),
        await api.ok("GET", "/learners?limit=5"),
        await api.ok("GET", f"/learners/{learner}"),
        await api.ok("GET", f"/learners/{learner}/learning-plans/progress"),
        await api.ok("GET", f"/learners/{learner}/learning-plans/{plan.id}/courses/progress"),
        await api.ok("GET", f"/learners/{learner}/learning-plans/{plan.id}/history"),
        await api.ok("GET", f"/learners/{learner}/course-progress"),
        await api.ok("GET", f"/courses/{course}/course-progress"),
        await api.ok("GET", f"/courses/{course}/learners/{learner}/course-progress"),
        await api.ok("GET", "/courses"),
        await api.ok("DELETE", f"/courses/{new_course}"),
        await api.ok("POST", f"/learners/{learner}/learning-plans/{plan.id}/join"),
        await api.ok("DELETE", f"/learning-plans/{plan.id}/learners/{learner}"),
        (await client.get("/healthz")).json(),
    ]
    history = answers[8]["events"]
    assert any(event["after"] and "planuserId" in event["after"] for event in history)
    seen = 0
    for answer in answers:
        for where, value in id_values(answer):
            seen += 1
            assert isinstance(value, str), f"{where} = {value!r} is not a string"
            assert value == "null" or value.isdigit(), f"{where} = {value!r}"
    assert seen > 100  # the walk found the ids it is about
    # The error envelope's requestId is a string too.
    error = await client.get("/api/v1/learners/nobody@nowhere.example", headers=auth(token))
    assert isinstance(error.json()["requestId"], str)


def answer_schemas(document: dict[str, Any]) -> set[str]:
    """The component schemas the answers use (not the payloads, which take numbers too)."""
    schemas = document["components"]["schemas"]
    names: set[str] = set()

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("$ref", "").startswith("#/components/schemas/"):
                yield node["$ref"].rsplit("/", 1)[1]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    pending = [
        name
        for operations in document["paths"].values()
        for operation in operations.values()
        for response in operation["responses"].values()
        for name in refs(response)
    ]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            pending.extend(refs(schemas[name]))
    return names


async def test_the_description_types_every_answered_id_as_a_string(app: Starlette) -> None:
    document = httpx.Response(200, content=app.state.openapi_json).json()
    schemas = document["components"]["schemas"]
    checked = 0
    for name in sorted(answer_schemas(document)):
        for key, prop in schemas[name].get("properties", {}).items():
            if key in NOT_IDS or not (ID_KEY.search(key) or key in ID_LISTS or key == "process"):
                continue
            checked += 1
            item = prop.get("items", prop) if prop.get("type") == "array" else prop
            assert item.get("type") == "string", f"{name}.{key}: {prop}"
            assert item.get("pattern"), f"{name}.{key} has no pattern: {prop}"
    assert checked > 20


# --- Ids are never reused ------------------------------------------------------------------------


async def test_a_deleted_plans_id_is_not_given_to_the_next_plan(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    api = Api(client, await token_for(services, demo, demo.people.admin_id))
    first = (await api.ok("POST", "/learning-plans", {"planName": "Newest"}))["learningPlan"]
    deleted = int(first["planInfo"]["planId"])
    ok_body(await api.send("DELETE", f"/learning-plans/{deleted}"))
    second = (await api.ok("POST", "/learning-plans", {"planName": "Next"}))["learningPlan"]
    assert int(second["planInfo"]["planId"]) > deleted


def id_tables() -> list[str]:
    return sorted(
        name
        for name, table in metadata.tables.items()
        if "id" in table.c and table.c.id.primary_key and table.c.id.identity is not None
    )


def referenced(table: str) -> bool:
    return any(
        fk.column.table.name == table
        for other in metadata.tables.values()
        for fk in other.foreign_keys
    )


def perturbed(table: str, row: dict[str, Any], tag: int) -> dict[str, Any]:
    """A copy of `row` that its table's unique constraints allow beside it."""
    copy = {**row, "id": None}
    unique = {
        column.name
        for constraint in metadata.tables[table].constraints
        if constraint.__class__.__name__ == "UniqueConstraint"
        for column in constraint.columns  # type: ignore[attr-defined]
    } | {column.name for column in metadata.tables[table].columns if column.unique}
    for name in unique:
        if isinstance(copy[name], str):  # as long as it was: columns have a length
            mark = f"~{tag}"
            copy[name] = copy[name][: max(1, len(copy[name]) - len(mark))] + mark
        elif isinstance(copy[name], int) and not metadata.tables[table].c[name].foreign_keys:
            copy[name] = copy[name] + 10**12 + tag
    return copy


async def webhook_rows(services: Services, demo: DemoTokens) -> None:
    """A webhook endpoint, a delivery and an attempt (the demo has none)."""
    now = services.clock.now_ms()
    write = WriteContext(org_id=demo.people.org_id, actor_id=None, source="test", now_ms=now)
    url = "http://127.0.0.1:9/ids"
    async with services.db.transaction() as conn:
        await webhook_service.create_endpoint(
            conn,
            write=write,
            data=WebhookIn(url=url, eventTypes=["*"]),
            box=SecretBox.from_settings(services.settings),
            url=url,
        )
        await webhook_service.enqueue_event(
            conn, org_id=demo.people.org_id, event={"id": "ids-1", "type": "plan.published"}
        )
        delivery = await conn.fetch_value("SELECT max(id) FROM webhook_deliveries")
        token = await webhook_attempts.claim(conn, delivery_id=delivery, now_ms=now, lease_ms=1)
        assert token is not None
        await webhook_attempts.record_attempt(
            conn,
            delivery_id=delivery,
            token=token,
            now_ms=now,
            attempt_time=now,
            status_code=200,
            duration_ms=1,
            excerpt="",
            error="",
        )


async def test_no_table_gives_a_deleted_newest_id_again(
    services: Services, demo: DemoTokens
) -> None:
    """For every table with generated ids: the newest row deleted, the next row gets a new id
    (rows other tables point to are copied first, and the copy is deleted)."""
    tables = id_tables()
    assert {"learners", "learning_plans", "courses", "progress_events"} <= set(tables)
    async with services.db.transaction() as conn:  # the demo mints tokens without a client
        await create_client(
            conn,
            org_id=demo.people.org_id,
            user_id=demo.people.admin_id,
            scopes="ZOHOPEOPLE.training.ALL",
            name="ids",
            now_ms=services.clock.now_ms(),
            ttl_seconds=60,
        )
    await webhook_rows(services, demo)
    for tag, table in enumerate(tables):
        async with services.db.transaction() as conn:
            conn.changes.touch(None, EVERYTHING)  # raw writes: every cache lets go
            newest = dict(await conn.fetch_one(f"SELECT * FROM {table} ORDER BY id DESC LIMIT 1"))
            if referenced(table):  # a copy nothing points to, deleted
                victim = await conn.insert_row(table, perturbed(table, newest, tag))
                values = perturbed(table, newest, tag + 1000)
            else:  # the newest row itself
                victim = newest["id"]
                values = {**newest, "id": None}
            await conn.execute(f"DELETE FROM {table} WHERE id = :id", {"id": victim})
            after = await conn.insert_row(table, values)
        assert after > victim, f"{table}: id {victim} was given again"


async def test_the_sqlite_tables_are_declared_autoincrement(
    backend: str, services: Services
) -> None:
    if backend != "sqlite":
        # PostgreSQL's identity columns draw from sequences, which never go back (the test
        # above shows it on PostgreSQL as on SQLite).
        async with services.db.read() as conn:
            kinds = await conn.fetch_all(
                "SELECT table_name FROM information_schema.columns"
                " WHERE column_name = 'id' AND is_identity = 'YES'"
            )
        assert {row[0] for row in kinds} >= set(id_tables())
        return
    async with services.db.read() as conn:
        rows = await conn.fetch_all("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    declared = {row[0]: row[1] for row in rows}
    for table in id_tables():
        assert "AUTOINCREMENT" in declared[table], table
