"""Managing learners: POST/GET /api/v1/learners, GET/PATCH/DELETE /api/v1/learners/{id}."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import orjson
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import is_decimal, sql
from tests.api.test_progress_writes import (
    Api,
    assert_snapshots_equal,
    error_fields,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error, auth

_serial = itertools.count(1)

RECORD_KEYS = {
    "userId",
    "zuid",
    "employeeId",
    "emailId",
    "displayName",
    "role",
    "managerId",
    "isActive",
    "createdTime",
    "modifiedTime",
}


def person(**extra: Any) -> dict[str, Any]:
    n = next(_serial)
    return {
        "emailId": f"new.person.{n}@zylker.example",
        "displayName": f"New Person {n}",
        "employeeId": f"NP{n:06d}",
        **extra,
    }


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    return Api(client, await token_for(services, demo, demo.people.admin_id))


# --- Create ------------------------------------------------------------------------------------


async def test_create_one_learner_answers_its_record(
    admin: Api, demo: DemoTokens, clock: ManualClock
) -> None:
    data = person(
        emailId="Mixed.Case@Zylker.example", role="manager", managerId=str(demo.people.admin_id)
    )
    body = ok_body(await admin.send("POST", "/learners", data))
    [record] = body["learners"]
    assert set(record) == RECORD_KEYS
    assert record["emailId"] == "mixed.case@zylker.example"
    assert (record["displayName"], record["employeeId"]) == (
        data["displayName"],
        data["employeeId"],
    )
    assert (record["role"], record["managerId"]) == ("manager", str(demo.people.admin_id))
    assert record["isActive"] is True
    assert is_decimal(record["userId"]) and is_decimal(record["zuid"])
    assert record["createdTime"] == record["modifiedTime"] == str(clock.now_ms())
    assert (await admin.ok("GET", f"/learners/{record['userId']}"))["learner"] == record


async def test_new_learner_can_be_given_a_token_and_read_themself(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    [record] = (await admin.ok("POST", "/learners", person(zuid=123456789)))["learners"]
    assert record["zuid"] == "123456789"
    assert record["role"] == "learner" and record["managerId"] == "null"
    me = Api(admin.client, await token_for(services, demo, record["userId"]))
    assert (await me.ok("GET", f"/learners/{record['userId']}"))["learner"] == record
    assert (await me.ok("GET", "/learners/123456789"))["learner"] == record


async def test_a_batch_is_created_in_order_and_may_name_an_earlier_member_as_manager(
    admin: Api,
) -> None:
    boss = person(role="manager")
    items = [boss, person(managerId=boss["emailId"]), person(managerId=boss["emailId"])]
    learners = (await admin.ok("POST", "/learners", items))["learners"]
    assert [r["emailId"] for r in learners] == [i["emailId"] for i in items]
    assert learners[1]["managerId"] == learners[2]["managerId"] == learners[0]["userId"]
    assert len({r["zuid"] for r in learners}) == 3


@pytest.mark.parametrize("form", ["json", "query", "form"])
async def test_learner_payload_in_all_three_forms(admin: Api, form: str) -> None:
    items = [person(), person()]
    document = orjson.dumps(items).decode()
    url, headers = "/api/v1/learners", admin.headers()
    if form == "json":
        headers["Content-Type"] = "application/json"
        response = await admin.client.post(url, content=document, headers=headers)
    elif form == "query":
        response = await admin.client.post(url, params={"learnerData": document}, headers=headers)
    else:
        response = await admin.client.post(url, data={"learnerData": document}, headers=headers)
    learners = ok_body(response)["learners"]
    assert [r["emailId"] for r in learners] == [i["emailId"] for i in items]


async def test_two_hundred_learners_at_once_pass_and_more_is_422_7021(
    admin: Api, services: Services
) -> None:
    learners = (await admin.ok("POST", "/learners", [person() for _ in range(200)]))["learners"]
    assert len(learners) == 200
    before = await snapshot(services)
    body = assert_error(
        await admin.send("POST", "/learners", [person() for _ in range(201)]), 422, 7021
    )
    assert error_fields(body) == {"learnerData"}
    assert_snapshots_equal(before, await snapshot(services), "201 learners")


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (
            {"emailId": "not-an-email", "displayName": "X", "employeeId": "E1"},
            {"emailId"},
        ),
        ({"emailId": "a@b.example", "employeeId": "E1"}, {"displayName"}),
        (
            {"emailId": "a@b.example", "displayName": "", "employeeId": ""},
            {"displayName", "employeeId"},
        ),
        (
            {"emailId": "a@b.example", "displayName": "X", "employeeId": "E1", "role": "boss"},
            {"role"},
        ),
        ({"emailId": "a@b.example", "displayName": "X", "employeeId": "E1", "zuid": 0}, {"zuid"}),
        ({"emailId": "a@b.example", "displayName": "X", "employeeId": "E1", "shoe": 9}, {"shoe"}),
        ("just a string", {"learnerData"}),
    ],
)
async def test_invalid_learner_is_400_7204_naming_each_field(
    admin: Api, services: Services, data: Any, fields: set[str]
) -> None:
    before = await snapshot(services)
    body = assert_error(await admin.send("POST", "/learners", data), 400, 7204)
    assert error_fields(body) == fields, body
    # In a batch, the field names say which learner.
    body = assert_error(await admin.send("POST", "/learners", [person(), data]), 400, 7204)
    expected = {f"learnerData.1.{f}" if f != "learnerData" else "learnerData.1" for f in fields}
    assert error_fields(body) == expected, body
    assert_snapshots_equal(before, await snapshot(services), "invalid learners")


async def test_missing_empty_or_malformed_learner_payload(admin: Api, services: Services) -> None:
    before = await snapshot(services)
    assert error_fields(assert_error(await admin.send("POST", "/learners"), 400, 7019)) == {
        "learnerData"
    }
    assert_error(await admin.send("POST", "/learners", []), 400, 7204)
    response = await admin.client.post(
        "/api/v1/learners", params={"learnerData": "{oops"}, headers=admin.headers()
    )
    assert error_fields(assert_error(response, 400, 7204)) == {"learnerData"}
    assert_snapshots_equal(before, await snapshot(services), "missing payloads")


async def test_duplicates_refuse_the_whole_batch_with_409(admin: Api, services: Services) -> None:
    [existing] = (await admin.ok("POST", "/learners", person()))["learners"]
    before = await snapshot(services)
    fresh = person()
    for clash, field in (
        ({"emailId": existing["emailId"].upper()}, "emailId"),
        ({"employeeId": existing["employeeId"]}, "employeeId"),
        ({"zuid": int(existing["zuid"])}, "zuid"),
    ):
        body = assert_error(
            await admin.send("POST", "/learners", [fresh, person(**clash)]), 409, 7052
        )
        assert error_fields(body) == {f"learnerData.1.{field}"}
        body = assert_error(await admin.send("POST", "/learners", person(**clash)), 409, 7052)
        assert error_fields(body) == {field}
    # Two of the same batch clash with each other as well.
    assert_error(await admin.send("POST", "/learners", [fresh, dict(fresh)]), 409, 7052)
    # An unknown manager refuses the batch too.
    assert_error(
        await admin.send("POST", "/learners", [fresh, person(managerId="nobody@x.example")]),
        404,
        7048,
    )
    assert_snapshots_equal(before, await snapshot(services), "refused batches")
    assert not await sql(
        services, "SELECT 1 FROM learners WHERE email = :e", {"e": fresh["emailId"]}
    )


async def test_a_body_over_one_mebibyte_is_413_7053(admin: Api, services: Services) -> None:
    before = await snapshot(services)
    padding = "x" * (1024 * 1024)
    response = await admin.client.post(
        "/api/v1/learners",
        content=orjson.dumps(person(displayName=padding)),
        headers={**admin.headers(), "Content-Type": "application/json"},
    )
    assert_error(response, 413, 7053)
    assert_snapshots_equal(before, await snapshot(services), "413")


# --- Who may manage -------------------------------------------------------------------------


async def test_only_admins_create_update_or_deactivate_learners(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    people = demo.people
    learner = Api(client, demo.learner_token)
    manager = Api(client, await token_for(services, demo, people.manager_id))
    readonly = Api(client, demo.manager_token)
    before = await snapshot(services)
    for api, code in ((learner, 9000), (manager, 9000), (readonly, 7218)):
        assert_error(await api.send("POST", "/learners", person()), 403, code)
        for target in (people.learner_id, people.manager_id):
            assert_error(
                await api.send("PATCH", f"/learners/{target}", {"displayName": "Mallory"}),
                403,
                code,
            )
            assert_error(await api.send("DELETE", f"/learners/{target}"), 403, code)
    assert_snapshots_equal(before, await snapshot(services), "non-admin learner writes")


async def test_unauthenticated_writes_are_401(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    assert_error(await client.post("/api/v1/learners", json=person()), 401, 7201)
    response = await client.patch(
        f"/api/v1/learners/{demo.people.learner_id}",
        json={"displayName": "X"},
        headers=auth("not-a-token"),
    )
    assert_error(response, 401, 7201)


async def test_other_organisations_learners_are_404(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    other = demo.people.other_org_learner_id
    [row] = await sql(services, "SELECT zuid, email FROM learners WHERE id = :id", {"id": other})
    before = await snapshot(services)
    for ref in (other, row["zuid"], row["email"]):
        assert_error(await admin.send("GET", f"/learners/{ref}"), 404, 7048)
        assert_error(await admin.send("PATCH", f"/learners/{ref}", {"displayName": "X"}), 404, 7048)
        assert_error(await admin.send("DELETE", f"/learners/{ref}"), 404, 7048)
    assert_error(await admin.send("POST", "/learners", person(managerId=str(other))), 404, 7048)
    assert_error(
        await admin.send("PATCH", f"/learners/{demo.people.learner_id}", {"managerId": str(other)}),
        404,
        7048,
    )
    assert_snapshots_equal(before, await snapshot(services), "other organisation")
    listed = (await admin.ok("GET", f"/learners?search={row['email']}"))["learners"]
    assert listed == []


# --- List and read -------------------------------------------------------------------------


async def test_list_pages_through_the_organisation(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    count = (
        await sql(
            services,
            "SELECT count(*) FROM learners WHERE org_id = :o",
            {"o": demo.people.org_id},
        )
    )[0][0]
    seen: list[str] = []
    for page in range(20):
        body = await admin.ok("GET", f"/learners?limit=25&startIndex={1 + 25 * page}")
        assert all(set(r) == RECORD_KEYS for r in body["learners"])
        seen.extend(r["userId"] for r in body["learners"])
        if not body["isNextAvailable"]:
            break
    assert len(seen) == len(set(seen)) == count
    assert seen == sorted(seen, key=int)
    assert_error(await admin.send("GET", "/learners?limit=101"), 422, 7021)
    assert_error(await admin.send("GET", "/learners?limit=x"), 400, 7204)


async def test_list_search_and_filters(admin: Api, demo: DemoTokens) -> None:
    n = next(_serial)
    items = [
        person(displayName=f"Zebulon Quux{n}", employeeId=f"QX{n}A"),
        person(emailId=f"zebulon{n}_q%@zylker.example", employeeId=f"QX{n}B"),
        person(employeeId=f"ZEBQ{n}", role="admin"),
    ]
    created = (await admin.ok("POST", "/learners", items))["learners"]
    ids = [r["userId"] for r in created]

    async def search(query: str) -> list[str]:
        body = await admin.ok("GET", f"/learners?limit=100&{query}")
        return [r["userId"] for r in body["learners"]]

    assert await search(f"search=quux{n}") == ids[:1]
    assert await search(f"search=ZEBULON{n}") == ids[1:2]
    assert await search(f"search=zebq{n}") == ids[2:]
    assert await search(f"search=qx{n}") == ids[:2]
    # LIKE wildcards are searched literally.
    assert await search("search=%25") == ids[1:2]
    assert await search(f"search={n}_q%25") == ids[1:2]
    assert await search(f"search={n}%25q") == []
    assert await search(f"search=zebulon{n}_q%25") == ids[1:2]
    assert ids[2] in await search("role=admin")
    assert ids[0] not in await search("role=admin")
    assert_error(await admin.send("GET", "/learners?role=boss"), 400, 7204)
    assert_error(await admin.send("GET", "/learners?status=gone"), 400, 7204)
    assert await search("status=inactive") == []


async def test_managers_list_their_team_and_learners_themselves(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    people = demo.people
    team = await sql(
        services,
        "SELECT id FROM learners WHERE manager_id = :m OR id = :m ORDER BY id",
        {"m": people.manager_id},
    )
    manager = Api(client, demo.manager_token)
    listed = (await manager.ok("GET", "/learners?limit=100"))["learners"]
    assert [r["userId"] for r in listed] == [str(r["id"]) for r in team]
    learner = Api(client, demo.learner_token)
    listed = (await learner.ok("GET", "/learners?limit=100"))["learners"]
    assert [r["userId"] for r in listed] == [str(people.learner_id)]
    assert_error(await learner.send("GET", f"/learners/{people.manager_id}"), 403, 9000)
    assert_error(await manager.send("GET", f"/learners/{people.admin_id}"), 403, 9000)
    assert (await manager.ok("GET", f"/learners/{people.learner_id}"))["learner"]["userId"] == str(
        people.learner_id
    )


# --- Update ------------------------------------------------------------------------------------


async def test_patch_changes_only_the_given_fields(
    admin: Api, demo: DemoTokens, clock: ManualClock
) -> None:
    [record] = (await admin.ok("POST", "/learners", person()))["learners"]
    clock.advance(5)
    patched = (
        await admin.ok(
            "PATCH",
            f"/learners/{record['userId']}",
            {
                "displayName": "  Renamed Person ",
                "role": "manager",
                "managerId": str(demo.people.manager_id),
            },
        )
    )["learner"]
    assert patched["displayName"] == "Renamed Person"
    assert (patched["role"], patched["managerId"]) == ("manager", str(demo.people.manager_id))
    assert (patched["emailId"], patched["employeeId"], patched["zuid"]) == (
        record["emailId"],
        record["employeeId"],
        record["zuid"],
    )
    assert patched["createdTime"] == record["createdTime"]
    assert patched["modifiedTime"] == str(clock.now_ms())
    # managerId null removes the manager; the email is stored in lower case.
    patched = (
        await admin.ok(
            "PATCH",
            f"/learners/{record['userId']}",
            {"managerId": None, "emailId": "Renamed@Zylker.example"},
        )
    )["learner"]
    assert (patched["managerId"], patched["emailId"]) == ("null", "renamed@zylker.example")
    # Query-parameter form.
    response = await admin.client.patch(
        f"/api/v1/learners/{record['userId']}",
        params={"learnerData": '{"employeeId": "QP-1"}'},
        headers=admin.headers(),
    )
    assert ok_body(response)["learner"]["employeeId"] == "QP-1"


async def test_refused_patches_change_nothing(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    boss, report = (await admin.ok("POST", "/learners", [person(), person()]))["learners"]
    await admin.ok("PATCH", f"/learners/{report['userId']}", {"managerId": boss["userId"]})
    before = await snapshot(services)
    cases: list[tuple[Any, int, int, set[str]]] = [
        ({"displayName": None}, 400, 7204, {"displayName"}),
        ({"role": None}, 400, 7204, {"role"}),
        ({"emailId": "nope"}, 400, 7204, {"emailId"}),
        ({"status": "gone"}, 400, 7204, {"status"}),
        ({"userId": "5"}, 400, 7204, {"userId"}),
        ({"emailId": report["emailId"]}, 409, 7052, {"emailId"}),
        ({"employeeId": report["employeeId"]}, 409, 7052, {"employeeId"}),
        # A reporting loop: the boss may not report to their own reportee, nor to themself.
        ({"managerId": report["userId"]}, 409, 7052, {"managerId"}),
        ({"managerId": boss["userId"]}, 409, 7052, {"managerId"}),
    ]
    for data, status, code, fields in cases:
        body = assert_error(
            await admin.send("PATCH", f"/learners/{boss['userId']}", data), status, code
        )
        assert error_fields(body) == fields, (data, body)
    assert_error(await admin.send("PATCH", f"/learners/{boss['userId']}"), 400, 7019)
    assert_error(await admin.send("PATCH", "/learners/1", {"displayName": "X"}), 404, 7048)
    # An admin cannot deactivate themself, in either way.
    me = demo.people.admin_id
    assert_error(await admin.send("PATCH", f"/learners/{me}", {"status": "inactive"}), 409, 7052)
    assert_error(await admin.send("DELETE", f"/learners/{me}"), 409, 7052)
    assert_snapshots_equal(before, await snapshot(services), "refused patches")


# --- Deactivate --------------------------------------------------------------------------------


async def test_deactivate_keeps_the_records_and_blocks_the_token(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    learner = demo.people.learner_id
    token = demo.learner_token
    assert (await Api(admin.client, token).ok("GET", f"/learners/{learner}"))["learner"]["isActive"]
    history = await sql(
        services, "SELECT * FROM progress_events WHERE learner_id = :l ORDER BY id", {"l": learner}
    )
    progress = await sql(
        services,
        "SELECT * FROM course_progress WHERE learner_id = :l ORDER BY 1, 2",
        {"l": learner},
    )
    assert history and progress
    plans_before = await admin.ok("GET", f"/learners/{learner}/learning-plans/progress")

    record = (await admin.ok("DELETE", f"/learners/{learner}"))["learner"]
    assert record["isActive"] is False
    assert (await admin.ok("GET", f"/learners/{learner}"))["learner"]["isActive"] is False
    inactive = (await admin.ok("GET", "/learners?status=inactive"))["learners"]
    assert [r["userId"] for r in inactive] == [str(learner)]
    # Everything is kept, and still readable by an admin.
    assert (
        await sql(
            services,
            "SELECT * FROM progress_events WHERE learner_id = :l ORDER BY id",
            {"l": learner},
        )
        == history
    )
    assert (
        await sql(
            services,
            "SELECT * FROM course_progress WHERE learner_id = :l ORDER BY 1, 2",
            {"l": learner},
        )
        == progress
    )
    assert (await admin.ok("GET", f"/learners/{learner}/learning-plans/progress"))[
        "learningPlans"
    ] == plans_before["learningPlans"]
    # The deactivated learner cannot authenticate any more.
    response = await admin.client.get(f"/api/v1/learners/{learner}", headers=auth(token))
    assert_error(response, 401, 7201)
    # Deactivating again changes nothing; reactivating restores sign-in.
    assert (await admin.ok("DELETE", f"/learners/{learner}"))["learner"]["isActive"] is False
    await admin.ok("PATCH", f"/learners/{learner}", {"status": "active"})
    response = await admin.client.get(f"/api/v1/learners/{learner}", headers=auth(token))
    assert ok_body(response)["learner"]["isActive"] is True


async def test_learners_created_at_the_same_time_are_all_created(admin: Api) -> None:
    """Concurrent creations each get their own zuid: none is refused by another's (on
    PostgreSQL they used to race for the next zuid and answer 500)."""
    answers = await asyncio.gather(*(admin.send("POST", "/learners", person()) for _ in range(8)))
    records = [record for answer in answers for record in ok_body(answer)["learners"]]
    assert len({record["zuid"] for record in records}) == len(records) == 8
