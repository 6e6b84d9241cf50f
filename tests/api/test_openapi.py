"""The OpenAPI description matches what the server does.

(a) every route is documented and every documented operation is served; (b) the document is
valid OpenAPI 3.1; (c) the real answers of every read operation, success and errors, validate
against the documented response for their status, headers included; (d) the documented query
parameters are exactly the ones each handler reads, with the documented types and bounds;
(e) the real answers of every write, successes and errors, validate the same way, and the
payloads they accept validate against the documented request body.

The tests walk the document itself, so an operation added with `doc=` is covered at once.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.routing import Route

from lmsplans.demo import DemoTokens
from lmsplans.server.auth.service import create_client
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.conftest import auth

UNKNOWN_ID = "999999999999"
Doc = dict[str, Any]


async def openapi(client: httpx.AsyncClient) -> Doc:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: Doc = response.json()
    return document


def operations(document: Doc, method: str | None = None) -> Iterator[tuple[str, str, Doc]]:
    for path, item in document["paths"].items():
        for verb, operation in item.items():
            if method is None or verb == method:
                yield path, verb, operation


def is_api(operation: Doc) -> bool:
    return bool(operation.get("security"))


def resolve(document: Doc, node: Doc) -> Doc:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check(document: Doc, path: str, operation: Doc, response: httpx.Response) -> None:
    """The answer's status is documented, and its body and headers are as documented."""
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"undocumented status: {where}: {response.text}"
    for name, header in documented.get("headers", {}).items():
        if resolve(document, header).get("required"):
            assert name in response.headers, f"{where}: missing header {name}"
    media = response.headers["content-type"].split(";")[0]
    assert media in documented["content"], f"{where}: undocumented media type {media}"
    if media == "application/json":
        schema = {**documented["content"][media]["schema"], "components": document["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(response.json()))
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )


@pytest.fixture
def settings(database_url: str) -> Settings:
    """These tests call each API more often than the threshold allows in a minute."""
    return Settings(database_url=database_url, rate_limit_threshold=10_000)


@pytest.fixture
async def document(client: httpx.AsyncClient) -> Doc:
    return await openapi(client)


@pytest.fixture
async def ids(client: httpx.AsyncClient, demo: DemoTokens) -> dict[str, str]:
    """A value for each path parameter, naming a record the demo admin may read."""
    learner = str(demo.people.learner_id)
    headers = auth(demo.admin_token)
    plans = await client.get(f"/api/v1/learners/{learner}/learning-plans/progress", headers=headers)
    courses = await client.get(f"/api/v1/learners/{learner}/course-progress", headers=headers)
    # A blended course: its one batch is the course itself (`/batches/{batchId}` paths).
    blended = [c for c in courses.json()["courseProgress"] if c["courseType"] == "2"]
    # A webhook at a public address (an address literal: nothing is resolved or sent).
    webhook = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hook", "eventTypes": ["*"]},
        headers=headers,
    )
    assert webhook.status_code == 200, webhook.text
    return {
        "webhookId": webhook.json()["webhook"]["webhookId"],
        "learnerId": learner,
        "planId": plans.json()["learningPlans"][0]["planId"],
        "courseId": blended[0]["courseId"],
        "batchId": blended[0]["courseId"],
    }


def fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match[1] in values, f"no test value for path parameter {match[1]} of {path}"
        return values[match[1]]

    return re.sub(r"{(\w+)}", value, path)


# --- (a) and (b) ----------------------------------------------------------------------------


async def test_every_route_is_documented_and_every_operation_is_served(
    app: Starlette, client: httpx.AsyncClient, document: Doc
) -> None:
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.include_in_schema
        for method in (route.methods or set()) - {"HEAD"}
    }
    documented = {(path, verb) for path, verb, _ in operations(document)}
    undocumented, unserved = sorted(served - documented), sorted(documented - served)
    assert not undocumented, f"routes without doc=OperationDoc(...): {undocumented}"
    assert not unserved, f"documented operations the app does not serve: {unserved}"
    for path, verb, _ in operations(document):
        response = await client.request(verb, re.sub(r"{\w+}", "1", path))
        body = response.json() if "json" in response.headers["content-type"] else {}
        assert body.get("code") not in (7050, 7051), f"{verb} {path}: {response.text}"


