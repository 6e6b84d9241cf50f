"""Hand-made hostile inputs, as an attacker or a careless client sends them: numbers and ids
past what storage holds in every position (path, query, JSON fields, id lists), malformed
bodies, wrong content types, bad percent-encoding and invalid UTF-8. Each gets its documented
status and code in the envelope, never a 500, and changes nothing: the change log and
every table are the same afterwards. On both backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import C, add_plan
from tests.api.test_progress_writes import (
    assert_snapshots_equal,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error, auth, committed_writes

TWO_63 = 2**63  # one past the largest integer SQLite and PostgreSQL store
MAX = 2**63 - 1
LONG_DIGITS = "1" * 5000  # more digits than Python's int() takes from a string by default


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@dataclass
class Stage:
    """What the cases aim at: a published plan with a course, a draft plan, a learner."""

    token: str
    learner: str
    course: str
    plan: str
    draft: str


@pytest.fixture
async def stage(services: Services, demo: DemoTokens) -> Stage:
    now = services.clock.now_ms()
    published = await add_plan(services, demo, courses=[C(mandatory=True)], now_ms=now)
    draft = await add_plan(services, demo, courses=[C(mandatory=True)], now_ms=now, publish=False)
    return Stage(
        token=await token_for(services, demo, demo.people.admin_id),
        learner=str(demo.people.learner_id),
        course=str(published.course_ids[0]),
        plan=str(published.id),
        draft=str(draft.id),
    )


@dataclass(frozen=True)
class Bad:
    """One hostile request and the answer it must get."""

    method: str
    path: str  # formatted with the stage's ids; under /api/v1 unless it starts with //
    status: int
    code: int
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    field: str | None = None  # the field `errors[]` must name

    def url(self, stage: Stage) -> str:
        path = self.path.format(**vars(stage))
        return path[1:] if path.startswith("//") else f"/api/v1{path}"


PROGRESS = "/courses/{course}/learners/{learner}/course-progress"

# Numbers and ids past 64 bits, in every position: 400 7204, never looked up, never a 500.
OUT_OF_RANGE = [
    Bad("GET", f"/courses/{TWO_63}", 400, 7204, field="courseId"),
    Bad("GET", f"/courses/{10**30}", 400, 7204, field="courseId"),
    Bad("GET", f"/courses/{LONG_DIGITS}", 400, 7204, field="courseId"),
    Bad("GET", f"/learning-plans/{TWO_63}", 400, 7204, field="planId"),
    Bad("GET", f"/learning-plans/{TWO_63}/learners", 400, 7204, field="planId"),
    Bad("GET", f"/learners/{TWO_63}", 400, 7204, field="learnerId"),
    Bad("GET", f"/learners/{TWO_63}/learning-plans/progress", 400, 7204, field="learnerId"),
    Bad("GET", "/learners/{learner}/learning-plans/" + str(TWO_63) + "/history", 400, 7204),
    Bad("GET", f"/courses/{TWO_63}/learners/{{learner}}/course-progress", 400, 7204),
    Bad("DELETE", f"/learning-plans/{TWO_63}", 400, 7204, field="planId"),
    Bad("DELETE", f"/learners/{TWO_63}", 400, 7204, field="learnerId"),
    Bad("PATCH", f"/courses/{TWO_63}", 400, 7204, json={"courseName": "x"}),
    Bad(
        "PUT",
        f"/courses/{{course}}/learners/{TWO_63}/course-progress",
        400,
        7204,
        json={"completionPercentage": 10},
        field="learnerId",
    ),
    Bad("GET", f"/learning-plans?startIndex={TWO_63}", 400, 7204, field="startIndex"),
    Bad("GET", f"/learning-plans?startIndex={LONG_DIGITS}", 400, 7204, field="startIndex"),
    Bad("GET", f"/courses?limit={TWO_63}", 400, 7204, field="limit"),
    Bad("GET", f"/courses?Limit={LONG_DIGITS}", 400, 7204, field="Limit"),
    Bad("GET", "/courses?limit=10&Limit=ten", 400, 7204, field="Limit"),
    Bad(
        "POST",
        "/learners",
        400,
        7204,
        json={
            "emailId": "big@zylker.example",
            "displayName": "B",
            "employeeId": "B1",
            "zuid": TWO_63,
        },
        field="zuid",
    ),
    Bad(
        "POST",
        "/learners",
        400,
        7204,
        json={
            "emailId": "big@zylker.example",
            "displayName": "B",
            "employeeId": "B1",
            "zuid": 1e30,
        },
        field="zuid",
    ),
    Bad(
        "POST",
        "/learners",
        400,
        7204,
        json={
            "emailId": "big@zylker.example",
            "displayName": "B",
            "employeeId": "B1",
            "managerId": str(TWO_63),
        },
        field="managerId",
    ),
    Bad(
        "POST", "/courses", 400, 7204, json={"courseName": "c", "duration": 2**31}, field="duration"
    ),
    Bad(
        "POST",
        "/courses",
        400,
        7204,
        json={"courseName": "c", "duration": TWO_63},
        field="duration",
    ),
    Bad("POST", "/courses", 400, 7204, json={"courseName": "c", "duration": -1}, field="duration"),
    Bad("PATCH", "/learners/{learner}", 400, 7204, json={"managerId": str(TWO_63)}),
    Bad("POST", "/learning-plans", 400, 7204, json={"planName": "p", "planAdmins": [TWO_63]}),
    Bad("POST", "/learning-plans", 400, 7204, json={"planName": "p", "planAdmins": [str(MAX + 2)]}),
    Bad("PUT", "/learning-plans/{draft}/courses", 400, 7204, json=[{"courseId": TWO_63}]),
    Bad("PUT", "/learning-plans/{draft}/courses", 400, 7204, json=[{"courseId": str(TWO_63)}]),
    Bad("PUT", "/learning-plans/{draft}/courses", 400, 7204, json=[{"courseId": 10**30}]),
    Bad("PUT", "/learning-plans/{plan}/learners", 400, 7204, json=[TWO_63], field="erecnosList.0"),
    Bad("PUT", "/learning-plans/{plan}/learners", 400, 7204, json=[str(TWO_63)]),
    Bad("PUT", "/learning-plans/{plan}/learners", 400, 7204, json=["{learner}", LONG_DIGITS]),
    Bad("PUT", PROGRESS, 400, 7204, json={"completionPercentage": 10, "completionTime": TWO_63}),
    Bad("PUT", PROGRESS, 400, 7204, json={"completionPercentage": 10, "completionTime": -1}),
    Bad("PUT", PROGRESS, 400, 7204, json={"completionPercentage": 10**12}),
]

# Malformed HTTP that reaches the application: the envelope, with the documented code.
MALFORMED = [
    Bad(
        "PUT",
        PROGRESS,
        400,
        7204,
        content=b"{not json",
        headers={"content-type": "application/json"},
    ),
    Bad("PUT", PROGRESS, 400, 7204, content=b'{"completionStatus": "\xff"}'),  # not UTF-8
    Bad("PUT", PROGRESS, 400, 7204, content=b'{"completionPercentage": NaN}'),
    Bad("PUT", PROGRESS, 400, 7204, content=b'{"completionPercentage": 1e400}'),
    Bad(
        "PUT",
        PROGRESS,
        415,
        7057,
        content=b'{"completionPercentage": 10}',
        headers={"content-type": "text/plain"},
    ),
    Bad(
        "PUT",
        PROGRESS,
        415,
        7057,
        content=b"<progress/>",
        headers={"content-type": "application/xml"},
    ),
    Bad(  # curl -d without a Content-Type: a form with no progressData field
        "PUT",
        PROGRESS,
        400,
        7019,
        content=b'{"completionPercentage": 10}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    Bad(  # the payload twice: which one would count?
        "PUT",
        PROGRESS + '?progressData={{"completionPercentage":10}}',
        400,
        7204,
        json={"completionPercentage": 20},
        field="progressData",
    ),
    Bad("PUT", PROGRESS + "?progressData=%7Bnot", 400, 7204, field="progressData"),
    Bad("PUT", PROGRESS + "?progressData=%FF%FE", 400, 7204, field="progressData"),
    Bad("GET", "/learning-plans?startIndex=%zz", 400, 7204, field="startIndex"),
    Bad("GET", "/learning-plans?startIndex=%FF", 400, 7204, field="startIndex"),
    Bad("GET", "/learners?status=%FF%FE", 400, 7204, field="status"),
    Bad("GET", "/courses/%zz", 404, 7049),
    Bad("GET", "/courses/%FF", 404, 7049),
    Bad("GET", "/learners/%FF%FE", 404, 7048),
    # NUL: no stored text holds one, and PostgreSQL refuses it (it was a 500 there).
    Bad("GET", "/learners/a%00b@zylker.example", 400, 7204, field="learnerId"),
    Bad("GET", "/learners?search=a%00b", 400, 7204, field="search"),
    Bad("PUT", "/learning-plans/{plan}/learners", 400, 7204, json=["a\u0000@zylker.example"]),
    Bad("POST", "/courses", 400, 7204, json={"courseName": "nul\u0000here"}, field="courseName"),
    Bad("POST", "/courses", 400, 7204, json={"courseName": "c", "courseType": True}),
    Bad("PUT", PROGRESS, 400, 7204, json={"completionPercentage": "ten"}),
    Bad("PUT", PROGRESS, 400, 7204, json=[1, 2, 3]),
    Bad(
        "POST",
        "//oauth/v2/token?client_id=a",
        400,
        7204,
        content=b"client_id=b&client_secret=c&grant_type=refresh_token&refresh_token=d",
        headers={"content-type": "application/x-www-form-urlencoded"},
        field="client_id",
    ),
    Bad(
        "POST",
        "//oauth/v2/token",
        400,
        7204,
        content=b"--x\r\nbroken",
        headers={"content-type": "multipart/form-data"},  # no boundary: unreadable
    ),
]


async def data_version(services: Services) -> int:
    """How many write transactions have committed (each leaves rows in the change log)."""
    return await committed_writes(services)


@pytest.mark.parametrize(
    "cases",
    [pytest.param(OUT_OF_RANGE, id="out-of-range"), pytest.param(MALFORMED, id="malformed")],
)
async def test_every_hostile_input_is_refused_as_documented_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, stage: Stage, cases: list[Bad]
) -> None:
    before = await snapshot(services)
    version = await data_version(services)
    for case in cases:
        url = case.url(stage).replace("{learner}", stage.learner)
        body = case.json
        if isinstance(body, list):
            body = [item.format(**vars(stage)) if isinstance(item, str) else item for item in body]
        response = await client.request(
            case.method,
            url,
            json=body,
            content=case.content,
            headers={**auth(stage.token), **case.headers},
        )
        where = f"{case.method} {url[:120]}"
        assert (response.status_code, response.json().get("code")) == (case.status, case.code), (
            where,
            response.text,
        )
        answer = assert_error(response, case.status, case.code)
        if case.field is not None:
            fields = {error["field"] for error in answer.get("errors", [])}
            assert case.field in fields, (where, answer)
        assert await data_version(services) == version, f"{where} committed a write"
    assert_snapshots_equal(before, await snapshot(services), "hostile inputs")
