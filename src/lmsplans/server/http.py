"""How a request reaches a handler, and what the handler sees: the route plumbing.

An authenticated `/api/v1` route (`authenticated`) takes the same steps for every handler:
catch up with the change log (`lmsplans.server.cache`), authenticate the token (401, with
bad tokens limited per client address), count the call against the threshold (429), check
the token's scope (403), the ids in the path (400 beyond 64 bits), the path and query (400
for a NUL character) and the role the route needs (403), run the handler, and add the
rate-limit header fields to whatever it answers. A write (`transactional`) runs its handler
inside one database transaction with one `WriteContext`: nothing is written when the
handler raises. With an `Idempotency-Key`, the first response is stored in the same
transaction; a retry with the same key and request answers it again and writes nothing, and
the same key with a different request is 422 7054. A public route (`public`) is the
reviewed opt-out. Every error, on every route, is answered by `errors.response_for`. Routes
are declared with `routing.RouteTable`, which builds them from these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Hashable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lmsplans.server.auth import service as auth_service
from lmsplans.server.auth.schemas import Operation, Principal, Role
from lmsplans.server.cache import TaggedCache
from lmsplans.server.changes.log import tag
from lmsplans.server.clock import Clock
from lmsplans.server.db import Connection, Database, Page
from lmsplans.server.errors import (
    ExpiredToken,
    InvalidScope,
    InvalidToken,
    PermissionDenied,
    RateLimited,
    request_id_of,
    response_for,
)
from lmsplans.server.idempotency import service as idempotency
from lmsplans.server.middleware import scope_header
from lmsplans.server.params import check_path_and_query, idempotency_key, page_of, record_id
from lmsplans.server.ratelimit import Decision, Limiter
from lmsplans.server.reads import ReadGate
from lmsplans.server.settings import Settings
from lmsplans.server.wire import ShownOnce
from lmsplans.server.writes import WriteContext


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers need, built once at start-up (`app.state.services`)."""

    settings: Settings
    db: Database
    limiter: Limiter
    clock: Clock
    cache: TaggedCache
    reads: ReadGate  # reads make way for writes (`lmsplans.server.reads`)
    # Set when the server begins to stop (`protocol`): long polls answer at once.
    stopping: asyncio.Event


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call, as a handler sees it."""

    request: Request
    principal: Principal
    services: Services
    epoch: int  # the cache's epoch once the call caught up with the change log
    first_index: int | None  # a paged list's first `startIndex` (its declaration's `paging`)

    @property
    def db(self) -> Database:
        return self.services.db

    def now_ms(self) -> int:
        return self.services.clock.now_ms()

    def cached(self, key: Hashable) -> Any | None:
        """A value kept until a change names its tags (see `lmsplans.server.cache`)."""
        return self.services.cache.get(key)

    def keep(self, key: Hashable, value: Any, *, tags: Collection[str], weight: int = 1) -> None:
        """Keep `value` (worth `weight` records: see `TaggedCache`) under `tags`, unless a
        change to one of them was followed since this call caught up."""
        self.services.cache.put(key, value, tags=tags, since=self.epoch, weight=weight)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def id_param(self, name: str, what: str) -> int:
        """A decimal id from the path (`params.record_id`)."""
        return record_id(self.path_param(name), what)

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def page(self) -> Page:
        """The page of records asked for (`params.page_of`), as the route declares it."""
        assert self.first_index is not None, "the route is not declared as a paged list"
        return page_of(self.request, first_index=self.first_index)


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


@dataclass(frozen=True, slots=True)
class WriteCall(Call):
    """One authenticated write, as its handler sees it: the call, the write's one
    transaction (`conn`) and its context (`write`), built once for the whole write."""

    conn: Connection
    write: WriteContext


WriteHandler = Callable[[WriteCall], Awaitable[Response]]

# A route that needs a role admits those who hold it or one above it.
_RANK = {Role.LEARNER: 0, Role.MANAGER: 1, Role.ADMIN: 2}
_REFUSAL = {
    Role.MANAGER: "Permission denied: only managers and admins may do this",
    Role.ADMIN: "Permission denied: only admins may do this",
}


def ensure_role(held: Role, needed: Role) -> None:
    """403 9000 unless `held` is `needed` or a role above it."""
    if _RANK[held] < _RANK[needed]:
        raise PermissionDenied(_REFUSAL[needed])


def with_role(handler: Handler, role: Role) -> Handler:
    """`handler`, for callers holding `role` or a role above it (403 9000 for the rest)."""

    async def checked(call: Call) -> Response:
        ensure_role(call.principal.role, role)
        return await handler(call)

    return checked


def authenticated(
    handler: Handler, *, api: str, operation: Operation, first_index: int | None = None
) -> AsgiEndpoint:
    """The endpoint of an authenticated, rate-limited `/api/v1` route; `api` is the method
    and route template the limiter counts by (see the module docstring), `first_index` the
    first `startIndex` of a paged list."""

    takes_a_slot = operation is Operation.READ

    async def endpoint(request: Request) -> Response:
        if takes_a_slot:
            async with request.app.state.services.reads.held():
                return await answer(request)
        return await answer(request)

    async def answer(request: Request) -> Response:
        services: Services = request.app.state.services
        decision: Decision | None = None
        try:
            await services.db.catch_up()
            epoch = services.cache.epoch
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
                    services.cache.put(
                        ("token", token), principal, tags=_token_tags(token, principal), since=epoch
                    )
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
            check_path_and_query(request)
            response = await handler(Call(request, principal, services, epoch, first_index))
        except Exception as exc:  # still an /api/v1 answer, with the rate-limit fields
            response = response_for(exc, request_id_of(request))
        if decision is not None:  # RateLimit fields, and Retry-After on a refusal
            response.raw_headers.extend(decision.raw_headers())
        return response

    return AsgiEndpoint(endpoint)


def _token_tags(token: str, principal: Principal) -> tuple[str, ...]:
    """What a kept principal stands on: its token, its learner (role, status) and its
    organisation."""
    return (
        tag("token", auth_service.hash_secret(token)),
        tag("learner", principal.user_id),
        tag("org", principal.org_id),
    )


def transactional(handler: WriteHandler) -> Handler:
    """A write's handler, run in one transaction with its `WriteContext` and idempotent
    (see the module docstring)."""

    async def run(call: Call) -> Response:
        request = call.request
        write = WriteContext.by(
            call.principal,
            source="api",
            now_ms=call.now_ms(),
            idempotency_key=idempotency_key(request),
        )
        fingerprint = ""
        if write.idempotency_key is not None:
            fingerprint = idempotency.request_hash(
                request.method, request.url.path, request.url.query, await request.body()
            )
        async with call.db.transaction() as conn:
            stored = await idempotency.claim(conn, write, fingerprint)
            if stored is not None:
                return Response(
                    stored.body,
                    status_code=stored.status_code,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            response = await handler(
                WriteCall(request, call.principal, call.services, call.epoch, None, conn, write)
            )
            # A secret shown once is not kept: its replay answers without it.
            body = response.replay_body if isinstance(response, ShownOnce) else response.body
            await idempotency.keep(
                conn, write, fingerprint, status_code=response.status_code, body=bytes(body)
            )
        return response

    return run


def public(handler: PublicHandler) -> AsgiEndpoint:
    """The endpoint of a route without a token (OAuth, operations): an explicit, reviewed
    opt-out. Its errors are answered by the same `response_for` as every other route's."""

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            return await handler(request, services)
        except Exception as exc:
            return response_for(exc, request_id_of(request))

    return AsgiEndpoint(endpoint)
