"""How a request reaches a handler: the route factory, query parsing and JSON responses.

`api_route` wraps every `/api/v1` handler in the same steps: authenticate (401, with bad
tokens limited per client address), count the call against the threshold (429), check the
token's scope (403), run the handler, and add the rate-limit header fields to whatever it
answers. Routes are authenticated by default; `public=True` is the reviewed opt-out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lmsplans.server.auth import service as auth_service
from lmsplans.server.auth.schemas import Operation, Principal
from lmsplans.server.cache import VersionedCache
from lmsplans.server.clock import Clock
from lmsplans.server.db import Database, Page
from lmsplans.server.errors import (
    ExpiredToken,
    InvalidParameter,
    InvalidScope,
    InvalidToken,
    LimitExceeded,
    MissingParameter,
    NoSuchRecord,
    RateLimited,
    request_id_of,
    response_for,
)
from lmsplans.server.middleware import scope_header
from lmsplans.server.openapi import DocumentedRoute, OperationDoc
from lmsplans.server.ratelimit import Decision, Limiter
from lmsplans.server.settings import Settings

MAX_LIMIT = 100
DEFAULT_LIMIT = 25


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers need, built once at start-up (`app.state.services`)."""

    settings: Settings
    db: Database
    limiter: Limiter
    clock: Clock
    cache: VersionedCache


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call, as a handler sees it."""

    request: Request
    principal: Principal
    services: Services
    version: int  # the data version read at the start of the call

    @property
    def db(self) -> Database:
        return self.services.db

    def now_ms(self) -> int:
        return self.services.clock.now_ms()

    def cached(self, key: Hashable) -> Any | None:
        """A value kept at this call's data version (see `lmsplans.server.cache`)."""
        return self.services.cache.get(key)

    def keep(self, key: Hashable, value: Any) -> None:
        self.services.cache.put(key, value, version=self.version)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def id_param(self, name: str, what: str) -> int:
        """A decimal id from the path; anything else names no record (404 7049)."""
        raw = self.path_param(name)
        if not (raw.isascii() and raw.isdigit()) or int(raw) >= 2**63:
            raise NoSuchRecord(f"No record for the given id: no such {what}")
        return int(raw)

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


Handler = Callable[[Call], Awaitable[Response]]
PublicHandler = Callable[[Request, Services], Awaitable[Response]]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class AsgiEndpoint:
    """A request handler as a plain ASGI app, so Starlette calls it directly: every `/api/v1`
    handler answers all its errors itself, and the generic wrapping Starlette gives function
    endpoints (its exception-handler layer) would only cost time on the hot path."""

    def __init__(self, respond: Callable[[Request], Awaitable[Response]]) -> None:
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)


def api_route(
    path: str,
    handler: Handler,
    *,
    method: str = "GET",
    operation: Operation = Operation.READ,
    name: str | None = None,
    doc: OperationDoc | None = None,
) -> Route:
    """An authenticated, rate-limited `/api/v1` route (see the module docstring)."""
    api = f"{method} {path}"

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        decision: Decision | None = None
        try:
            version = await services.db.data_version()
            services.cache.sync(version)
            try:
                token = auth_service.token_from_header(
                    scope_header(request.scope, b"authorization")
                )
                now_ms = services.clock.now_ms()
                principal = services.cache.get(("token", token))
                if principal is None or principal.expires_ms <= now_ms:
                    async with services.db.read() as conn:
                        principal = await auth_service.authenticate(
                            conn, token=token, now_ms=now_ms
                        )
                    services.cache.put(("token", token), principal, version=version)
            except (InvalidToken, ExpiredToken):
                # Bad tokens count per client address, so tokens cannot be guessed at speed.
                decision = await services.limiter.hit(f"addr:{client_address(request)}:{api}")
                if not decision.allowed:
                    raise RateLimited() from None
                raise
            decision = await services.limiter.hit(f"{principal.org_id}:{principal.user_id}:{api}")
            if not decision.allowed:
                raise RateLimited()
            if not principal.allows(operation):
                raise InvalidScope(
                    f"Invalid OAuth scope: this API needs ZOHOPEOPLE.training.{operation.value}"
                )
            response = await handler(Call(request, principal, services, version))
        except Exception as exc:  # still an /api/v1 answer, with the rate-limit fields
            response = response_for(exc, request_id_of(request))
        if decision is not None:  # RateLimit fields, and Retry-After on a refusal
            response.raw_headers.extend(decision.raw_headers())
        return response

    return DocumentedRoute(
        path,
        AsgiEndpoint(endpoint),
        methods=[method],
        name=name or handler.__name__,
        doc=doc,
        scope=operation,
    )


def public_route(
    path: str, handler: PublicHandler, *, method: str = "GET", doc: OperationDoc | None = None
) -> Route:
    """A route without a token (OAuth, health). Each use is an explicit, reviewed opt-out.
    Its errors are answered by the same `response_for` as every other route's."""

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            return await handler(request, services)
        except Exception as exc:
            return response_for(exc, request_id_of(request))

    return DocumentedRoute(
        path, AsgiEndpoint(endpoint), methods=[method], name=handler.__name__, doc=doc, scope=None
    )


def _non_negative_int(request: Request, *names: str) -> int | None:
    for name in names:
        raw = request.query_params.get(name)
        if raw is None:
            continue
        value = raw.strip()
        if not (value.isascii() and value.isdigit()):
            raise InvalidParameter(names[0], "must be a non-negative integer")
        return int(value)
    return None


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
    offset = 0 if start is None else max(0, start - first_index)
    # Any offset past the last possible row is simply beyond the end (SQLite's integers stop
    # at 2**63 - 1; a larger one must not reach the driver).
    return Page(offset=min(offset, 2**62), limit=limit)


def required(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise MissingParameter(name)
    return value
