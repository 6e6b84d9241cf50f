"""PUT /api/v1/learners: create or update up to 200 learners, keyed on employee id (else email)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import sql
from tests.api.test_progress_writes import (
    Api,
    assert_snapshots_equal,
    error_fields,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    return Api(client, await token_for(services, demo, demo.people.admin_id))


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "employeeId": f"UP{n:04d}",
        "emailId": f"upsert.{n}@zylker.example",
        "displayName": f"Upsert Person {n}",
        **extra,
    }


async def upsert(admin: Api, items: Any) -> httpx.Response:
    return await admin.send("PUT", "/learners", items)


async def by_employee_id(services: Services, org_id: int) -> dict[str, Any]:
    rows = await sql(
        services,
        "SELECT l.employee_id, l.email, l.display_name, l.role, l.status, m.employee_id AS boss"
        " FROM learners l LEFT JOIN learners m ON m.id = l.manager_id WHERE l.org_id = :org",
        {"org": org_id},
    )
    return {row["employee_id"]: dict(row) for row in rows}


async def test_creates_then_updates_what_changed_then_changes_nothing(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    # A reportee comes before their manager: managers resolve anywhere in the batch.
    batch = [
        person(1, managerEmployeeId="UP0002"),
        person(2, role="manager", managerId="admin@zylker.example"),
        person(3, managerEmployeeId="UP0002", status="inactive"),
    ]
    first = ok_body(await upsert(admin, batch))
    assert len(first["created"]) == 3 and first["updated"] == first["unchanged"] == []
    assert [r["employeeId"] for r in first["learners"]] == ["UP0001", "UP0002", "UP0003"]
    assert [r["userId"] for r in first["learners"]] == first["created"]
    stored = await by_employee_id(services, demo.people.org_id)
    assert stored["UP0001"]["boss"] == stored["UP0003"]["boss"] == "UP0002"
    assert stored["UP0002"]["role"] == "manager"
    assert stored["UP0003"]["status"] == "inactive"
    assert first["learners"][2]["isActive"] is False

    # Two rows change: a new name, and a new manager; the third is as it was.
    batch[0] = {**batch[0], "displayName": "Renamed Person"}
    batch[2] = {**batch[2], "managerEmployeeId": "UP0001"}
    second = ok_body(await upsert(admin, batch))
    assert second["created"] == []
    assert second["updated"] == [first["created"][0], first["created"][2]]
    assert second["unchanged"] == [first["created"][1]]
    stored = await by_employee_id(services, demo.people.org_id)
    assert stored["UP0001"]["display_name"] == "Renamed Person"
    assert stored["UP0003"]["boss"] == "UP0001"

    # The same list again writes nothing at all.
    before = await snapshot(services)
    third = ok_body(await upsert(admin, batch))
    assert len(third["unchanged"]) == 3
    assert_snapshots_equal(before, await snapshot(services), "an unchanged upsert")


async def test_absent_fields_keep_their_value_and_null_removes_the_manager(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    ok_body(await upsert(admin, [person(10, role="manager", managerId="admin@zylker.example")]))
    ok_body(await upsert(admin, [person(10)]))  # no role, no manager: both kept
    stored = (await by_employee_id(services, demo.people.org_id))["UP0010"]
    assert (stored["role"], stored["boss"]) == ("manager", "ZY00000")
    body = ok_body(await upsert(admin, [person(10, managerId=None)]))
    assert body["learners"][0]["managerId"] == "null"


async def test_matches_on_email_when_the_employee_id_is_new(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    """An HR system that renumbers its people: the email finds them, the id is updated."""
    [created] = ok_body(await upsert(admin, [person(20)]))["created"]
    renumbered = person(20, employeeId="HR-20")
    body = ok_body(await upsert(admin, [renumbered]))
    assert body["updated"] == [created]
    # Without an employee id, the email alone matches.
    item = {k: v for k, v in person(20, displayName="By Email").items() if k != "employeeId"}
    assert ok_body(await upsert(admin, [item]))["updated"] == [created]
    stored = await by_employee_id(services, demo.people.org_id)
    assert stored["HR-20"]["display_name"] == "By Email" and "UP0020" not in stored


async def test_every_problem_of_the_batch_is_named_and_nothing_is_written(
    admin: Api, services: Services
) -> None:
    ok_body(await upsert(admin, [person(30), person(31, managerEmployeeId="UP0030")]))
    before = await snapshot(services)
    batch = [
        person(32),
        person(33, employeeId="UP0032"),  # the same employee id twice
        person(31, emailId="manager@zylker.example"),  # another learner's email
        person(35, managerEmployeeId="NOBODY"),  # no such manager
        person(30, managerEmployeeId="UP0031"),  # UP0031 reports to UP0030: a loop
        {k: v for k, v in person(36).items() if k != "employeeId"},  # new, without an id
    ]
    body = assert_error(await upsert(admin, batch), 409, 7052)
    assert error_fields(body) == {
        "learnerData.1.employeeId",
        "learnerData.2.emailId",
        "learnerData.3.managerEmployeeId",
        "learnerData.4.managerEmployeeId",
        "learnerData.5.employeeId",
    }
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert "learnerData.0" in messages["learnerData.1.employeeId"]
    assert "UP0030 -> UP0031 -> UP0030" in messages["learnerData.4.managerEmployeeId"]
    assert "6 problems" not in body["message"] and "5 problems" in body["message"]
    assert_snapshots_equal(before, await snapshot(services), "a refused upsert")


async def test_the_first_problem_gives_the_status(admin: Api, services: Services) -> None:
    body = assert_error(
        await upsert(admin, [person(40, managerId="ghost@nowhere.example")]), 404, 7048
    )
    assert error_fields(body) == {"learnerData.0.managerId"}
    body = assert_error(await upsert(admin, [person(41, emailId="not-an-email")]), 400, 7204)
    assert error_fields(body) == {"learnerData.0.emailId"}


async def test_the_services_rules_apply(admin: Api, demo: DemoTokens, services: Services) -> None:
    """An admin cannot deactivate themself through an upsert either."""
    rows = await sql(
        services,
        "SELECT employee_id, email, display_name FROM learners WHERE id = :id",
        {"id": demo.people.admin_id},
    )
    me = rows[0]
    before = await snapshot(services)
    item = {
        "employeeId": me["employee_id"],
        "emailId": me["email"],
        "displayName": me["display_name"],
        "status": "inactive",
    }
    body = assert_error(await upsert(admin, [person(50), item]), 409, 7052)
    assert error_fields(body) == {"learnerData.1.status"}
    assert_snapshots_equal(before, await snapshot(services), "a refused upsert")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"employeeId": "X1", "emailId": "x@zylker.example", "displayName": "X"}, 400, 7204),
        ([], 400, 7204),
        ([person(60 + i) for i in range(201)], 422, 7021),
    ],
)
async def test_payload_shape_and_size(
    admin: Api, services: Services, payload: Any, status: int, code: int
) -> None:
    before = await snapshot(services)
    assert_error(await upsert(admin, payload), status, code)
    assert_snapshots_equal(before, await snapshot(services), "a refused upsert")


async def test_two_hundred_at_once_with_managers(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    batch = [
        person(1000 + i, managerEmployeeId=f"UP{1000 + (i - 1) // 10:04d}") for i in range(1, 200)
    ]
    batch.append(person(1000, managerId=str(demo.people.admin_id)))
    body = ok_body(await upsert(admin, batch))
    assert len(body["created"]) == 200
    stored = await by_employee_id(services, demo.people.org_id)
    assert stored["UP1199"]["boss"] == "UP1019" and stored["UP1000"]["boss"] == "ZY00000"


async def test_only_admins_upsert(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    manager = Api(client, await token_for(services, demo, demo.people.manager_id))
    assert_error(await upsert(manager, [person(70)]), 403, 9000)
