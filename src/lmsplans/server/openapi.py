"""The OpenAPI 3.1 description, built from the routes themselves.

Every route carries an `OperationDoc`, made from its declaration (`routing.RouteTable`: the
handler's docstring, what it answers, the errors it raises); the path parameters come from
the route template, the security and the auth error answers
from whether the route is authenticated, and the component schemas from the pydantic models
of the real JSON (`*/schemas.py`). The document is built once, when the app is created, and
served as cached bytes from `/openapi.json`; `/docs` (the interface's `Site`) renders it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import lmsplans
from lmsplans.server.auth.schemas import SCOPE_PREFIX, Operation
from lmsplans.server.errors import (
    ApiError,
    BodyTooLarge,
    ErrorEnvelope,
    ExpiredToken,
    HeaderFieldsTooLarge,
    IdempotencyKeyReused,
    InvalidParameter,
    InvalidScope,
    InvalidToken,
    LimitExceeded,
    NoSuchLearner,
    PermissionDenied,
    RateLimited,
    RequestTimeout,
    ServiceUnavailable,
    UnsupportedMediaType,
    UriTooLong,
)
from lmsplans.server.wire import DECIMAL_ID_PATTERN, LEARNER_REF_SCHEMA, MAX_INT32, MAX_INT64

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "zohoOAuthToken"


@dataclass(frozen=True, slots=True)
class Param:
    """A query (or header) parameter: `schema` is a Python type, as pydantic understands it."""

    name: str
    schema: Any = str
    description: str = ""
    default: Any = None
    required: bool = False
    location: Literal["query", "header"] = "query"


@dataclass(frozen=True, slots=True)
class OperationDoc:
    """What one operation answers. `errors` are the `ApiError` classes its handler raises;
    the auth, rate-limit and 500 answers are added from the route itself."""

    summary: str
    response: type[BaseModel] | None  # the success body; None: not JSON (see `media_type`)
    description: str = ""
    tags: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    errors: tuple[type[ApiError], ...] = ()
    body: type[BaseModel] | None = None
    body_media: tuple[str, ...] = ("application/json",)
    body_required: bool = True
    status: int = 200
    media_type: str = "application/json"
    # Other media types the success answer may take, as text (e.g. an HTML page).
    text_media: tuple[str, ...] = ()
    error_model: type[BaseModel] | None = None  # ErrorEnvelope with this operation's extras
    # The query parameter and form field that may carry `body` as a JSON document instead.
    payload: str | None = None
    # A write (`routing.RouteTable` sets it): `Idempotency-Key` and its answers.
    idempotent: bool = False


class DocumentedRoute(Route):
    """A Route with its documentation; `scope` is None on public routes."""

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        methods: list[str],
        name: str | None,
        doc: OperationDoc | None,
        scope: Operation | None,
    ) -> None:
        super().__init__(path, endpoint, methods=methods, name=name)
        self.doc = doc
        self.scope = scope


PAGING_ERRORS: tuple[type[ApiError], ...] = (InvalidParameter, LimitExceeded)
# A `{learnerId}` the caller may not name (404) or not read (403).
LEARNER_ERRORS: tuple[type[ApiError], ...] = (NoSuchLearner, PermissionDenied)


def paging(first_index: int) -> tuple[Param, ...]:
    """`startIndex` and `limit` (alias `Limit`) as `params.page_of` reads them."""
    start = (
        "A record offset: 0 is the first record."
        if first_index == 0
        else "1 is the first record (0 is accepted as the first record too)."
    )
    limit = "Records a page, 1 to 100; above 100 is 422 7021."
    count = Annotated[int, Field(ge=1, le=100)]
    return (
        Param("startIndex", Annotated[int, Field(ge=0, le=MAX_INT64)], start, default=first_index),
        Param("limit", count, limit, default=25),
        Param("Limit", count, "Zoho's spelling of `limit`; `limit` wins when both are sent."),
    )


IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    Annotated[str, Field(min_length=1, max_length=255)],
    "A retry with the same key and request (method, path, query and body) returns the first "
    "answer again (`Idempotent-Replayed: true`) and writes nothing; the same key with another "
    "request is 422 7054. 1 to 255 characters (400 7204 otherwise); kept at least 24 hours.",
    location="header",
)

_PATH_PARAMS = {
    "learnerId": "The learner's userId (erecno), zuid or email address, in your organisation.",
    "planId": "The learning plan's id.",
    "courseId": "The course's id.",
    "batchId": "A batch of a blended course: the course's own id (its one batch).",
    "webhookId": "The webhook endpoint's id.",
}
# An id in the path: decimal, at most MAX_INT64 (400 7204 beyond; anything else is no record).
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "learnerId": {k: v for k, v in LEARNER_REF_SCHEMA.items() if k != "description"},
    "planId": {"type": "string", "pattern": DECIMAL_ID_PATTERN},
    "courseId": {"type": "string", "pattern": DECIMAL_ID_PATTERN},
    "webhookId": {"type": "string", "pattern": DECIMAL_ID_PATTERN},
}

# Codes whose class carries no fixed message (the message names the parameter).
_CODE_TEXT = {7019: "Missing parameter: <name>", 7204: "Invalid value for parameter <name>"}


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    # Each is referenced only from the responses that always carry it.
    return {"description": description, "schema": schema or {"type": "string"}, "required": True}


_HEADERS = {
    "X-Request-Id": _header("The request id: echoed when the client sent a safe one."),
    "RateLimit-Policy": _header('This API\'s threshold and window, e.g. `"api";q=30;w=60`.'),
    "RateLimit": _header('Calls left and seconds to the reset, e.g. `"api";r=29;t=60`.'),
    "Retry-After": _header(
        "Seconds until the lock ends.", {"type": "integer", "minimum": 0, "maximum": MAX_INT32}
    ),
    # Not always present: referenced from the success answers of writes.
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
        "required": False,
    },
}
_FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")
_HEADER_REF = "#/components/headers/{}"


def _headers(status: int, authenticated: bool) -> dict[str, Any]:
    names = ["X-Request-Id"]
    # A 500 or 503 may come before the limiter answered, a 413 from the middleware, a 408,
    # 414 or 431 from the protocol layer, before the app.
    if authenticated and status not in (408, 413, 414, 431, 500, 503):
        names += ["RateLimit-Policy", "RateLimit"]
    if status == 429:
        names.append("Retry-After")
    return {n: {"$ref": _HEADER_REF.format(n)} for n in names}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _parameter(param: Param) -> dict[str, Any]:
    schema = TypeAdapter(param.schema).json_schema(ref_template=REF)
    schema.pop("title", None)
    if param.default is not None:
        schema["default"] = param.default
    return {
        "name": param.name,
        "in": param.location,
        "required": param.required,
        "description": param.description,
        "schema": schema,
    }


def _error_responses(route: DocumentedRoute, doc: OperationDoc) -> dict[str, Any]:
    errors: list[type[ApiError]] = list(doc.errors)
    if route.scope is not None:
        errors += [InvalidToken, ExpiredToken, InvalidScope, RateLimited, ServiceUnavailable]
        if "{" in route.path:  # an id in the path beyond 64 bits
            errors.append(InvalidParameter)
    if doc.idempotent:  # an `Idempotency-Key` too long or empty, or reused
        errors += [InvalidParameter, IdempotencyKeyReused]
    if doc.body is not None:  # read from the body: it may come too slowly
        errors.append(RequestTimeout)
    if doc.payload is not None:  # a body neither JSON nor a form
        errors.append(UnsupportedMediaType)
    # Any request may carry a body: one over the limit is refused before it is routed; and
    # `serve`'s protocol layer refuses a slow head, a long request line and too many or too
    # large header fields before the app sees them (`lmsplans.server.protocol`).
    errors += [BodyTooLarge, RequestTimeout, UriTooLong, HeaderFieldsTooLarge, ApiError]
    by_status: dict[int, dict[int, str]] = defaultdict(dict)
    for error in errors:
        by_status[error.status][error.code] = _CODE_TEXT.get(error.code, error.default_message)
    envelope = _ref(doc.error_model or ErrorEnvelope)
    responses = {}
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "; ".join(f"{code}: {text}" for code, text in codes.items()),
            "headers": _headers(status, route.scope is not None),
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [envelope],
                        "properties": {
                            "status": {"const": status},
                            "code": {"enum": list(codes)},
                        },
                    }
                }
            },
        }
    return responses


def _operation(route: DocumentedRoute, doc: OperationDoc) -> dict[str, Any]:
    success_content = (
        {doc.media_type: {"schema": _ref(doc.response)}}
        if doc.response is not None
        else {doc.media_type: {"schema": {"type": "string"}}}
    )
    success_content.update({media: {"schema": {"type": "string"}} for media in doc.text_media})
    path_params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": _PATH_PARAMS.get(name, ""),
            "schema": _PATH_SCHEMAS.get(name, {"type": "string"}),
        }
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    params = [_parameter(p) for p in doc.params]
    if doc.body is not None and doc.payload is not None:
        params.append(
            {
                "name": doc.payload,
                "in": "query",
                "required": False,
                "description": "The payload as a JSON document, Zoho's way, instead of the body.",
                "content": {"application/json": {"schema": _ref(doc.body)}},
            }
        )
    if doc.idempotent:
        params.append(_parameter(IDEMPOTENCY_KEY))
    success_headers = _headers(doc.status, route.scope is not None)
    if doc.idempotent:
        success_headers["Idempotent-Replayed"] = {"$ref": _HEADER_REF.format("Idempotent-Replayed")}
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": doc.summary,
        "description": doc.description,
        "tags": list(doc.tags),
        "parameters": path_params + params,
        "responses": {
            str(doc.status): {
                "description": doc.summary,
                "headers": success_headers,
                "content": success_content,
            },
            **_error_responses(route, doc),
        },
    }
    if route.scope is not None:
        scope = f"{SCOPE_PREFIX}{route.scope.value}"
        operation["security"] = [{SECURITY_SCHEME: []}]
        operation["description"] = f"{doc.description}\n\nScope: `{scope}` (or `.ALL`).".lstrip()
    if doc.body is not None:
        content: dict[str, Any] = {media: {"schema": _ref(doc.body)} for media in doc.body_media}
        if doc.payload is not None:  # the same JSON document in a form field
            # Not `required`: an empty form is no body (the query parameter may carry it).
            field = {"type": "object", "properties": {doc.payload: _ref(doc.body)}}
            encoding = {doc.payload: {"contentType": "application/json"}}
            for media in _FORM_MEDIA:
                content[media] = {"schema": field, "encoding": encoding}
            operation["description"] = (
                f"{operation['description']}\n\nThe payload is a JSON body, or the same JSON "
                f"document in the `{doc.payload}` query parameter or form field; without one "
                f"it is 400 7019."
            ).lstrip()
        operation["requestBody"] = {
            # Optional in the body when the query parameter may carry it instead.
            "required": doc.body_required and doc.payload is None,
            "content": content,
        }
    return operation


def build_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented route."""
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    models: dict[type[BaseModel], Literal["validation", "serialization"]] = {
        ErrorEnvelope: "serialization"
    }
    for route in routes:
        if not isinstance(route, DocumentedRoute) or route.doc is None:
            continue
        doc = route.doc
        for model in (doc.response, doc.error_model):
            if model is not None:
                models[model] = "serialization"
        if doc.body is not None:
            models[doc.body] = "validation"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            paths[route.path][method.lower()] = _operation(route, doc)
    _, schemas = models_json_schema(list(models.items()), ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lmsplans",
            "version": lmsplans.__version__,
            "description": (
                "A self-hosted learning-plan service that speaks the Zoho People LMS API. "
                'Ids, counts and times are strings (epoch milliseconds; `"null"` when '
                "absent), as in Zoho's answers. By default each API allows 30 calls a minute "
                "per user; the 31st locks it for 5 minutes (429 7209, `Retry-After`)."
            ),
        },
        "paths": dict(paths),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "headers": _HEADERS,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Zoho-oauthtoken <access token>` (`Bearer <token>` works too).",
                }
            },
        },
    }


_built: dict[tuple[int, ...], tuple[list[BaseRoute], bytes]] = {}


def document_json(routes: Iterable[BaseRoute]) -> bytes:
    """The document as JSON; apps made of the same route objects share one build."""
    listed = list(routes)
    key = tuple(map(id, listed))
    if key not in _built:  # the entry holds the routes, so their ids stay theirs
        _built[key] = (listed, orjson.dumps(build_document(listed)))
    return _built[key][1]


async def openapi_json(request: Request) -> Response:
    return Response(request.app.state.openapi_json, media_type="application/json")


# Public (it needs no services) and not described in the document: a plain Starlette route.
# `/docs`, which reads it, is the interface's (`ui.rendering.Site`).
routes: list[BaseRoute] = [
    Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
]
