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
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

logger = logging.getLogger("lmsplans.errors")


class ApiError(Exception):
    """An error with a documented status and code (spec section 3)."""

    status: int = 500
    code: int = 7500
    default_message: str = "Sorry! Server error occured"

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


class MissingParameter(ApiError):
    status, code = 400, 7019

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Missing parameter: {name}", errors=[{"field": name, "message": "is required"}]
        )


class InvalidParameter(ApiError):
    status, code, default_message = 400, 7204, "Invalid value"

    def __init__(self, name: str, detail: str = "is not valid") -> None:
        super().__init__(
            f"Invalid value for parameter {name}", errors=[{"field": name, "message": detail}]
        )


class InvalidToken(ApiError):
    status, code, default_message = 401, 7201, "Invalid OAuth token"


class ExpiredToken(ApiError):
    status, code, default_message = 401, 7202, "OAuth token expired"


class InvalidScope(ApiError):
    status, code, default_message = 403, 7218, "Invalid OAuth scope"


class PermissionDenied(ApiError):
    status, code, default_message = 403, 9000, "Permission denied"


class NoSuchLearner(ApiError):
    status, code, default_message = 404, 7048, "No such learner"


class NoSuchRecord(ApiError):
    status, code, default_message = 404, 7049, "No record for the given id"


class UnknownPath(ApiError):
    status, code, default_message = 404, 7050, "Not found"


class MethodNotAllowed(ApiError):
    status, code, default_message = 405, 7051, "Method not allowed"


class RequestTimeout(ApiError):
    """The request's body did not arrive in time (`LMSPLANS_BODY_TIMEOUT_SECONDS`); its
    headers' own timeout is answered by the server's protocol layer, with the same code."""

    status, code, default_message = 408, 7055, "Request timeout"


class Conflict(ApiError):
    status, code, default_message = 409, 7052, "Conflict"


class BodyTooLarge(ApiError):
    status, code, default_message = 413, 7053, "Request body too large"


class UriTooLong(ApiError):
    """The request line is longer than `LMSPLANS_MAX_REQUEST_LINE_BYTES` (answered by the
    server's protocol layer)."""

    status, code, default_message = 414, 7056, "Request line too long"


class UnsupportedMediaType(ApiError):
    """A payload in a body that is neither JSON nor a form."""

    status, code, default_message = 415, 7057, "Unsupported media type"


class HeaderFieldsTooLarge(ApiError):
    """More header fields, or more header bytes, than the settings allow (answered by the
    server's protocol layer)."""

    status, code, default_message = 431, 7058, "Request header fields too large"


class LimitExceeded(ApiError):
    status, code, default_message = 422, 7021, "Maximum limit exceeded"


class IdempotencyKeyReused(ApiError):
    status, code = 422, 7054
    default_message = "Idempotency key reused with a different request"


class RateLimited(ApiError):
    status, code = 429, 7209
    default_message = (
        "API access blocked since threshold limit exceeded. Please try after some time"
    )


class ServiceUnavailable(ApiError):
    status, code, default_message = 503, 7503, "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """Raised by storage (`Database.read`, `transaction`, `catch_up`, `open`) when the
    database cannot be reached, whatever the driver said."""

    default_message = "Service unavailable: the database cannot be reached"


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


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    message: str


class ErrorEnvelope(BaseModel):
    """The error body `error_body` writes, as documented in the OpenAPI description."""

    model_config = ConfigDict(extra="forbid")
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
