"""Parameter parsing: what a handler reads from the request, checked, as typed values.

Paging (`startIndex`, `limit`), ids in the path, required parameters, the
`Idempotency-Key` header and write payloads. A payload may come as a JSON body, or
Zoho-style as a JSON document in a query parameter or a form field (`planData`,
`courseData`, `learnerData`, `erecnosList`); it is validated with a pydantic model and
each bad field is named in `errors[]`. Every bad value is a 400 (or 422) in the envelope.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sized
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from starlette.requests import Request

from lmsplans.server.db import Page
from lmsplans.server.errors import (
    InvalidParameter,
    LimitExceeded,
    MissingParameter,
    NoSuchRecord,
    UnsupportedMediaType,
)
from lmsplans.server.idempotency.service import MAX_KEY_LENGTH
from lmsplans.server.wire import MAX_INT64, is_decimal_id, out_of_range

T = TypeVar("T")

MAX_LIMIT = 100
DEFAULT_LIMIT = 25


def _non_negative_int(request: Request, *names: str) -> int | None:
    """The first of the query parameters `names` that is present, as an integer from 0 to
    `MAX_INT64`; each one present must be such an integer (400 7204 otherwise, naming it)."""
    found: int | None = None
    for name in names:
        raw = request.query_params.get(name)
        if raw is None:
            continue
        value = raw.strip()
        if not is_decimal_id(value):
            raise InvalidParameter(name, "must be a non-negative integer")
        if out_of_range(value):
            raise InvalidParameter(name, f"must be at most {MAX_INT64}")
        if found is None:
            found = int(value)
    return found


def page_of(request: Request, *, first_index: int) -> Page:
    """`startIndex` and `limit` as spec section 3 says.

    `first_index` is 0 where Zoho's documentation defaults `startIndex` to 0, and 1 where it
    defaults it to 1 (there 0 is accepted as the first record too).
    """
    if not request.scope["query_string"]:
        return Page(offset=0, limit=DEFAULT_LIMIT)
    start = _non_negative_int(request, "startIndex")
    limit = _non_negative_int(request, "limit", "Limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    elif limit > MAX_LIMIT:
        raise LimitExceeded(
            f"Maximum limit exceeded: limit may be at most {MAX_LIMIT}",
            errors=[{"field": "limit", "message": f"must be at most {MAX_LIMIT}"}],
        )
    elif limit == 0:
        raise InvalidParameter("limit", "must be at least 1")
    # `start` is at most MAX_INT64, so the offset fits storage's integers.
    offset = 0 if start is None else max(0, start - first_index)
    return Page(offset=offset, limit=limit)


_NUL = "\x00"


def check_text(name: str, value: str) -> None:
    """No NUL character: no stored text holds one, and PostgreSQL refuses it (400 7204)."""
    if _NUL in value:
        raise InvalidParameter(name, "may not contain NUL characters")


def check_path_and_query(request: Request) -> None:
    """Before anything is looked up: a decimal id in the path beyond what storage holds is
    400 7204 (what is not an id names no record: the handler answers 404), and no path or
    query parameter holds a NUL character (400 7204)."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(name, value)
            if out_of_range(value):
                raise InvalidParameter(name, f"must be at most {MAX_INT64}")
    query: bytes = request.scope["query_string"]
    if b"%00" in query or b"\x00" in query:  # looked at closely only when it has one
        for name, value in urllib.parse.parse_qsl(query.decode("latin-1")):
            check_text(name, name)
            check_text(name, value)


def _check_document_text(document: Any, where: str) -> None:
    """No string of a decoded payload (keys included) holds a NUL character."""
    if isinstance(document, str):
        check_text(where, document)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            _check_document_text(item, f"{where}.{index}")
    elif isinstance(document, dict):
        for key, value in document.items():
            check_text(where, key)
            _check_document_text(value, key if "." not in where else f"{where}.{key}")


def record_id(raw: str, what: str) -> int:
    """A decimal id from the path (400 7204 beyond `MAX_INT64`); anything else names no
    record (404 7049)."""
    if not is_decimal_id(raw):
        raise NoSuchRecord(f"No record for the given id: no such {what}")
    if out_of_range(raw):
        raise InvalidParameter(what, f"must be at most {MAX_INT64}")
    return int(raw)


def required(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise MissingParameter(name)
    return value


def idempotency_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, 1 to 255 characters (400 7204 otherwise), or None."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidParameter("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters")
    if key is not None:
        check_text("Idempotency-Key", key)
    return key


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def media_type(request: Request) -> str:
    """The request's media type (`Content-Type` without its parameters), in lower case."""
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _json_media(media: str) -> bool:
    # No Content-Type at all is taken as JSON, as it always was (curl -d sends a form type).
    return media in ("", "application/json") or media.endswith("+json")


async def raw_payload(request: Request, name: str) -> Any | None:
    """The payload as decoded JSON, from the body, the query parameter `name` or the form
    field `name`; None when there is none.

    One place only: a payload in the query string beside a body is 400 7204. A body that
    is neither JSON (or without a Content-Type) nor a form is 415 7057; a body that is not
    JSON (or not UTF-8) 400 7204.
    """
    document: str | bytes | None = request.query_params.get(name)
    body = await request.body()
    if document is not None and body.strip():
        raise InvalidParameter(
            name, "is in the query string and a body was sent too: send the payload once"
        )
    media = media_type(request)
    if document is None and body.strip():
        if media in _FORM_TYPES:
            # A form body holds fields, never a JSON document of its own.
            async with request.form() as form:
                field = form.get(name)
            document = field if isinstance(field, str) else None
        elif _json_media(media):
            document = body
        else:
            raise UnsupportedMediaType(
                f"Unsupported media type {media!r}: send the payload as application/json "
                f"or in the form field {name!r}"
            )
    if document is None:
        return None
    try:
        decoded = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(name, f"is not valid JSON: {exc}") from None
    _check_document_text(decoded, name)
    return decoded


def validation_errors(exc: PydanticValidationError, name: str) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if loc and isinstance(loc[0], int):  # an item of a list payload: "erecnosList.2"
            loc = (name, *loc)
        field = ".".join(str(part) for part in loc) or name
        # pydantic prefixes our own validators' messages; the field already says what it is.
        errors.append({"field": field, "message": error["msg"].removeprefix("Value error, ")})
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


async def required_payload(request: Request, name: str) -> Any:
    """The payload named `name`, decoded (`raw_payload`); 400 7019 when there is none."""
    document = await raw_payload(request, name)
    if document is None:
        raise MissingParameter(name)
    return document


async def payload(request: Request, name: str, shape: type[T]) -> T:
    """The payload named `name`, validated as `shape`; 400 7019 when there is none."""
    result: T = validate(shape, await required_payload(request, name), name)
    return result


def check_learner_batch(learners: Sized, name: str, *, most: int) -> None:
    """A payload's batch of learners: 1 to `most` of them (422 7021 above, 400 7204 for
    none)."""
    if len(learners) > most:
        raise LimitExceeded(
            f"Maximum limit exceeded: at most {most} learners at once",
            errors=[{"field": name, "message": f"has {len(learners)} learners"}],
        )
    if not learners:
        raise InvalidParameter(name, "holds no learner")
