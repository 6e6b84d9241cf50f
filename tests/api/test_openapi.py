"""The OpenAPI description matches what the server does.

(a) every route is documented and every documented operation is served; (b) the document is
valid OpenAPI 3.1; (c) the real answers of every read operation, success and errors, validate
against the documented response for their status, headers included; (d) the documented query
parameters are exactly the ones each handler reads, with the documented types and bounds.

The tests walk the document itself, so an operation added with `doc=` is covered at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.routing import Route

from lmsplans.server.auth.service import create_client
from lmsplans.server.demo import DemoTokens
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
def settings(tmp_path: Path) -> Settings:
    """These tests call each API more often than the threshold allows in a minute."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'lmsplans.db'}", rate_limit_threshold=10_000
    )


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
    return {
        "learnerId": learner,
        "planId": plans.json()["learningPlans"][0]["planId"],
        "courseId": courses.json()["courseProgress"][0]["courseId"],
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
        response = await client.get(fill(path, ids), headers=headers)
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
            assert good or bad, f"{path} {name}: no typed schema to test"
            for value in good:
                answer = await client.get(url, params={name: value}, headers=headers)
                assert answer.status_code == 200, f"{path}?{name}={value}: {answer.text}"
            for value in bad:
                answer = await client.get(url, params={name: value}, headers=headers)
                assert 400 <= answer.status_code < 500, f"{path}?{name}={value} was accepted"
                check(document, path, operation, answer)
