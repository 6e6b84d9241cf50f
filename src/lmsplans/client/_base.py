"""What the sync and async clients share: hosts, endpoints, paging, answers, backoff."""

from __future__ import annotations

import json
import logging
import os
import random
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx

from lmsplans.client._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    LmsPlansError,
    RateLimitedError,
    error_class,
    status_for_code,
)
from lmsplans.client._models import PlanCourseSpec, to_bool

__all__ = ["DATA_CENTRES", "AccessToken", "Page", "data_centre_urls"]

log = logging.getLogger("lmsplans.client")

VERSION = "0.1.0"
USER_AGENT = f"lmsplans-python/{VERSION}"
AUTH_SCHEME = "Zoho-oauthtoken"

# Zoho's data centres: the domain behind people.<domain> (the API) and accounts.<domain>.
DATA_CENTRES: dict[str, str] = {
    "com": "zoho.com",
    "us": "zoho.com",
    "eu": "zoho.eu",
    "in": "zoho.in",
    "com.au": "zoho.com.au",
    "au": "zoho.com.au",
    "jp": "zoho.jp",
    "ca": "zohocloud.ca",
    "zohocloud.ca": "zohocloud.ca",
    "sa": "zoho.sa",
    "uk": "zoho.uk",
    "com.cn": "zoho.com.cn",
    "cn": "zoho.com.cn",
}

T = TypeVar("T")


def data_centre_urls(dc: str) -> tuple[str, str]:
    """The (People API, Accounts) base URLs of a Zoho data centre: `"eu"` ->
    (`https://people.zoho.eu`, `https://accounts.zoho.eu`); `"ca"` -> zohocloud.ca."""
    domain = DATA_CENTRES.get(dc.strip().lower().lstrip("."))
    if domain is None:
        known = ", ".join(sorted(set(DATA_CENTRES) - {"us", "au", "cn", "zohocloud.ca"}))
        raise LmsPlansError(f"unknown data centre {dc!r}: use one of {known}")
    return f"https://people.{domain}", f"https://accounts.{domain}"


def resolve_urls(dc: str | None, base_url: str | None, accounts_url: str | None) -> tuple[str, str]:
    """`base_url` wins over `dc`; the accounts URL defaults to the base URL when one is given
    (this server answers both), else to the data centre's Accounts host."""
    if base_url:
        base = base_url.rstrip("/")
        return base, (accounts_url or base).rstrip("/")
    api, accounts = data_centre_urls(dc or "com")
    return api, (accounts_url or accounts).rstrip("/")


def env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One API: its method, route template, list key and paging convention."""

    method: str
    template: str
    key: str | None = None
    first_index: int = 1  # spec section 3: 0 where Zoho defaults `startIndex` to 0
    page_size: int | None = 100  # `limit` sent by default; None sends none (Zoho's 25)

    @property
    def api(self) -> str:
        """The governor's key: method plus route template."""
        return f"{self.method} {self.template}"

    def path(self, **params: str | int) -> str:
        values = {k: urllib.parse.quote(str(v), safe="") for k, v in params.items()}
        for name, value in values.items():
            if not value:
                raise LmsPlansError(f"{name} must not be empty")
        return self.template.format(**values)


