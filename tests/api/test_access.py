"""Roles (admin: the organisation; manager: self and reportees; learner: self) and isolation
(nothing of another organisation is visible, not even that it exists).

Learner-scoped paths are taken from the app's own routes, so a path added later is covered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from lmsplans.demo import DemoTokens
from lmsplans.server.app import route_tables
from lmsplans.server.auth.schemas import Role
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.plans.service import add_plan_admin
from lmsplans.server.settings import Settings
from tests.api.readdata import as_admin, long_token, sql
from tests.conftest import assert_error, auth, committed_writes

READ_FAMILY = (
    "/api/v1/learners/{learnerId}/learning-plans/progress",
    "/api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress",
    "/api/v1/learners/{learnerId}/course-progress",
    "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress",
)
ROSTERS = ("/api/v1/learning-plans/{planId}/learners", "/api/v1/learning-plans/{planId}/members")
WRITE_BODIES: dict[str, Any] = {
    "PUT": {"completionStatus": "completed", "completionPercentage": 100},
    "PATCH": {"displayName": "Renamed"},
    "POST": {},
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """These tests make many calls to one API; the threshold is not what they check."""
    return Settings(database_url=database_url, rate_limit_threshold=100_000)


def api_routes(app: Starlette, method: str, *, has: str) -> list[str]:
    """Every /api/v1 path template answering `method` whose template holds `has`."""
    paths = [
        route.path
        for route in app.routes
        if isinstance(route, Route)
        and route.path.startswith("/api/v1/")
        and method in (route.methods or set())
        and has in route.path
    ]
    assert paths, f"no {method} route with {has}"
    return paths


def fill(template: str, **values: object) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"{template}: no value for {name}"
        return str(values[name])

    return re.sub(r"\{(\w+)\}", one, template)


async def data_ids(services: Services, org_id: int) -> dict[str, Any]:
    """One organisation's learners, plans and courses, straight from the database."""
    learners = await sql(
        services, "SELECT id, zuid, email FROM learners WHERE org_id = :o", {"o": org_id}
    )
    plans = await sql(services, "SELECT id FROM learning_plans WHERE org_id = :o", {"o": org_id})
    courses = await sql(services, "SELECT id FROM courses WHERE org_id = :o", {"o": org_id})
    return {
        "learners": {str(r["id"]) for r in learners},
        "emails": {r["email"] for r in learners},
        "plans": {str(r["id"]) for r in plans},
        "courses": {str(r["id"]) for r in courses},
    }


