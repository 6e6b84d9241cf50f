"""The outermost layer: request ids, the body size limit, metrics and the last-resort 500."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lmsplans.server.errors import BodyTooLarge, error_response, response_for

_NO_HANDLERS: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class Metrics:
    """Prometheus metrics of one app; a registry of its own, so apps never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lmsplans_http_requests",
            "HTTP requests answered, by route template and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lmsplans_http_request_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answer; the labelled children are looked up once per (route, status)."""
        children = self._children.get((route, status))
        if children is None:
            children = (self.requests.labels(route, str(status)), self.latency.labels(route))
            self._children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)


class RequestContextMiddleware:
    """Gives every request an id (echoed from `X-Request-Id` when the client sent a safe one),
    adds it to every response, refuses bodies over the limit, and answers any unhandled error
    with the documented 500 envelope, never a stack trace."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        # Request ids, 32 hex digits: a random prefix per process and a counter (unique,
        # and cheaper than a uuid4 per request).
        self._id_prefix = secrets.token_hex(6)
        self._id_counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or (
            f"{self._id_prefix}{next(self._id_counter):020x}"
        )
        scope.setdefault("state", {})["request_id"] = request_id
        # Every exception is answered here (`errors.response_for`), none by Starlette.
        scope["starlette.exception_handlers"] = _NO_HANDLERS
        header = (b"x-request-id", request_id.encode())
        started = False
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        begun = time.perf_counter()
        try:
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                limit = self.max_body_bytes
                response = error_response(
                    BodyTooLarge(f"Request body too large: at most {limit} bytes"), request_id
                )
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, _limited_receive(receive, self.max_body_bytes), send_with_id)
        except Exception as exc:
            if started:
                raise
            await response_for(exc, request_id)(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.observe(template, status, time.perf_counter() - begun)


def _client_request_id(scope: Scope) -> str | None:
    """The client's `X-Request-Id`, when it sent a safe one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited_receive(receive: Receive, max_bytes: int) -> Receive:
    """Counts streamed body bytes too, for requests without a Content-Length."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise BodyTooLarge(f"Request body too large: at most {max_bytes} bytes")
        return message

    return wrapped