LEARNER_PLANS_PROGRESS = Endpoint(
    "GET",
    "/api/v1/learners/{learnerId}/learning-plans/progress",
    key="learningPlans",
    first_index=0,
    page_size=None,
)
LEARNER_PLAN_COURSES_PROGRESS = Endpoint(
    "GET", "/api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress", key="courses"
)
LEARNING_PLANS = Endpoint("GET", "/api/v1/learning-plans", key="learningPlans")
PLAN_LEARNERS = Endpoint("GET", "/api/v1/learning-plans/{planId}/learners", key="learners")
LEARNER_COURSE_PROGRESS = Endpoint(
    "GET", "/api/v1/learners/{learnerId}/course-progress", key="courseProgress"
)
COURSE_PROGRESS = Endpoint(
    "GET", "/api/v1/courses/{courseId}/course-progress", key="courseProgress"
)
COURSE_LEARNER_PROGRESS = Endpoint(
    "GET", "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress", key="courseProgress"
)
# Management (this product's own; Zoho documents none of these).
LEARNERS_CREATE = Endpoint("POST", "/api/v1/learners", key="learners")
LEARNERS = Endpoint("GET", "/api/v1/learners", key="learners")
LEARNER = Endpoint("GET", "/api/v1/learners/{learnerId}", key="learner")
LEARNER_UPDATE = Endpoint("PATCH", "/api/v1/learners/{learnerId}", key="learner")
LEARNER_DEACTIVATE = Endpoint("DELETE", "/api/v1/learners/{learnerId}", key="learner")
COURSE_CREATE = Endpoint("POST", "/api/v1/courses", key="course")
COURSES = Endpoint("GET", "/api/v1/courses", key="courses")
COURSE = Endpoint("GET", "/api/v1/courses/{courseId}", key="course")
COURSE_UPDATE = Endpoint("PATCH", "/api/v1/courses/{courseId}", key="course")
COURSE_DELETE = Endpoint("DELETE", "/api/v1/courses/{courseId}", key="course")
PLAN_CREATE = Endpoint("POST", "/api/v1/learning-plans", key="learningPlan")
PLAN = Endpoint("GET", "/api/v1/learning-plans/{planId}", key="learningPlan")
PLAN_UPDATE = Endpoint("PATCH", "/api/v1/learning-plans/{planId}", key="learningPlan")
PLAN_DELETE = Endpoint("DELETE", "/api/v1/learning-plans/{planId}")
PLAN_PUBLISH = Endpoint("POST", "/api/v1/learning-plans/{planId}/publish", key="learningPlan")
PLAN_DISABLE = Endpoint("POST", "/api/v1/learning-plans/{planId}/disable", key="learningPlan")
PLAN_COURSES = Endpoint("PUT", "/api/v1/learning-plans/{planId}/courses", key="learningPlan")
PLAN_ENROL = Endpoint("PUT", "/api/v1/learning-plans/{planId}/learners")
PLAN_UNENROL = Endpoint("DELETE", "/api/v1/learning-plans/{planId}/learners/{learnerId}")
PLAN_JOIN = Endpoint("POST", "/api/v1/learners/{learnerId}/learning-plans/{planId}/join")
RECORD_PROGRESS = Endpoint(
    "PUT", "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress", key="courseProgress"
)
PLAN_HISTORY = Endpoint(
    "GET", "/api/v1/learners/{learnerId}/learning-plans/{planId}/history", key="events"
)
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 (a path, not a secret)
REVOKE_PATH = "/oauth/v2/token/revoke"

ZOHO_PAGE_SIZE = 25  # Zoho's page when no `limit` is sent


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its records, where it started, whether another follows."""

    items: list[T]
    start_index: int
    is_next_available: bool
    raw: dict[str, Any]


class Cursor:
    """Walks the pages of one list: `startIndex` advances by the records received; the walk
    ends on `isNextAvailable: false`, on an empty page, or, when the flag is absent (Zoho's own
    answers), on a page shorter than the page size. A server that ignores `startIndex` and
    answers the same page again also ends it, rather than repeating records."""

    def __init__(
        self, endpoint: Endpoint, *, page_size: int | None, start_index: int | None
    ) -> None:
        if page_size is not None and not 1 <= page_size <= 100:
            raise LmsPlansError("page_size must be between 1 and 100")
        self.endpoint = endpoint
        self.limit = page_size if page_size is not None else endpoint.page_size
        self.expected = self.limit or ZOHO_PAGE_SIZE
        self.start = endpoint.first_index if start_index is None else start_index
        self._previous: list[Any] | None = None

    def params(self) -> dict[str, str]:
        params = {"startIndex": str(self.start)}
        if self.limit is not None:
            params["limit"] = str(self.limit)
        return params

    def accept(self, body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The records of a page just received and whether another page follows; moves
        `start` past them. A repeat of the previous page yields no record and ends the walk."""
        key = self.endpoint.key
        value = body.get(key) if key else None
        if value is None:
            value = []
        if not isinstance(value, list):
            raise LmsPlansError(f"unexpected answer: {key!r} is not a list")
        records = [item for item in value if isinstance(item, dict)]
        if not records or records == self._previous:
            return [], False
        flag = body.get("isNextAvailable")
        more = to_bool(flag) if flag is not None else None
        if more is None:
            more = len(records) >= self.expected
        self._previous = records
        self.start += len(records)
        return records, more


# --- answers ------------------------------------------------------------------------------