def ids_in(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (kind, value) of a JSON answer: ids by the kind their key names, and emails."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from ids_in(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from ids_in(item, key)
    elif isinstance(value, str):
        lowered = key.lower()
        if lowered.endswith("planid"):
            yield "plans", value
        elif lowered.endswith("courseid"):
            yield "courses", value
        elif lowered in ("userid", "managerid", "ownerid", "learnerid", "erecno"):
            yield "learners", value
        if "@" in value:
            yield "emails", value.lower()


async def first_plan_and_course(services: Services, learner_id: int, org_id: int) -> dict[str, int]:
    """A plan and a course of the learner if they have them, else any of the organisation,
    and the course as a batch id."""
    plan = await sql(
        services,
        """SELECT coalesce((SELECT plan_id FROM plan_enrolments WHERE learner_id = :l
                             AND unenrolled_time IS NULL ORDER BY id LIMIT 1),
                           (SELECT min(id) FROM learning_plans WHERE org_id = :o)) AS id""",
        {"l": learner_id, "o": org_id},
    )
    course = await sql(
        services,
        """SELECT coalesce((SELECT course_id FROM course_progress WHERE learner_id = :l
                             ORDER BY course_id LIMIT 1),
                           (SELECT min(id) FROM courses WHERE org_id = :o)) AS id""",
        {"l": learner_id, "o": org_id},
    )
    # `batchId`: a blended course's one batch is the course itself (any course serves the
    # paths that refuse the reader before they look at the batch).
    return {"planId": plan[0]["id"], "courseId": course[0]["id"], "batchId": course[0]["id"]}


async def people(services: Services, demo: DemoTokens) -> dict[str, int]:
    """The demo's cast for role checks, found in the database."""
    p = demo.people
    [peer] = await sql(
        services,
        """SELECT id FROM learners WHERE org_id = :o AND role = 'manager' AND id <> :m
            ORDER BY id LIMIT 1""",
        {"o": p.org_id, "m": p.manager_id},
    )
    [outsider] = await sql(
        services,
        "SELECT id FROM learners WHERE manager_id = :peer AND role = 'learner' ORDER BY id LIMIT 1",
        {"peer": peer["id"]},
    )
    [colleague] = await sql(
        services,
        "SELECT id FROM learners WHERE manager_id = :m AND id <> :l ORDER BY id LIMIT 1",
        {"m": p.manager_id, "l": p.learner_id},
    )
    return {
        "admin": p.admin_id,
        "manager": p.manager_id,
        "learner": p.learner_id,
        "colleague": colleague["id"],
        "peer_manager": peer["id"],
        "other_team": outsider["id"],
    }


async def visible_ids(services: Services, manager_id: int) -> set[str]:
    rows = await sql(
        services,
        "SELECT id FROM learners WHERE id = :m OR manager_id = :m",
        {"m": manager_id},
    )
    return {str(r["id"]) for r in rows}


# --- Roles: who reads whom --------------------------------------------------------------------

# (reader, target, allowed)
ROLE_CASES = [
    ("admin", "admin", True),
    ("admin", "manager", True),
    ("admin", "learner", True),
    ("admin", "peer_manager", True),
    ("admin", "other_team", True),
    ("manager", "manager", True),
    ("manager", "learner", True),
    ("manager", "colleague", True),
    ("manager", "admin", False),
    ("manager", "peer_manager", False),
    ("manager", "other_team", False),
    ("learner", "learner", True),
    ("learner", "colleague", False),
    ("learner", "manager", False),
    ("learner", "admin", False),
    ("learner", "other_team", False),
]


@pytest.mark.parametrize("reader", ["admin", "manager", "learner"])
async def test_reading_a_learner_follows_the_readers_role(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, app: Starlette, reader: str
) -> None:
    cast = await people(services, demo)
    token = {"admin": demo.admin_token, "manager": demo.manager_token}.get(
        reader, demo.learner_token
    )
    cases = [(target, allowed) for who, target, allowed in ROLE_CASES if who == reader]
    assert cases
    for target, allowed in cases:
        target_id = cast[target]
        fills = await first_plan_and_course(services, target_id, demo.people.org_id)
        if allowed:
            await assert_reads_allowed(client, services, token, target_id, fills)
        else:
            # Every GET about the learner is refused, whatever else the path names.
            for template in api_routes(app, "GET", has="{learnerId}"):
                url = fill(template, learnerId=target_id, **fills)
                response = await client.get(url, headers=auth(token))
                assert response.status_code == 403, (reader, target, url, response.text)
                assert_error(response, 403, 9000)


async def assert_reads_allowed(
    client: httpx.AsyncClient,
    services: Services,
    token: str,
    target_id: int,
    fills: dict[str, int],
) -> None:
    """The read family answers about the target (with their own plan and course)."""
    enrolled = await sql(
        services,
        "SELECT 1 FROM plan_enrolments WHERE learner_id = :l AND plan_id = :p",
        {"l": target_id, "p": fills["planId"]},
    )
    taken = await sql(
        services,
        "SELECT 1 FROM course_progress WHERE learner_id = :l AND course_id = :c",
        {"l": target_id, "c": fills["courseId"]},
    )
    for template in READ_FAMILY:
        if ("{planId}" in template and not enrolled) or ("{courseId}" in template and not taken):
            continue
        url = fill(template, learnerId=target_id, **fills)
        response = await client.get(url, headers=auth(token))
        assert response.status_code == 200, (target_id, url, response.text)


async def test_learner_cannot_read_rosters(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    fills = await first_plan_and_course(services, demo.people.learner_id, demo.people.org_id)
    for template in ROSTERS:
        url = fill(template, planId=fills["planId"])
        assert_error(await client.get(url, headers=auth(demo.learner_token)), 403, 9000)
        ok = await client.get(url, headers=auth(demo.admin_token))
        assert ok.status_code == 200


async def test_manager_roster_holds_only_self_and_reportees_with_matching_summary(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    visible = await visible_ids(services, demo.people.manager_id)
    plans = await sql(
        services,
        "SELECT id FROM learning_plans WHERE org_id = :o AND publish_state = 1 ORDER BY id",
        {"o": demo.people.org_id},
    )
    hidden_somewhere = False
    for plan in plans:
        enrolled = await sql(
            services,
            """SELECT learner_id FROM plan_enrolments
                WHERE plan_id = :p AND unenrolled_time IS NULL""",
            {"p": plan["id"]},
        )
        expected = {str(r["learner_id"]) for r in enrolled} & visible
        hidden_somewhere |= len(expected) < len(enrolled)
        response = await client.get(
            f"/api/v1/learning-plans/{plan['id']}/learners?limit=100",
            headers=auth(demo.manager_token),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert {m["userInfo"]["userId"] for m in body["learners"]} == expected
        assert body["summary"]["totalCount"] == str(len(expected))
        counted = sum(
            int(body["summary"][k])
            for k in ("completedCount", "inProgressCount", "notStartedCount")
        )
        assert counted == len(expected)
    assert hidden_somewhere, "the demo should enrol people outside the manager's team"


async def test_manager_who_is_a_plan_admin_reads_the_whole_roster(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    [plan] = await sql(
        services,
        """SELECT plan_id, count(*) AS n FROM plan_enrolments WHERE org_id = :o
            AND unenrolled_time IS NULL GROUP BY plan_id ORDER BY n DESC LIMIT 1""",
        {"o": demo.people.org_id},
    )
    url = f"/api/v1/learning-plans/{plan['plan_id']}/learners?limit=100"
    before = (await client.get(url, headers=auth(demo.manager_token))).json()
    assert int(before["summary"]["totalCount"]) < plan["n"]
    async with services.db.transaction() as conn:
        await add_plan_admin(
            conn,
            write=as_admin(demo, 0),
            plan_id=plan["plan_id"],
            learner_id=demo.people.manager_id,
        )
    after = (await client.get(url, headers=auth(demo.manager_token))).json()
    assert after["summary"]["totalCount"] == str(plan["n"])


async def test_course_progress_list_is_filtered_to_what_the_caller_may_read(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    [course] = await sql(
        services,
        """SELECT course_id, count(*) AS n FROM course_progress WHERE org_id = :o
            AND course_id IN (SELECT course_id FROM course_progress WHERE learner_id = :l)
            GROUP BY course_id ORDER BY n DESC LIMIT 1""",
        {"o": demo.people.org_id, "l": demo.people.learner_id},
    )
    takers = {
        str(r["learner_id"])
        for r in await sql(
            services,
            "SELECT learner_id FROM course_progress WHERE course_id = :c",
            {"c": course["course_id"]},
        )
    }
    assert len(takers) <= 100
    url = f"/api/v1/courses/{course['course_id']}/course-progress?limit=100"

    async def users(token: str) -> set[str]:
        response = await client.get(url, headers=auth(token))
        assert response.status_code == 200, response.text
        return {r["userId"] for r in response.json()["courseProgress"]}

    assert await users(demo.admin_token) == takers
    manager_sees = await users(demo.manager_token)
    assert manager_sees == takers & await visible_ids(services, demo.people.manager_id)
    assert manager_sees < takers
    assert await users(demo.learner_token) == {str(demo.people.learner_id)}


async def test_non_admins_do_not_see_draft_plans(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    drafts = {
        str(r["id"])
        for r in await sql(
            services,
            "SELECT id FROM learning_plans WHERE org_id = :o AND publish_state = 0",
            {"o": demo.people.org_id},
        )
    }
    assert drafts
    for token, sees_drafts in (
        (demo.admin_token, True),
        (demo.manager_token, False),
        (demo.learner_token, False),
    ):
        response = await client.get("/api/v1/learning-plans?limit=100", headers=auth(token))
        listed = {p["planId"] for p in response.json()["learningPlans"]}
        assert (drafts <= listed) is sees_drafts
        assert sees_drafts or not drafts & listed


# --- Isolation --------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["admin", "manager", "learner"])
async def test_other_organisations_learner_is_404_7048_on_every_learner_path(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, app: Starlette, reader: str
) -> None:
    other = demo.people.other_org_learner_id
    [row] = await sql(services, "SELECT zuid, email FROM learners WHERE id = :i", {"i": other})
    assert row["email"] == "learner@acme.example"
    token = {"admin": demo.admin_token, "manager": demo.manager_token}.get(
        reader, demo.learner_token
    )
    own = await first_plan_and_course(services, demo.people.learner_id, demo.people.org_id)
    theirs = await first_plan_and_course(services, other, (await org_of(services, other)))
    templates = api_routes(app, "GET", has="{learnerId}")
    assert set(READ_FAMILY) <= set(templates)
    for ref in (other, row["zuid"], row["email"], row["email"].upper()):
        for template in templates:
            for fills in (own, theirs):
                url = fill(template, learnerId=ref, **fills)
                response = await client.get(url, headers=auth(token))
                assert response.status_code == 404, (url, response.text)
                assert "acme" not in response.text.lower(), url
                if fills is theirs and ("{planId}" in template or "{courseId}" in template):
                    # Every id is unknown here; any plain "no such" 404 tells nothing.
                    assert response.json()["code"] in (7048, 7049)
                else:
                    assert_error(response, 404, 7048)


async def org_of(services: Services, learner_id: int) -> int:
    [row] = await sql(services, "SELECT org_id FROM learners WHERE id = :i", {"i": learner_id})
    return int(row["org_id"])


async def test_other_organisations_plans_and_courses_are_404_7049(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, app: Starlette
) -> None:
    other_org = await org_of(services, demo.people.other_org_learner_id)
    theirs = await data_ids(services, other_org)
    assert theirs["plans"] and theirs["courses"]
    own = await first_plan_and_course(services, demo.people.learner_id, demo.people.org_id)
    templates = [t for t in api_routes(app, "GET", has="{") if "{planId}" in t or "{courseId}" in t]
    for template in templates:
        for plan_id in theirs["plans"]:
            for course_id in sorted(theirs["courses"])[:1]:
                values = {
                    "learnerId": demo.people.learner_id,
                    "planId": plan_id if "{planId}" in template else own["planId"],
                    "courseId": course_id if "{courseId}" in template else own["courseId"],
                    "batchId": course_id,  # a blended course's batch is the course itself
                }
                response = await client.get(
                    fill(template, **values), headers=auth(demo.admin_token)
                )
                assert_error(response, 404, 7049)


async def test_writes_about_another_organisations_learner_look_like_no_learner_at_all(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, app: Starlette
) -> None:
    other = demo.people.other_org_learner_id
    other_org = await org_of(services, other)
    own = await first_plan_and_course(services, demo.people.learner_id, demo.people.org_id)

    async def snapshot() -> list[list[Any]]:
        """The other organisation's learners, enrolments, progress and event count."""
        queries = (
            "SELECT id, status, display_name, modified_time FROM learners WHERE org_id = :o",
            "SELECT id, is_joined, unenrolled_time FROM plan_enrolments WHERE org_id = :o",
            "SELECT learner_id, course_id, status, percentage FROM course_progress"
            " WHERE org_id = :o",
            "SELECT count(*) FROM progress_events WHERE org_id = :o",
        )
        return [sorted(tuple(r) for r in await sql(services, q, {"o": other_org})) for q in queries]

    before = await snapshot()
    checked = 0
    for method in ("PUT", "POST", "PATCH", "DELETE"):
        for template in [
            r.path
            for r in app.routes
            if isinstance(r, Route)
            and r.path.startswith("/api/v1/")
            and "{learnerId}" in r.path
            and method in (r.methods or set())
        ]:
            answers = []
            for ref in (other, "learner@acme.example", 1):
                response = await client.request(
                    method,
                    fill(template, learnerId=ref, **own),
                    json=WRITE_BODIES.get(method),
                    headers=auth(demo.admin_token),
                )
                answers.append((response.status_code, response.json().get("code")))
            assert answers[0][0] >= 400, (method, template, answers)
            # Indistinguishable from a learner that does not exist.
            assert answers[0] == answers[1] == answers[2], (method, template, answers)
            checked += 1
    assert await snapshot() == before
    assert checked, "no write route names a learner"


async def test_nothing_of_the_other_organisation_appears_in_any_list(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, app: Starlette
) -> None:
    other_org = await org_of(services, demo.people.other_org_learner_id)
    theirs = await data_ids(services, other_org)
    own = await data_ids(services, demo.people.org_id)
    urls = [t for t in api_routes(app, "GET", has="/") if "{" not in t]
    urls += [f"/api/v1/learning-plans/{p}/learners" for p in sorted(own["plans"])]
    urls += [f"/api/v1/courses/{c}/course-progress" for c in sorted(own["courses"])]
    urls += [f"/api/v1/learners/{demo.people.learner_id}/learning-plans/progress"]
    urls += [f"/api/v1/learners/{demo.people.learner_id}/course-progress"]
    seen: dict[str, set[str]] = {"learners": set(), "plans": set(), "courses": set()}
    for url in urls:
        for start in (0, 1, 101):  # first pages of every list, 0- or 1-based
            response = await client.get(
                url, params={"startIndex": start, "limit": 100}, headers=auth(demo.admin_token)
            )
            assert response.status_code == 200, (url, response.text)
            ids = list(ids_in(response.json()))
            found = [(kind, v) for kind, v in ids if v in theirs[kind]]
            assert not found, (url, found)
            assert "acme" not in response.text.lower(), url
            for kind, value in ids:
                if value != "null":
                    seen.setdefault(kind, set()).add(value)
    # The check looked at real data: the lists named the organisation's own records.
    for kind in ("learners", "plans", "courses"):
        assert seen[kind] and seen[kind] <= own[kind], kind


async def test_other_organisations_admin_sees_nothing_of_the_demo_organisation(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    other_org = await org_of(services, demo.people.other_org_learner_id)
    [acme_admin] = await sql(
        services, "SELECT id FROM learners WHERE org_id = :o AND role = 'admin'", {"o": other_org}
    )
    token = await long_token(
        services, org_id=other_org, user_id=acme_admin["id"], now_ms=clock.now_ms()
    )
    theirs = await data_ids(services, other_org)
    zylker = demo.people.learner_id
    assert_error(
        await client.get(f"/api/v1/learners/{zylker}/learning-plans/progress", headers=auth(token)),
        404,
        7048,
    )
    fills = await first_plan_and_course(services, zylker, demo.people.org_id)
    assert_error(
        await client.get(f"/api/v1/learning-plans/{fills['planId']}/learners", headers=auth(token)),
        404,
        7049,
    )
    response = await client.get("/api/v1/learning-plans?limit=100", headers=auth(token))
    assert {p["planId"] for p in response.json()["learningPlans"]} == theirs["plans"]
    # ... while their own learner reads fine, also by email.
    own = await client.get(
        "/api/v1/learners/LEARNER@acme.example/learning-plans/progress", headers=auth(token)
    )
    assert own.status_code == 200
    assert {p["planId"] for p in own.json()["learningPlans"]} <= theirs["plans"]


async def test_every_route_declared_for_admins_refuses_anyone_else_and_writes_nothing(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    # The role is the declaration's, enforced by the route plumbing before the handler
    # runs: no payload is read (none is sent) and nothing is written.
    declared = [d for table in route_tables() for d in table.declarations if d.role is Role.ADMIN]
    assert len(declared) >= 8  # learners, courses, creating and deleting plans
    ids = {
        "learnerId": demo.people.learner_id,
        "courseId": (await sql(services, "SELECT min(id) AS id FROM courses"))[0]["id"],
        "planId": (await sql(services, "SELECT min(id) AS id FROM learning_plans"))[0]["id"],
        "webhookId": 1,  # refused before any lookup
    }
    manager = await long_token(  # every scope: the role alone refuses
        services, org_id=demo.people.org_id, user_id=demo.people.manager_id, now_ms=clock.now_ms()
    )
    before = await committed_writes(services)
    for declaration in declared:
        for token in (manager, demo.learner_token):
            response = await client.request(
                declaration.method, fill(declaration.path, **ids), headers=auth(token)
            )
            body = assert_error(response, 403, 9000)
            assert body["message"] == "Permission denied: only admins may do this"
    assert await committed_writes(services) == before