async def test_the_document_is_valid_openapi_3_1(document: Doc) -> None:
    validate_spec(document)
    assert document["openapi"].startswith("3.1")
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    for path, verb, operation in operations(document):
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{verb} {path}"
        codes = operation["responses"]
        expected = {"401", "403", "429", "500"} if is_api(operation) else {"500"}
        assert expected <= set(codes), f"{verb} {path} lacks auth/limit/500 answers"


async def test_docs_page_loads_the_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '"/openapi.json"' in response.text


async def test_the_document_is_built_once_and_served_as_is(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    first = await client.get("/openapi.json")
    second = await client.get("/openapi.json")
    assert first.content == second.content == app.state.openapi_json


# --- (c) every read answers as documented -----------------------------------------------------


async def test_every_read_answers_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens, document: Doc, ids: dict[str, str]
) -> None:
    headers = auth(demo.admin_token)
    reads = list(operations(document, "get"))
    assert len(reads) >= 11
    for path, _, operation in reads:
        url = fill(path, ids)
        ok = await client.get(url, headers=headers)
        assert ok.status_code == 200, f"{url}: {ok.text}"
        check(document, path, operation, ok)
        if not is_api(operation):
            continue
        check(document, path, operation, await client.get(url))  # no token: 401
        check(document, path, operation, await client.get(url, headers=auth("1000.bad.token")))
        for name in re.findall(r"{(\w+)}", path):  # unknown records: 404
            unknown = await client.get(fill(path, {**ids, name: UNKNOWN_ID}), headers=headers)
            assert unknown.status_code == 404, unknown.text
            check(document, path, operation, unknown)
        query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        if "limit" in query:
            too_many = await client.get(url, params={"limit": "101"}, headers=headers)
            assert too_many.status_code == 422
            check(document, path, operation, too_many)


async def test_roles_and_scopes_answer_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens, document: Doc, ids: dict[str, str]
) -> None:
    """A READ-only manager token on every read, and a learner reading another (9000)."""
    other = str(demo.people.manager_id)
    for path, _, operation in operations(document, "get"):
        if not is_api(operation):
            continue
        check(
            document,
            path,
            operation,
            await client.get(fill(path, ids), headers=auth(demo.manager_token)),
        )
        if "{learnerId}" in path:
            url = fill(path, {**ids, "learnerId": other})
            denied = await client.get(url, headers=auth(demo.learner_token))
            assert denied.status_code == 403
            check(document, path, operation, denied)


async def test_readiness_failure_answers_as_documented(
    client: httpx.AsyncClient, services: Services, document: Doc
) -> None:
    operation = document["paths"]["/readyz"]["get"]
    await services.db.close()
    response = await client.get("/readyz")
    assert response.status_code == 503
    check(document, "/readyz", operation, response)


async def test_oauth_answers_as_documented(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, document: Doc
) -> None:
    token_op = document["paths"]["/oauth/v2/token"]["post"]
    revoke_op = document["paths"]["/oauth/v2/token/revoke"]["post"]
    async with services.db.transaction() as conn:
        new = await create_client(
            conn,
            org_id=demo.people.org_id,
            user_id=demo.people.admin_id,
            scopes="ZOHOPEOPLE.training.READ",
            name="openapi test",
            now_ms=services.clock.now_ms(),
            ttl_seconds=3600,
        )
    grant = {
        "grant_type": "refresh_token",
        "client_id": new.client_id,
        "client_secret": new.client_secret,
        "refresh_token": new.refresh_token,
    }
    as_query = await client.post("/oauth/v2/token", params=grant)
    assert as_query.status_code == 200
    check(document, "/oauth/v2/token", token_op, as_query)
    as_form = await client.post("/oauth/v2/token", data=grant)
    assert as_form.status_code == 200
    check(document, "/oauth/v2/token", token_op, as_form)
    for bad in (
        {k: v for k, v in grant.items() if k != "grant_type"},  # 400 7019
        {**grant, "grant_type": "password"},  # 400 7204
        {**grant, "client_secret": "wrong"},  # 401 7201, "error": "invalid_client"
        {**grant, "grant_type": "client_credentials", "scope": "ZOHOPEOPLE.training.ALL"},  # 403
    ):
        response = await client.post("/oauth/v2/token", data=bad)
        assert response.status_code in (400, 401, 403)
        check(document, "/oauth/v2/token", token_op, response)
    revoked = await client.post("/oauth/v2/token/revoke", data={"token": new.refresh_token})
    assert revoked.status_code == 200
    check(document, "/oauth/v2/token/revoke", revoke_op, revoked)
    missing = await client.post("/oauth/v2/token/revoke")
    assert missing.status_code == 400
    check(document, "/oauth/v2/token/revoke", revoke_op, missing)