def decode_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _error_fields(body: Any) -> tuple[int | None, str | None, list[dict[str, Any]]] | None:
    """(code, message, errors) if `body` is an error envelope, in this server's shape or
    Zoho People's (`{"response": {"errors": {"code": ..., "message": ...}}}`)."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    field_errors = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if "code" in body and body.get("status") != 200:
        return _int_or_none(body.get("code")), _text(body.get("message")), field_errors
    response = body.get("response")
    if isinstance(response, dict) and isinstance(response.get("errors"), dict | list):
        found = response["errors"]
        first = found[0] if isinstance(found, list) and found else found
        if isinstance(first, dict):
            return (
                _int_or_none(first.get("code")),
                _text(first.get("message") or response.get("message")),
                [],
            )
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare; the caller falls back to its own wait
    return max(0.0, seconds)


def check_response(response: httpx.Response) -> dict[str, Any]:
    """The decoded body of a successful answer, or the matching `APIStatusError`."""
    body = decode_body(response)
    found = _error_fields(body)
    if response.is_success and found is None and isinstance(body, dict):
        return body
    code, message, field_errors = found or (None, None, [])
    status = response.status_code
    if response.is_success:
        status = status_for_code(code, 400 if found else 502)
        if found is None:
            message = "the answer is not a JSON object"
    request_id = response.headers.get("x-request-id")
    if isinstance(body, dict) and body.get("requestId"):
        request_id = str(body["requestId"])
    if message is None:
        snippet = body if isinstance(body, str) else ""
        message = (snippet.strip()[:200] or response.reason_phrase or "error").strip()
    cls = error_class(status)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": request_id,
        "errors": field_errors,
        "body": body,
        "response": response,
    }
    if cls is RateLimitedError:
        raise RateLimitedError(message, retry_after=retry_after_seconds(response.headers), **kwargs)
    raise cls(message, **kwargs)


# --- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token from the token endpoint."""

    access_token: str
    expires_in: float | None
    api_domain: str | None
    scope: str | None
    token_type: str | None


def parse_token_response(response: httpx.Response) -> AccessToken:
    """The token endpoint's answer, or AuthenticationError / RateLimitedError. Zoho Accounts
    reports refusals with HTTP 200 and `{"error": "invalid_code"}`; this server uses the error
    envelope."""
    body = decode_body(response)
    if response.is_success and isinstance(body, dict) and body.get("access_token"):
        expires = body.get("expires_in")
        return AccessToken(
            access_token=str(body["access_token"]),
            expires_in=float(expires) if isinstance(expires, int | float | str) else None,
            api_domain=_text(body.get("api_domain")),
            scope=_text(body.get("scope")),
            token_type=_text(body.get("token_type")),
        )
    if not response.is_success and _error_fields(body) is not None:
        check_response(response)  # raises the envelope's error
    error = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description") if isinstance(body, dict) else None
    message = f"token endpoint refused: {description or error or response.reason_phrase}"
    request_id = response.headers.get("x-request-id")
    if error == "Access Denied" or response.status_code == 429:
        raise RateLimitedError(
            message,
            status=429,
            retry_after=retry_after_seconds(response.headers),
            request_id=request_id,
            body=body,
            response=response,
        )
    status = response.status_code if response.status_code >= 400 else 401
    raise AuthenticationError(
        message, status=status, request_id=request_id, body=body, response=response
    )


# --- retries ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries with jittered exponential backoff on 5xx answers and network errors.

    Reads are always retried; writes are retried too, each carrying one `Idempotency-Key`
    across its attempts, so the server applies it once.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_lock_waits: int = 3  # how many 429 locks one call waits out before giving up

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Delay before retry number `attempt` (0-based): capped exponential, half jittered."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return ceiling / 2 + ceiling / 2 * rng()


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def build_headers(
    base: Mapping[str, str], token: str | None, idempotency_key: str | None
) -> dict[str, str]:
    headers = dict(base)
    if token is not None:
        headers["Authorization"] = f"{AUTH_SCHEME} {token}"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def missing_credentials() -> LmsPlansError:
    return LmsPlansError(
        "no credentials: pass access_token=, or refresh_token= with client_id= and "
        "client_secret= (or set LMSPLANS_ACCESS_TOKEN, or LMSPLANS_REFRESH_TOKEN, "
        "LMSPLANS_CLIENT_ID and LMSPLANS_CLIENT_SECRET)"
    )


MAX_SERVER_WAIT = 60.0  # the longest Retry-After honoured on a 5xx before retrying


@dataclass(frozen=True, slots=True)
class Action:
    """What to do after a failed attempt: refresh the token, wait out a lock, or retry."""

    kind: str  # "refresh" | "lock" | "retry"
    seconds: float = 0.0


