"""Reading answers: records, the error envelope (this server's and Zoho's), token answers,
rate-limit fields."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lmsplans.client._errors import (
    AuthenticationError,
    LmsPlansError,
    RateLimitedError,
    error_class,
    status_for_code,
)

__all__ = ["AccessToken", "check_response", "parse_rate_limit_headers", "parse_token_response"]


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


# --- rate-limit fields ----------------------------------------------------------------------


def _params(item: str) -> tuple[str, dict[str, str]]:
    """`"api";q=30;w=60` -> ("api", {"q": "30", "w": "60"})."""
    parts = [p.strip() for p in item.split(";")]
    values: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        values[key.strip().lower()] = value.strip().strip('"')
    return parts[0], values


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_rate_limit_headers(
    headers: Mapping[str, str],
) -> tuple[int | None, float | None, int | None, float | None]:
    """The (quota, window, remaining, reset) a response announces, each None when absent.

    Reads the IETF draft fields `RateLimit-Policy: "api";q=30;w=60` and
    `RateLimit: "api";r=29;t=60`, and the older `RateLimit-Limit` / `-Remaining` / `-Reset`
    (with `RateLimit-Policy: 30;w=60`). Only the first policy listed is used.
    """
    quota: int | None = None
    window: float | None = None
    remaining: int | None = None
    reset: float | None = None
    policy = headers.get("ratelimit-policy")
    if policy:
        head, values = _params(policy.split(",")[0])
        q = _number(values.get("q")) if "q" in values else _number(head)
        quota = int(q) if q is not None else None
        window = _number(values.get("w"))
    current = headers.get("ratelimit")
    if current:
        _, values = _params(current.split(",")[0])
        r = _number(values.get("r"))
        remaining = int(r) if r is not None else None
        reset = _number(values.get("t"))
    if quota is None:
        q = _number(headers.get("ratelimit-limit"))
        quota = int(q) if q is not None else None
    if remaining is None:
        r = _number(headers.get("ratelimit-remaining"))
        remaining = int(r) if r is not None else None
    if reset is None:
        reset = _number(headers.get("ratelimit-reset"))
    return quota, window, remaining, reset
