"""Domain errors and the one function that turns any exception into an HTTP response.

Services, storage and the limiter raise `ApiError` subclasses (storage and the limiter
report their own outages as `ServiceUnavailable`); `response_for` answers every exception,
from every layer and every route, with the documented envelope:
`{"status": <http status>, "code": <code>, "message": "...", "requestId": "..."}`.
Nothing else in the server builds an error body; the pages of the interface show the same
error (`error_of`), with the same status, as an HTML page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lmsplans.server.wire import ClosedRecord

logger = logging.getLogger("lmsplans.errors")


class ApiError(Exception):
    """An error with a documented status and code (spec section 3). Each kind declares
    them, and the message it says when it is given none, in its class statement:
    `class Conflict(ApiError, status=409, code=7052, message="Conflict"): ...`."""

    status: int = 500
    code: int = 7500
    default_message: str = "Sorry! Server error occured"

    def __init_subclass__(
        cls, *, status: int | None = None, code: int | None = None, message: str | None = None
    ) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code
        if message is not None:
            cls.default_message = message

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message)


def _field_errors(name: str, message: str) -> list[dict[str, str]]:
    return [{"field": name, "message": message}]


class MissingParameter(ApiError, status=400, code=7019):
    def __init__(self, name: str) -> None:
        super().__init__(f"Missing parameter: {name}", errors=_field_errors(name, "is required"))


class InvalidParameter(ApiError, status=400, code=7204, message="Invalid value"):
    def __init__(self, name: str, detail: str = "is not valid") -> None:
        super().__init__(f"Invalid value for parameter {name}", errors=_field_errors(name, detail))


class InvalidToken(ApiError, status=401, code=7201, message="Invalid OAuth token"): ...


class ExpiredToken(ApiError, status=401, code=7202, message="OAuth token expired"): ...


class InvalidScope(ApiError, status=403, code=7218, message="Invalid OAuth scope"): ...


class PermissionDenied(ApiError, status=403, code=9000, message="Permission denied"): ...


class NoSuchLearner(ApiError, status=404, code=7048, message="No such learner"): ...


class NoSuchRecord(ApiError, status=404, code=7049, message="No record for the given id"): ...


class UnknownPath(ApiError, status=404, code=7050, message="Not found"): ...


class MethodNotAllowed(ApiError, status=405, code=7051, message="Method not allowed"): ...


class RequestTimeout(ApiError, status=408, code=7055, message="Request timeout"):
    """The request's body did not arrive in time (`LMSPLANS_BODY_TIMEOUT_SECONDS`); its
    headers' own timeout is answered by the server's protocol layer, with the same code."""


class Conflict(ApiError, status=409, code=7052, message="Conflict"): ...


class BodyTooLarge(ApiError, status=413, code=7053, message="Request body too large"): ...


class UriTooLong(ApiError, status=414, code=7056, message="Request line too long"):
    """The request line is longer than `LMSPLANS_MAX_REQUEST_LINE_BYTES` (answered by the
    server's protocol layer)."""


class UnsupportedMediaType(ApiError, status=415, code=7057, message="Unsupported media type"):
    """A payload in a body that is neither JSON nor a form."""


class HeaderFieldsTooLarge(
    ApiError, status=431, code=7058, message="Request header fields too large"
):
    """More header fields, or more header bytes, than the settings allow (answered by the
    server's protocol layer)."""


class LimitExceeded(ApiError, status=422, code=7021, message="Maximum limit exceeded"): ...


class IdempotencyKeyReused(
    ApiError, status=422, code=7054, message="Idempotency key reused with a different request"
): ...


class RateLimited(
    ApiError,
    status=429,
    code=7209,
    message="API access blocked since threshold limit exceeded. Please try after some time",
): ...


class ServiceUnavailable(ApiError, status=503, code=7503, message="Service unavailable"): ...


class DatabaseUnavailable(
    ServiceUnavailable, message="Service unavailable: the database cannot be reached"
):
    """Raised by storage (`Database.read`, `transaction`, `catch_up`, `open`) when the
    database cannot be reached, whatever the driver said."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused part of a batch: where it is (`path` inside the batch, e.g. `(3,
    "emailId")`), why, and the error it would be on its own (`kind`)."""

    path: tuple[str | int, ...]
    message: str
    kind: type[ApiError] = InvalidParameter


class BatchRefused(ApiError):
    """Every problem of a batch at once (a learner upsert, an import): nothing of it is
    written. The status and code are the first problem's; `errors` names each under the
    payload's name (`learnerData.3.emailId`); `problems` keeps them for a caller that says
    where in its own terms (an import's line numbers)."""

    def __init__(self, problems: list[Problem], *, payload: str, what: str) -> None:
        assert problems, "a refused batch has a problem"
        first = problems[0]
        self.status, self.code = first.kind.status, first.kind.code
        self.problems = problems
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        super().__init__(
            f"{first.kind.default_message}: {what} refused ({count}; nothing was written)",
            errors=[
                {
                    "field": ".".join(str(part) for part in (payload, *p.path) if part != ""),
                    "message": p.message,
                }
                for p in problems
            ],
        )


class FieldError(ClosedRecord):
    field: str
    message: str


class ErrorEnvelope(ClosedRecord):
    """The error body `error_body` writes, as documented in the OpenAPI description."""

    status: int = Field(ge=100, le=599, description="The HTTP status, repeated")
    code: int = Field(ge=1000, le=9999, description="The error code (see the error table)")
    message: str
    requestId: str = Field(description="The request id, also in the X-Request-Id header")
    errors: list[FieldError] = Field(
        default_factory=list, description="Validation errors, one per bad field (when any)"
    )


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_body(error: ApiError, request_id: str) -> bytes:
    body: dict[str, Any] = {
        "status": error.status,
        "code": error.code,
        "message": error.message,
        "requestId": request_id,
    }
    if error.errors:
        body["errors"] = error.errors
    body.update(error.extra)
    return orjson.dumps(body)


def _envelope(error: ApiError, request_id: str) -> Response:
    return Response(
        error_body(error, request_id),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json",
    )


def api_error_of(exc: HTTPException) -> ApiError:
    """Errors raised by the framework itself: unknown path, wrong method, unparsable body."""
    error: ApiError
    if exc.status_code == 404:
        error = UnknownPath()
    elif exc.status_code == 405:
        error = MethodNotAllowed(headers=dict(exc.headers or {}))
    elif exc.status_code == 400:  # a body the framework cannot parse (e.g. bad multipart)
        error = InvalidParameter("body", str(exc.detail))
    else:
        error = ApiError(str(exc.detail))
        error.status = exc.status_code
    return error


def error_of(exc: Exception, request_id: str = "") -> ApiError:
    """The documented error that answers `exc`: the one mapping from exceptions to errors,
    which the API writes as the envelope (`response_for`) and the pages as an HTML page.

    An `ApiError` answers its own status and code; a framework `HTTPException` its
    documented equivalent; anything else is a bug: a 500, with the stack trace in the log
    and never in the answer.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, HTTPException):
        return api_error_of(exc)
    logger.error("unhandled error, request %s", request_id, exc_info=exc)
    return ApiError()


def response_for(exc: Exception, request_id: str) -> Response:
    """The envelope answering `exc` (see `error_of`), used by the route plumbing (`http`)
    and, for what escapes it, by the outermost middleware."""
    return _envelope(error_of(exc, request_id), request_id)
