"""How a write reaches its handler: payloads in the three Zoho forms, one transaction, and
`Idempotency-Key`.

A write payload may come as a JSON body, or Zoho-style as a JSON document in a query
parameter or a form field (`planData`, `courseData`, `learnerData`, `erecnosList`). It is
validated with a pydantic model; each bad field is named in `errors[]`.

`write_route` runs the handler inside one database transaction: nothing is written when
the handler raises. With an `Idempotency-Key`, the first response is stored in the same
transaction; a retry with the same key and request answers it again and writes nothing,
and the same key with a different request is 422 7054.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lmsplans.server.auth.schemas import Operation
from lmsplans.server.db import Connection, lock_key
from lmsplans.server.errors import (
    IdempotencyKeyReused,
    InvalidParameter,
    MissingParameter,
)
from lmsplans.server.http import Call, api_route
from lmsplans.server.idempotency import service as idempotency
from lmsplans.server.openapi import OperationDoc

T = TypeVar("T")
WriteHandler = Callable[[Call, Connection], Awaitable[Response]]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def raw_payload(request: Request, name: str) -> Any | None:
    """The payload as decoded JSON, from the body, the query parameter `name` or the form
    field `name`; None when there is none."""
    content_type = request.headers.get("content-type", "")
    document: str | bytes | None = request.query_params.get(name)
    if document is None and content_type.startswith(_FORM_TYPES):
        # A form body holds fields, never a JSON document of its own.
        async with request.form() as form:
            field = form.get(name)
        document = field if isinstance(field, str) else None
    elif document is None:
        body = await request.body()
        if body.strip():
            document = body
    if document is None:
        return None
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(name, f"is not valid JSON: {exc}") from None


def validation_errors(exc: PydanticValidationError, name: str) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if loc and isinstance(loc[0], int):  # an item of a list payload: "erecnosList.2"
            loc = (name, *loc)
        field = ".".join(str(part) for part in loc) or name
        errors.append({"field": field, "message": error["msg"]})
    return errors


def validate(shape: Any, document: Any, name: str) -> Any:
    """`document` validated as `shape` (a pydantic model, or e.g. `list[Model]`); 400 7204
    naming each bad field otherwise."""
    try:
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            return shape.model_validate(document)
        return TypeAdapter(shape).validate_python(document)
    except PydanticValidationError as exc:
        error = InvalidParameter(name)
        error.errors = validation_errors(exc, name)
        raise error from None


async def payload(request: Request, name: str, shape: type[T]) -> T:
    """The payload named `name`, validated as `shape`; 400 7019 when there is none."""
    document = await raw_payload(request, name)
    if document is None:
        raise MissingParameter(name)
    result: T = validate(shape, document, name)
    return result


def write_route(
    path: str,
    handler: WriteHandler,
    *,
    method: str,
    operation: Operation,
    name: str | None = None,
    doc: OperationDoc | None = None,
) -> Route:
    """An authenticated, rate-limited, transactional and idempotent `/api/v1` write."""

    async def run(call: Call) -> Response:
        key = call.request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
            raise InvalidParameter(
                "Idempotency-Key", f"must be 1 to {idempotency.MAX_KEY_LENGTH} characters"
            )
        fingerprint = ""
        if key is not None:
            request = call.request
            fingerprint = idempotency.request_hash(
                request.method, request.url.path, request.url.query, await request.body()
            )
        principal, now_ms = call.principal, call.now_ms()
        async with call.db.transaction() as conn:
            if key is not None:
                # Concurrent retries wait for the first to commit, then answer its response.
                await conn.lock(lock_key("idempotency", principal.org_id, principal.user_id, key))
                stored = await idempotency.find(
                    conn,
                    org_id=principal.org_id,
                    user_id=principal.user_id,
                    key=key,
                    now_ms=now_ms,
                )
                if stored is not None:
                    if stored.request_hash != fingerprint:
                        raise IdempotencyKeyReused()
                    return Response(
                        stored.body,
                        status_code=stored.status_code,
                        media_type="application/json",
                        headers={"Idempotent-Replayed": "true"},
                    )
            response = await handler(call, conn)
            if key is not None:
                await idempotency.store(
                    conn,
                    org_id=principal.org_id,
                    user_id=principal.user_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=response.status_code,
                    body=bytes(response.body),
                    now_ms=now_ms,
                )
        return response

    return api_route(
        path,
        run,
        method=method,
        operation=operation,
        name=name or handler.__name__,
        doc=None if doc is None else replace(doc, idempotent=True),
    )
