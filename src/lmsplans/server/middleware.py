"""The outermost layer: request ids, the body's size and time limits, the full `Allow` of a
405, metrics and the last-resort 500."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lmsplans.server.errors import BodyTooLarge, RequestTimeout, response_for
from lmsplans.server.logs import AccessLog

_NO_HANDLERS: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class Metrics:
    """Answers counted by route template and status, and their latency by route template.

    Kept as plain numbers, so the hot path pays two increments and no lock (one event loop
    per process), and turned into Prometheus families when `/metrics` is scraped: a
    registry of its own, so apps never share counters.
    """

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

    def __init__(self) -> None:
        self._answers: dict[tuple[str, int], int] = {}
        # Per route: a count per bucket (observations up to its bound; +Inf last), then the sum.
        self._latency: dict[str, list[float]] = {}
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answer."""
        key = (route, status)
        self._answers[key] = self._answers.get(key, 0) + 1
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = [0.0] * (len(self.BUCKETS) + 2)
        latency[bisect.bisect_left(self.BUCKETS, seconds)] += 1
        latency[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        """The Prometheus families (`prometheus_client`'s custom collector protocol)."""
        answers = CounterMetricFamily(
            "lmsplans_http_requests",
            "HTTP requests answered, by route template and status.",
            labels=["route", "status"],
        )
        for (route, status), count in sorted(self._answers.items()):
            answers.add_metric([route, str(status)], count)
        yield answers
        latency = HistogramMetricFamily(
            "lmsplans_http_request_seconds",
            "Time to answer an HTTP request, by route template.",
            labels=["route"],
        )
        bounds = [*map(floatToGoString, self.BUCKETS), "+Inf"]
        for route, counts in sorted(self._latency.items()):
            cumulative = list(itertools.accumulate(counts[:-1]))
            latency.add_metric([route], list(zip(bounds, cumulative, strict=True)), counts[-1])
        yield latency


class RequestContextMiddleware:
    """Gives every request an id (echoed from `X-Request-Id` when the client sent a safe one),
    adds it to every response, refuses bodies over the limit, answers any unhandled error
    with the documented 500 envelope, never a stack trace, and logs each answer (`access_log`,
    None: off)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        access_log: AccessLog | None = None,
        allow: Mapping[str, str] | None = None,
        body_timeout_seconds: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Every method of each path template, for the `Allow` field of a 405.
        self.allow = allow or {}
        self.body_timeout_seconds = body_timeout_seconds
        self.metrics = metrics
        self.access_log = access_log
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
                response = response_for(
                    BodyTooLarge(f"Request body too large: at most {limit} bytes"), request_id
                )
                await response(scope, receive, send_with_id)
            else:
                limited = _limited_receive(receive, self.max_body_bytes, self.body_timeout_seconds)
                await self.app(scope, limited, send_with_id)
        except Exception as exc:
            if started:
                raise
            if isinstance(exc, HTTPException) and exc.status_code == 405:
                path = getattr(scope.get("route"), "path", "")
                if path in self.allow:
                    exc.headers = {"Allow": self.allow[path]}
            await response_for(exc, request_id)(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            seconds = time.perf_counter() - begun
            self.metrics.observe(template, status, seconds)
            if self.access_log is not None:
                self.access_log.record(scope, request_id=request_id, status=status, seconds=seconds)


def scope_header(scope: Scope, name: bytes) -> str | None:
    """The first value of the header field `name` (lower case), read straight from the ASGI
    scope: no `Headers` object is built on the hot path."""
    for field, value in scope["headers"]:
        if field == name:
            found: str = value.decode("latin-1")
            return found
    return None


def _client_request_id(scope: Scope) -> str | None:
    """The client's `X-Request-Id`, when it sent a safe one."""
    candidate = scope_header(scope, b"x-request-id")
    if candidate is None or not _SAFE_REQUEST_ID.fullmatch(candidate):
        return None
    return candidate


def _content_length(scope: Scope) -> int | None:
    value = scope_header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _limited_receive(receive: Receive, max_bytes: int, timeout: float | None) -> Receive:
    """Counts streamed body bytes too, for requests without a Content-Length, and gives each
    part of the body `timeout` seconds to arrive (a slow body is 408 7055)."""
    seen = 0
    body_done = False

    async def wrapped() -> Message:
        nonlocal seen, body_done
        if body_done or timeout is None:
            message = await receive()  # after the body: waiting for a disconnect is fine
        else:
            try:
                # In this task (not `wait_for`'s own): a body already here is read without
                # giving the event loop a turn, so a write under read load does not wait for
                # two more rounds of every waiting read.
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"Request timeout: the body did not arrive within {timeout:g} seconds",
                    headers={"Connection": "close"},
                ) from None
        if message["type"] == "http.request":
            body_done = not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise BodyTooLarge(f"Request body too large: at most {max_bytes} bytes")
        return message

    return wrapped
