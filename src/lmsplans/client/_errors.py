"""The client's exceptions: one base, one class per family of HTTP status and error code.

Every error the API answers becomes an `APIStatusError` subclass carrying the HTTP status, the
Zoho error code, the message and the server's request id. Failures to reach the server at all
are `APIConnectionError`.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "LmsPlansError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "ValidationError",
]


class LmsPlansError(Exception):
    """The base of every exception this client raises."""


class APIConnectionError(LmsPlansError):
    """The server could not be reached, or the connection failed mid-request."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIStatusError(LmsPlansError):
    """The API answered with an error.

    Attributes:
        status: the HTTP status (for Zoho answers that report an error with HTTP 200, the
            status the error code stands for).
        code: the error code of the envelope (`7209`, `7048`, ...), or None if there was none.
        message: the envelope's message.
        request_id: the server's request id (`requestId` / `X-Request-Id`), if any.
        errors: field-level details (`[{"field": ..., "message": ...}]`), if any; the
            exception's string names each field that was wrong.
        body: the decoded response body (a dict, or the text if it was not JSON).
        response: the `httpx.Response`, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        request_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
        response: httpx.Response | None = None,
    ) -> None:
        detail = f"{status}" + (f" {code}" if code is not None else "")
        wrong = "; ".join(_field_error(e) for e in errors or [] if e.get("field"))
        super().__init__(
            f"[{detail}] {message}"
            + (f" ({wrong})" if wrong else "")
            + (f" (request {request_id})" if request_id else "")
        )
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.errors = errors or []
        self.body = body
        self.response = response

    @property
    def status_code(self) -> int:
        """The HTTP status (an alias of `status`, as in httpx)."""
        return self.status


def _field_error(error: dict[str, Any]) -> str:
    """`{"field": "limit", "message": "must be at most 100"}` -> "limit: must be at most 100"."""
    message = error.get("message")
    return f"{error['field']}: {message}" if message else str(error["field"])


class ValidationError(APIStatusError):
    """400 or 422: a missing or invalid parameter, a limit exceeded, an idempotency key reused."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, invalid, expired or revoked; or the token endpoint refused."""


class PermissionDeniedError(APIStatusError):
    """403: the token's scope or the user's role does not allow the call."""


class NotFoundError(APIStatusError):
    """404: no such learner, record or path (also for another organisation's records)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the record's state."""


class RateLimitedError(APIStatusError):
    """429: the threshold was exceeded and the API is locked, or a local limit was reached.

    `retry_after` is the number of seconds to wait before the next call, when known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed (after the client's retries)."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
}

# Zoho sometimes reports an error inside an HTTP 200 answer; the code says what it means.
_STATUS_BY_CODE: dict[int, int] = {
    7019: 400,
    7204: 400,
    7201: 401,
    7202: 401,
    7218: 403,
    9000: 403,
    7048: 404,
    7049: 404,
    7050: 404,
    7051: 405,
    7052: 409,
    7053: 413,
    7021: 422,
    7054: 422,
    7209: 429,
    7500: 500,
    7503: 503,
}


def status_for_code(code: int | None, default: int) -> int:
    """The HTTP status an error code stands for (`default` for unknown codes)."""
    if code is None:
        return default
    return _STATUS_BY_CODE.get(code, default)


def error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIStatusError)