class Attempts:
    """The retry state of one call. Each kind of failure has its own bound, so every call
    ends: `max_retries` for 5xx and network errors, `max_lock_waits` for 429 locks, and one
    token refresh."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry
        self.retries = 0
        self.lock_waits = 0
        self.refreshed = False
        self.limit = retry.max_retries + retry.max_lock_waits + 2

    def after_transport_error(self, exc: httpx.TransportError) -> Action:
        """Back off and retry, or raise once the retries are spent."""
        if self.retries >= self.retry.max_retries:
            raise connection_error(exc) from exc
        delay = self.retry.backoff(self.retries)
        self.retries += 1
        return Action("retry", delay)

    def after_error(self, error: APIStatusError, *, can_refresh: bool) -> Action:
        """Refresh (401, once), wait out the lock (429), back off (5xx), or re-raise."""
        if error.status == 401 and can_refresh and not self.refreshed:
            self.refreshed = True
            return Action("refresh")
        if isinstance(error, RateLimitedError) and self.lock_waits < self.retry.max_lock_waits:
            self.lock_waits += 1
            return Action("lock", error.retry_after if error.retry_after is not None else -1.0)
        if (error.status >= 500 or error.status == 408) and self.retries < self.retry.max_retries:
            delay = self.retry.backoff(self.retries)
            after = (
                retry_after_seconds(error.response.headers) if error.response is not None else None
            )
            if after is not None:
                delay = max(delay, min(after, MAX_SERVER_WAIT))
            self.retries += 1
            return Action("retry", delay)
        raise error


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """The client's exception for a transport failure."""
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:
        request = None
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out: {exc}", request=request)
    return APIConnectionError(f"connection failed: {exc}", request=request)


def log_retry(api: str, action: Action, cause: Exception) -> None:
    """Say on the `lmsplans.client` logger why a call is being made again."""
    if action.kind == "lock":
        log.warning(
            "%s is locked (%s): waiting %.0f s, then the same call again",
            api,
            cause,
            action.seconds,
        )
    elif action.kind == "refresh":
        log.info("%s: the access token was refused (%s); refreshing it", api, cause)
    else:
        log.info("%s failed (%s): retrying in %.1f s", api, cause, action.seconds)


# --- management payloads ------------------------------------------------------------------


def record_of(body: Mapping[str, Any], key: str | None) -> dict[str, Any]:
    """The one record an answer holds under `key`."""
    record = body.get(key) if key else None
    if not isinstance(record, dict):
        raise LmsPlansError(f"unexpected answer: no {key} record")
    return record


def records_of(body: Mapping[str, Any], key: str | None) -> list[dict[str, Any]]:
    """The records an answer holds under `key`."""
    records = body.get(key) if key else None
    if not isinstance(records, list):
        raise LmsPlansError(f"unexpected answer: {key!r} is not a list")
    return [record for record in records if isinstance(record, dict)]


def first_record_of(body: Mapping[str, Any], key: str | None) -> dict[str, Any]:
    """The first of the records an answer holds under `key`."""
    records = records_of(body, key)
    if not records:
        raise LmsPlansError(f"unexpected answer: no {key} record")
    return records[0]


def fields(**values: Any) -> dict[str, Any]:
    """The given fields, without those left as None (absent fields stay as they are)."""
    return {name: value for name, value in values.items() if value is not None}


def learner_filters(
    search: str | None, role: str | None, status: str | None
) -> dict[str, str] | None:
    return fields(search=search, role=role, status=status) or None


def epoch_ms(value: datetime | int | None) -> int | None:
    """A datetime (aware, or naive UTC) or epoch milliseconds -> epoch milliseconds."""
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def progress_payload(
    percentage: int | None,
    status: str | None,
    completion_time: datetime | int | None,
    reset: bool,
) -> dict[str, Any]:
    """`progressData`: a percentage, a status (or both), when; or `reset: true`."""
    data = fields(
        completionPercentage=percentage,
        completionStatus=status,
        completionTime=epoch_ms(completion_time),
    )
    if reset:
        data["reset"] = True
    return data


def plan_payload(
    name: str | None,
    description: str | None,
    duration: int | None,
    duration_type: int | None,
    image: str | None,
    plan_admins: Sequence[str | int] | None,
) -> dict[str, Any]:
    """`planData`, in the API's field names, without the fields left as None."""
    return fields(
        planName=name,
        description=description,
        duration=duration,
        durationType=duration_type,
        image=image,
        planAdmins=None if plan_admins is None else [str(admin) for admin in plan_admins],
    )


def plan_courses_payload(
    courses: Sequence[PlanCourseSpec | Mapping[str, Any]],
) -> list[dict[str, Any]]:
    return [c.to_raw() if isinstance(c, PlanCourseSpec) else dict(c) for c in courses]