# --- (d) the documented query parameters are the ones the handlers read ----------------------


@pytest.fixture
def reads_of_query(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the handlers look up in the query string (Starlette's mapping, observed)."""
    names: list[str] = []
    getitem, contains = QueryParams.__getitem__, QueryParams.__contains__

    def spy_getitem(self: QueryParams, key: str) -> str:
        names.append(key)
        return getitem(self, key)

    def spy_contains(self: QueryParams, key: Any) -> bool:
        names.append(key)
        return contains(self, key)

    def spy_all(self: QueryParams) -> Any:
        names.append("<every parameter>")
        raise AssertionError("a handler read the whole query string; test it another way")

    monkeypatch.setattr(QueryParams, "__getitem__", spy_getitem)
    monkeypatch.setattr(QueryParams, "__contains__", spy_contains)
    for method in ("__iter__", "keys", "items", "values", "multi_items"):
        monkeypatch.setattr(QueryParams, method, spy_all)
    return names


async def test_documented_query_parameters_are_the_ones_read(
    client: httpx.AsyncClient,
    demo: DemoTokens,
    document: Doc,
    ids: dict[str, str],
    reads_of_query: list[str],
) -> None:
    headers = auth(demo.admin_token)
    for path, _, operation in operations(document, "get"):
        if not is_api(operation):
            continue
        reads_of_query.clear()
        # A query string of some other name: with none at all, handlers need read nothing.
        response = await client.get(fill(path, ids) + "?unrelated=1", headers=headers)
        assert response.status_code == 200, f"{path}: read {reads_of_query}: {response.text}"
        documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert set(reads_of_query) == documented, path


async def test_query_parameters_have_the_documented_types_and_bounds(
    client: httpx.AsyncClient, demo: DemoTokens, document: Doc, ids: dict[str, str]
) -> None:
    headers = auth(demo.admin_token)
    for path, _, operation in operations(document, "get"):
        url = fill(path, ids)
        for param in operation["parameters"]:
            if param["in"] != "query":
                continue
            schema, name = resolve(document, param["schema"]), param["name"]
            good: list[Any] = []
            bad: list[Any] = []
            if schema.get("type") == "integer":
                low, high = schema.get("minimum"), schema.get("maximum")
                bad += ["abc", "1.5", ""]
                good += [v for v in (low, high, schema.get("default")) if v is not None]
                bad += [low - 1] if low is not None else []
                bad += [high + 1] if high is not None else []
            if "enum" in schema:
                good += schema["enum"]
                bad.append("noSuchValue")
            elif schema.get("type") == "string" and not {"pattern", "format"} & set(schema):
                good += ["any text", ""]  # free text: anything goes
            elif schema.get("type") == "string" and "pattern" in schema:
                assert not re.search(schema["pattern"], "!"), f"{path} {name}: pick another"
                bad.append("!")  # a value its pattern refuses is refused
            assert good or bad, f"{path} {name}: no typed schema to test"
            for value in good:
                answer = await client.get(url, params={name: value}, headers=headers)
                assert answer.status_code == 200, f"{path}?{name}={value}: {answer.text}"
            for value in bad:
                answer = await client.get(url, params={name: value}, headers=headers)
                assert 400 <= answer.status_code < 500, f"{path}?{name}={value} was accepted"
                check(document, path, operation, answer)


# --- (e) every write answers as documented ---------------------------------------------------


def payload_of(operation: Doc, sent: dict[str, Any]) -> Any:
    """The payload a request carried (JSON body, query parameter or form field), decoded;
    None when it carried none."""
    if "json" in sent:
        return sent["json"]
    names = [p["name"] for p in operation["parameters"] if "content" in p]
    for where in ("params", "data"):
        for name in names:
            if name in sent.get(where, {}):
                return json.loads(sent[where][name])
    return None


class Exchanges:
    """Requests through the app, each answer checked against the document; it remembers
    which statuses each operation was seen answering."""

    def __init__(self, client: httpx.AsyncClient, document: Doc) -> None:
        self.client = client
        self.document = document
        self.seen: dict[tuple[str, str], set[int]] = defaultdict(set)

    async def __call__(
        self,
        method: str,
        template: str,
        values: dict[str, str] | None = None,
        *,
        token: str | None,
        expect: int,
        code: int | None = None,
        headers: dict[str, str] | None = None,
        **sent: Any,
    ) -> httpx.Response:
        operation = self.document["paths"][template][method.lower()]
        url = fill(template, values or {})
        all_headers = {**(auth(token) if token else {}), **(headers or {})}
        response = await self.client.request(method, url, headers=all_headers, **sent)
        where = f"{method} {url}"
        assert response.status_code == expect, f"{where}: {response.text}"
        if code is not None:
            assert response.json()["code"] == code, f"{where}: {response.text}"
        check(self.document, template, operation, response)
        if expect == 200 and (payload := payload_of(operation, sent)) is not None:
            # What the server accepted, the documented request body accepts too.
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            schema = {**body, "components": self.document["components"]}
            errors = list(Draft202012Validator(schema).iter_errors(payload))
            assert not errors, f"{where}: accepted, but not as documented: {errors[0].message}"
        self.seen[(template, method.lower())].add(response.status_code)
        return response


def form(name: str, value: Any) -> dict[str, str]:
    return {name: json.dumps(value)}


def multipart(name: str, value: Any) -> dict[str, Any]:
    """A multipart/form-data request with the one field (httpx makes one only with files)."""
    boundary = "openapi-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        f"{json.dumps(value)}\r\n--{boundary}--\r\n"
    )
    content_type = f"multipart/form-data; boundary={boundary}"
    return {"content": body.encode(), "headers": {"Content-Type": content_type}}


async def test_every_write_answers_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens, document: Doc, ids: dict[str, str], clock: Any
) -> None:
    """A success and the representative errors of each write, in the three payload forms,
    with `Idempotency-Key`; then every write without a token."""
    x = Exchanges(client, document)
    admin, learner, manager = demo.admin_token, demo.learner_token, demo.manager_token
    me, boss = str(demo.people.learner_id), str(demo.people.manager_id)
    admin_id = str(demo.people.admin_id)

    # Learners.
    many, one = "/api/v1/learners", "/api/v1/learners/{learnerId}"

    def person(n: int, **extra: Any) -> dict[str, Any]:
        return {
            "emailId": f"openapi.{n}@zylker.example",
            "displayName": f"OpenAPI Person {n}",
            "employeeId": f"OA{n:04d}",
            **extra,
        }

    created = await x("POST", many, token=admin, json=person(1), expect=200)
    ada = created.json()["learners"][0]["userId"]
    batch = [person(2, managerId=person(1)["emailId"]), person(3, role="manager", zuid=70000003)]
    listed = await x("POST", many, token=admin, params=form("learnerData", batch), expect=200)
    assert [r["emailId"] for r in listed.json()["learners"]] == [p["emailId"] for p in batch]
    await x("POST", many, token=admin, data=form("learnerData", person(4)), expect=200)
    await x("POST", many, token=admin, expect=400, code=7019)
    await x(
        "POST", many, token=admin, json=person(5, emailId="not an email"), expect=400, code=7204
    )
    await x("POST", many, token=admin, content=b"{not json", expect=400, code=7204)
    await x("POST", many, token=admin, json=[person(5), person(6, role="boss")], expect=400)
    await x("POST", many, token=admin, json=person(5, emailId=person(1)["emailId"]), expect=409)
    unknown_manager = person(5, managerId="nobody@zylker.example")
    await x("POST", many, token=admin, json=unknown_manager, expect=404, code=7048)
    too_many = [person(100 + n) for n in range(201)]
    await x("POST", many, token=admin, json=too_many, expect=422, code=7021)
    await x("POST", many, token=learner, json=person(5), expect=403, code=9000)
    await x("POST", many, token=manager, json=person(5), expect=403, code=7218)
    huge = b"[" + b" " * (1024 * 1024) + b"]"
    await x("POST", many, token=admin, content=huge, expect=413, code=7053)

    # The upsert: created, then unchanged; every problem of a batch refused at once.
    upserts = [person(9, managerEmployeeId="OA0010"), person(10)]
    saved = await x("PUT", many, token=admin, json=upserts, expect=200)
    assert len(saved.json()["created"]) == 2
    await x("PUT", many, token=admin, params=form("learnerData", upserts), expect=200)
    await x("PUT", many, token=admin, json=[person(11, emailId="x")], expect=400, code=7204)
    ghost = [person(11, managerEmployeeId="NOBODY")]
    await x("PUT", many, token=admin, json=ghost, expect=404, code=7048)
    await x("PUT", many, token=admin, json=[person(11), person(11)], expect=409, code=7052)
    await x("PUT", many, token=admin, json=too_many, expect=422, code=7021)
    await x("PUT", many, token=learner, json=[person(11)], expect=403, code=9000)

    key = {"Idempotency-Key": "openapi-write-1"}
    first = await x("POST", many, token=admin, json=person(7), headers=key, expect=200)
    again = await x("POST", many, token=admin, json=person(7), headers=key, expect=200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    await x("POST", many, token=admin, json=person(8), headers=key, expect=422, code=7054)
    long_key = {"Idempotency-Key": "k" * 256}
    await x("POST", many, token=admin, json=person(8), headers=long_key, expect=400, code=7204)

    await x("PATCH", one, {"learnerId": ada}, token=admin, json={"managerId": admin_id}, expect=200)
    await x("PATCH", one, {"learnerId": ada}, token=admin, json={"role": "boss"}, expect=400)
    patch = {"displayName": "Nobody"}
    await x("PATCH", one, {"learnerId": UNKNOWN_ID}, token=admin, json=patch, expect=404, code=7048)
    self_off = {"status": "inactive"}
    await x("PATCH", one, {"learnerId": admin_id}, token=admin, json=self_off, expect=409)
    await x("PATCH", one, {"learnerId": ada}, token=learner, json=patch, expect=403, code=9000)
    gone = await x("DELETE", one, {"learnerId": ada}, token=admin, expect=200)
    assert gone.json()["learner"]["isActive"] is False
    await x("DELETE", one, {"learnerId": admin_id}, token=admin, expect=409, code=7052)
    await x("DELETE", one, {"learnerId": UNKNOWN_ID}, token=admin, expect=404, code=7048)
    await x("DELETE", one, {"learnerId": ada}, token=learner, expect=403, code=9000)

    # Courses.
    courses, course = "/api/v1/courses", "/api/v1/courses/{courseId}"
    new_course = {"courseName": "OpenAPI basics", "courseType": 1, "duration": 45}
    c1 = (await x("POST", courses, token=admin, json=new_course, expect=200)).json()["course"]
    spare = form("courseData", {"courseName": "Spare"})
    c2 = (await x("POST", courses, token=admin, params=spare, expect=200)).json()["course"]
    await x("POST", courses, token=admin, json={"courseName": ""}, expect=400, code=7204)
    await x("POST", courses, token=admin, json={"courseType": 4}, expect=400, code=7204)
    await x("POST", courses, token=learner, json=new_course, expect=403, code=9000)
    as_multipart = multipart("courseData", {"duration": None})
    c2_id = {"courseId": c2["courseId"]}
    await x("PATCH", course, c2_id, token=admin, **as_multipart, expect=200)
    await x("PATCH", course, c2_id, token=admin, json={"courseName": None}, expect=400)
    rename = {"courseName": "Renamed"}
    await x("PATCH", course, {"courseId": UNKNOWN_ID}, token=admin, json=rename, expect=404)
    demo_plan = await client.get(fill("/api/v1/learning-plans/{planId}", ids), headers=auth(admin))
    in_use = demo_plan.json()["learningPlan"]["courses"][0]["courseId"]
    await x("DELETE", course, {"courseId": in_use}, token=admin, expect=409, code=7052)
    await x("DELETE", course, c2_id, token=admin, expect=200)
    await x("DELETE", course, c2_id, token=admin, expect=404, code=7049)
    await x("DELETE", course, {"courseId": in_use}, token=learner, expect=403, code=9000)

    # Learning plans.
    plans, plan = "/api/v1/learning-plans", "/api/v1/learning-plans/{planId}"
    new_plan = {"planName": "OpenAPI plan", "duration": 7, "planAdmins": ["admin@zylker.example"]}
    made = await x("POST", plans, token=admin, json=new_plan, expect=200)
    p = {"planId": made.json()["learningPlan"]["planInfo"]["planId"]}
    bad_plan = form("planData", {"planName": "Bad", "durationType": 9})
    await x("POST", plans, token=admin, params=bad_plan, expect=400, code=7204)
    nobody_admin = {"planName": "X", "planAdmins": ["nobody@zylker.example"]}
    await x("POST", plans, token=admin, json=nobody_admin, expect=404, code=7048)
    await x("POST", plans, token=learner, json=new_plan, expect=403, code=9000)
    describe = {"description": "Documented."}
    await x("PATCH", plan, p, token=admin, data=form("planData", describe), expect=200)
    await x("PATCH", plan, p, token=admin, json={"planName": None}, expect=400, code=7204)
    await x("PATCH", plan, {"planId": UNKNOWN_ID}, token=admin, json=describe, expect=404)
    await x("PATCH", plan, p, token=learner, json=describe, expect=403, code=9000)

    publish, disable = f"{plan}/publish", f"{plan}/disable"
    plan_courses, roster = f"{plan}/courses", f"{plan}/learners"
    await x("POST", publish, p, token=admin, expect=409, code=7052)  # no mandatory course
    await x("PUT", roster, p, token=admin, json=[me], expect=409, code=7052)  # a draft
    mandatory = [{"courseId": int(c1["courseId"]), "isMandatory": True}]
    await x("PUT", plan_courses, p, token=admin, json=mandatory, expect=200)
    twice = {"courses": mandatory * 2}
    await x("PUT", plan_courses, p, token=admin, json=twice, expect=400, code=7204)
    unknown_course = {"courses": [{"courseId": int(UNKNOWN_ID)}]}
    await x("PUT", plan_courses, p, token=admin, json=unknown_course, expect=404, code=7049)
    await x("PUT", plan_courses, p, token=admin, expect=400, code=7019)
    await x("POST", publish, p, token=learner, expect=403, code=9000)
    await x("POST", publish, p, token=admin, expect=200)
    await x("PUT", plan_courses, p, token=admin, json=[], expect=409, code=7052)
    await x("POST", publish, {"planId": UNKNOWN_ID}, token=admin, expect=404, code=7049)

    everyone = form("erecnosList", [int(me), "manager@zylker.example"])
    enrolled = await x("PUT", roster, p, token=admin, params=everyone, expect=200)
    assert enrolled.json()["enrolled"] == [me, boss]
    repeat = await x("PUT", roster, p, token=admin, json=[me], expect=200)
    assert repeat.json()["alreadyEnrolled"] == [me]
    await x("PUT", roster, p, token=admin, json=["nobody@zylker.example"], expect=404, code=7048)
    await x("PUT", roster, p, token=admin, json=[me] * 201, expect=422, code=7021)
    await x("PUT", roster, p, token=admin, json=[], expect=400, code=7204)
    await x("PUT", roster, p, token=admin, json={"me": me}, expect=400, code=7204)
    await x("PUT", roster, p, token=admin, expect=400, code=7019)
    await x("PUT", roster, p, token=learner, json=[me], expect=403, code=9000)

    join = "/api/v1/learners/{learnerId}/learning-plans/{planId}/join"
    await x("POST", join, {"learnerId": me, **p}, token=learner, expect=200)
    await x("POST", join, {"learnerId": boss, **p}, token=learner, expect=403, code=9000)
    await x("POST", join, {"learnerId": me, "planId": UNKNOWN_ID}, token=learner, expect=404)
    await x("POST", join, {"learnerId": UNKNOWN_ID, **p}, token=admin, expect=404, code=7048)

    # Recording progress, and its history.
    record = "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress"
    mine = {"courseId": c1["courseId"], "learnerId": me}
    progress_key = {"Idempotency-Key": "openapi-progress-1"}
    half = {"completionPercentage": 50}
    await x("PUT", record, mine, token=learner, json=half, headers=progress_key, expect=200)
    done = form("progressData", {"completionStatus": "completed"})
    await x("PUT", record, mine, token=learner, data=done, expect=200)
    await x("PUT", record, mine, token=learner, json={"completionPercentage": 40}, expect=409)
    reset = form("progressData", {"reset": True})
    await x("PUT", record, mine, token=learner, params=reset, expect=200)
    contradiction = {"completionPercentage": 100, "completionStatus": "notStarted"}
    await x("PUT", record, mine, token=learner, json=contradiction, expect=400, code=7204)
    future = {"completionPercentage": 10, "completionTime": clock.now_ms() + 86_400_000}
    await x("PUT", record, mine, token=learner, json=future, expect=400, code=7204)
    await x("PUT", record, mine, token=learner, expect=400, code=7019)
    theirs = {**mine, "learnerId": boss}
    await x("PUT", record, theirs, token=learner, json=half, expect=403, code=9000)
    await x("PUT", record, mine, token=manager, json=half, expect=403, code=7218)
    not_in = {**mine, "learnerId": admin_id}
    await x("PUT", record, not_in, token=admin, json=half, expect=404, code=7049)
    nobody = {**mine, "learnerId": UNKNOWN_ID}
    await x("PUT", record, nobody, token=admin, json=half, expect=404, code=7048)

    history = "/api/v1/learners/{learnerId}/learning-plans/{planId}/history"
    events = await x("GET", history, {"learnerId": me, **p}, token=learner, expect=200)
    kinds = [e["kind"] for e in events.json()["events"]]
    assert kinds[:2] == ["enrolled", "course_enrolled"] and "reset" in kinds, kinds
    keys = {e["idempotencyKey"] for e in events.json()["events"]}
    assert progress_key["Idempotency-Key"] in keys

    # Unenrolling, disabling and deleting.
    member = f"{plan}/learners/{{learnerId}}"
    await x("DELETE", member, {**p, "learnerId": "manager@zylker.example"}, token=admin, expect=200)
    await x("DELETE", member, {**p, "learnerId": boss}, token=admin, expect=404, code=7049)
    await x("DELETE", member, {**p, "learnerId": UNKNOWN_ID}, token=admin, expect=404, code=7048)
    await x("DELETE", member, {**p, "learnerId": me}, token=learner, expect=403, code=9000)
    await x("POST", disable, p, token=admin, expect=200)
    await x("POST", disable, {"planId": UNKNOWN_ID}, token=admin, expect=404, code=7049)
    await x("POST", join, {"learnerId": boss, **p}, token=admin, expect=409, code=7052)
    await x("DELETE", plan, p, token=admin, expect=409, code=7052)  # published
    draft = await x("POST", plans, token=admin, json={"planName": "Short-lived"}, expect=200)
    draft_id = {"planId": draft.json()["learningPlan"]["planInfo"]["planId"]}
    await x("DELETE", plan, draft_id, token=learner, expect=403, code=9000)
    deleted = await x("DELETE", plan, draft_id, token=admin, expect=200)
    assert deleted.json()["planId"] == draft_id["planId"]
    await x("DELETE", plan, draft_id, token=admin, expect=404, code=7049)

    # Webhooks (public address literals: nothing is resolved; nothing is delivered here).
    hooks, hook = "/api/v1/webhooks", "/api/v1/webhooks/{webhookId}"
    new_hook = {"url": "https://93.184.215.14/in", "eventTypes": ["plan.*"]}
    made_hook = await x("POST", hooks, token=admin, json=new_hook, expect=200)
    h = {"webhookId": made_hook.json()["webhook"]["webhookId"]}
    assert made_hook.json()["webhook"]["secret"].startswith("whsec_")
    await x("POST", hooks, token=admin, params=form("webhookData", new_hook), expect=200)
    loopback = {**new_hook, "url": "http://127.0.0.1/in"}
    await x("POST", hooks, token=admin, json=loopback, expect=400, code=7204)
    await x("POST", hooks, token=admin, json={**new_hook, "eventTypes": []}, expect=400)
    await x("POST", hooks, token=learner, json=new_hook, expect=403, code=9000)
    await x("PATCH", hook, h, token=admin, json={"enabled": False}, expect=200)
    await x("PATCH", hook, h, token=admin, json={"url": None}, expect=400, code=7204)
    await x("PATCH", hook, {"webhookId": UNKNOWN_ID}, token=admin, json={}, expect=404)
    for action in ("rotate-secret", "test"):
        done_action = await x("POST", f"{hook}/{action}", h, token=admin, expect=200)
        await x("POST", f"{hook}/{action}", {"webhookId": UNKNOWN_ID}, token=admin, expect=404)
    test_events = done_action.json()["eventIds"]
    tested = await client.get(fill(hook + "/deliveries", {**ids, **h}), headers=auth(admin))
    assert tested.status_code == 200
    replay = f"{hook}/replay"
    unsent = {"eventIds": ["never-sent"]}
    await x("POST", replay, h, token=admin, json={"eventIds": test_events}, expect=200)
    await x("POST", replay, h, token=admin, json=unsent, expect=400, code=7204)
    await x("POST", replay, h, token=learner, json=unsent, expect=403, code=9000)
    await x("DELETE", hook, h, token=learner, expect=403, code=9000)
    await x("DELETE", hook, h, token=admin, expect=200)
    await x("DELETE", hook, h, token=admin, expect=404, code=7049)

    # Every write without a token, and every write seen succeeding and refusing.
    values = {"learnerId": me, "courseId": c1["courseId"], **p, **h}
    writes = [(path, verb) for path, verb, op in operations(document) if is_api(op)]
    writes = [(path, verb) for path, verb in writes if verb != "get"]  # OAuth: tested above
    for path, verb in writes:
        await x(verb.upper(), path, values, token=None, expect=401, code=7201)
    for path, verb in writes:
        statuses = x.seen[(path, verb)]
        assert 200 in statuses, f"{verb} {path}: no success checked"
        assert statuses - {200, 401}, f"{verb} {path}: no refusal checked but 401"
    seen = set().union(*x.seen.values())
    assert {400, 401, 403, 404, 409, 413, 422} <= seen


async def test_write_bodies_are_documented_in_the_three_forms(document: Doc) -> None:
    """Each write with a payload documents the JSON body, the form field and the query
    parameter, all with the same schema, and every write `Idempotency-Key`."""
    writes = [(p, v, op) for p, v, op in operations(document) if v != "get" and is_api(op)]
    assert len(writes) >= 16
    for path, verb, operation in writes:
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "Idempotency-Key" in headers, f"{verb} {path}"
        assert 7054 in _codes(operation, "422"), f"{verb} {path}"
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]
        body = content["application/json"]["schema"]
        queries = [p for p in operation["parameters"] if "content" in p]
        assert len(queries) == 1, f"{verb} {path}: the payload's query parameter"
        name = queries[0]["name"]
        assert queries[0]["content"]["application/json"]["schema"] == body
        for media in ("application/x-www-form-urlencoded", "multipart/form-data"):
            assert content[media]["schema"]["properties"][name] == body, f"{verb} {path}"
            assert content[media]["encoding"][name]["contentType"] == "application/json"
        assert _codes(operation, "400") >= {7019, 7204}, f"{verb} {path}"
        assert _codes(operation, "413") == {7053}, f"{verb} {path}"


def _codes(operation: Doc, status: str) -> set[int]:
    response = operation["responses"].get(status)
    if response is None:
        return set()
    return set(response["content"]["application/json"]["schema"]["properties"]["code"]["enum"])


async def test_a_write_without_its_database_answers_as_documented(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, document: Doc
) -> None:
    path = "/api/v1/courses"
    await client.get(path, headers=auth(demo.admin_token))  # the token is known, then cached
    await services.db.close()
    operation = document["paths"][path]["post"]
    response = await client.post(path, json={"courseName": "X"}, headers=auth(demo.admin_token))
    assert response.status_code in (500, 503), response.text
    check(document, path, operation, response)
