"""What runs a page of the interface: the session, the role, the form checks, the write's
transaction, and the error page. Pages are declared with `routing.PageTable`, which builds
their routes from these.

A page (`signed_in`) catches up with the change log, finds the session behind the
`lmsplans_session` cookie (a person who is not signed in is sent to sign in), checks the
role the page needs and runs its handler with a `Visit`. A form passes its checks first
(`forms`: not from another site, with its token); a form that writes (`writing`) then runs
in one transaction with one `WriteContext` (source `ui`) and the form's one-time key as its
`Idempotency-Key`, as an API write does: a form sent twice writes once, and both answers
send the browser to the same page. The sign-in pages (`public`) need no session.

Every error is the API's own (`errors.error_of`): the same status, shown as a page.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Route

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.db import Connection, Database
from lmsplans.server.errors import (
    ExpiredToken,
    InvalidToken,
    MethodNotAllowed,
    UnknownPath,
    error_of,
    request_id_of,
)
from lmsplans.server.http import AsgiEndpoint, Services, ensure_role
from lmsplans.server.idempotency import service as idempotency
from lmsplans.server.params import record_id
from lmsplans.server.sessions import service as sessions
from lmsplans.server.sessions.schemas import SessionInfo, SessionPolicy
from lmsplans.server.ui import forms, views
from lmsplans.server.ui.rendering import Site
from lmsplans.server.writes import WriteContext

SIGN_IN = "/ui/sign-in"
WRITE_SOURCE = "ui"  # the `source` of every write made from a page


@dataclass(frozen=True, slots=True)
class Interface:
    """What the pages need beside the API's `Services`, built once per app: the templates,
    the password hasher and the sessions' lifetimes."""

    site: Site
    passwords: sessions.Passwords
    policy: SessionPolicy


@dataclass(frozen=True, slots=True)
class PageCall:
    """One request for a page, as a handler sees it (the sign-in pages: nobody yet)."""

    request: Request
    services: Services
    interface: Interface
    epoch: int  # the cache's epoch once the request caught up with the change log
    now_ms: int

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def site(self) -> Site:
        return self.interface.site

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def id_param(self, name: str, what: str) -> int:
        """A decimal id from the path (`params.record_id`: 404 7049 otherwise)."""
        return record_id(self.path_param(name), what)

    def cached(self, key: Hashable) -> Any | None:
        """A value kept until a change names its tags (the API's cache)."""
        return self.services.cache.get(key)

    def keep(self, key: Hashable, value: Any, *, tags: Collection[str], weight: int = 1) -> None:
        self.services.cache.put(key, value, tags=tags, since=self.epoch, weight=weight)

    @property
    def is_htmx(self) -> bool:
        """A request htmx made for part of a page (`HX-Request`)."""
        return self.request.headers.get("hx-request") == "true"

    def render(self, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
        """The template as a page, for the person signed in (if any) at this path."""
        values = {"viewer": None, "path": self.request.url.path, **context}
        response = self.site.page(template, values, status_code=status_code)
        response.headers["vary"] = "HX-Request"
        return response


@dataclass(frozen=True, slots=True)
class Visit(PageCall):
    """One request of a signed-in person."""

    session: SessionInfo

    @property
    def principal(self) -> Principal:
        return self.session.principal()

    def render(self, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
        return PageCall.render(
            self, template, {"viewer": self.session, **context}, status_code=status_code
        )


@dataclass(frozen=True, slots=True)
class FormVisit(Visit):
    """A form a signed-in person sent, past its checks: its fields (text only)."""

    form: ImmutableMultiDict[str, str]


@dataclass(frozen=True, slots=True)
class WriteVisit(FormVisit):
    """A form that writes: its one transaction (`conn`) and its context (`write`)."""

    conn: Connection
    write: WriteContext


PublicHandler = Callable[[PageCall], Awaitable[Response]]
PageHandler = Callable[[Visit], Awaitable[Response]]
FormHandler = Callable[[FormVisit], Awaitable[Response]]
WriteHandler = Callable[[WriteVisit], Awaitable[Response]]


def see_other(url: str) -> Response:
    """Where the browser goes next (303: a GET, whatever the request was)."""
    return RedirectResponse(url, status_code=303)


async def _session(call: PageCall) -> SessionInfo:
    """The live session behind the request's cookie (kept until it, its person or their
    organisation changes)."""
    session_id = call.request.cookies.get(forms.SESSION_COOKIE)
    if not session_id:
        raise InvalidToken(sessions.NOT_SIGNED_IN)
    key = ("ui-session", session_id)
    session: SessionInfo | None = call.cached(key)
    if session is None or session.expires_ms <= call.now_ms:
        session = await sessions.look_up_session(
            call.db, session_id=session_id, now_ms=call.now_ms, policy=call.interface.policy
        )
        call.keep(key, session, tags=session.cache_tags())
    return session


def _not_signed_in(call: PageCall, error: InvalidToken | ExpiredToken) -> Response:
    """A person without a live session: to the sign-in page, which says why and brings
    them back here (a read); the error page otherwise."""
    request = call.request
    if request.method not in ("GET", "HEAD"):
        return error_page(call, error, viewer=None)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    reason = "ended" if isinstance(error, ExpiredToken) else "needed"
    url = f"{SIGN_IN}?next={quote(target, safe='/')}&reason={reason}"
    if call.is_htmx:  # htmx follows this header with a full page load
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = see_other(url)
    forms.clear_session_cookie(response, call)
    return response


def error_page(call: PageCall, exc: Exception, *, viewer: SessionInfo | None) -> Response:
    """The error that answers `exc` (`errors.error_of`, as the API's), with its status and
    header fields, shown as a page."""
    request_id = request_id_of(call.request)
    error = error_of(exc, request_id)
    context = {
        "title": views.ERROR_TITLES.get(error.status, "Something went wrong"),
        "error": error,
        "request_id": request_id,
        "viewer": viewer,
    }
    try:
        response = call.render("error.html", context, status_code=error.status)
    except Exception as failure:  # a broken page must not hide the first error
        response = Response(error.message, status_code=error.status, media_type="text/plain")
        error_of(failure, request_id)  # logged as the bug it is
    response.headers.update(error.headers)
    return response


async def _page_call(request: Request) -> PageCall:
    services: Services = request.app.state.services
    await services.db.catch_up()
    return PageCall(
        request,
        services,
        request.app.state.interface,
        services.cache.epoch,
        services.clock.now_ms(),
    )


def _bare_call(request: Request) -> PageCall:
    """A request that failed before it caught up with the change log (the database is
    down): enough to show the error page."""
    return PageCall(request, request.app.state.services, request.app.state.interface, -1, 0)


def _timed(respond: Callable[[Request], Awaitable[Response]]) -> AsgiEndpoint:
    """The endpoint, with its time in `Server-Timing` (what a browser's tools and the
    benchmark read as the server's share)."""

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        response = await respond(request)
        response.headers["server-timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    return AsgiEndpoint(endpoint)


def public(handler: PublicHandler) -> AsgiEndpoint:
    """A page without a session: the sign-in pages, the reviewed opt-out."""

    async def respond(request: Request) -> Response:
        call: PageCall | None = None
        try:
            call = await _page_call(request)
            return await handler(call)
        except Exception as exc:
            return error_page(call or _bare_call(request), exc, viewer=None)

    return _timed(respond)


def signed_in(handler: PageHandler, *, role: Role | None, touch: bool = True) -> AsgiEndpoint:
    """A page for a signed-in person holding `role` or one above it (any, for None).
    `touch=False` (a page's own polls, `ui.live`) is not the person's activity: an open tab
    neither keeps its session alive nor writes."""
    return _session_endpoint(handler, role=role, touch=touch)


def _session_endpoint(
    run: Callable[[Visit], Awaitable[Response]], *, role: Role | None, touch: bool = True
) -> AsgiEndpoint:
    async def respond(request: Request) -> Response:
        call: PageCall | None = None
        visit: Visit | None = None
        try:
            call = await _page_call(request)
            try:
                session = await _session(call)
            except (InvalidToken, ExpiredToken) as error:
                return _not_signed_in(call, error)
            visit = Visit(
                call.request, call.services, call.interface, call.epoch, call.now_ms, session
            )
            if role is not None:
                ensure_role(session.role, role)
            response = await run(visit)
            if touch:
                await sessions.record_activity(
                    call.db, session=session, now_ms=call.now_ms, policy=call.interface.policy
                )
            return response
        except Exception as exc:
            viewer = None if visit is None else visit.session
            return error_page(call or _bare_call(request), exc, viewer=viewer)

    return _timed(respond)


def form(handler: FormHandler, *, role: Role | None) -> AsgiEndpoint:
    """A checked form whose handler writes through a service that keeps its own
    transaction (signing out)."""

    async def run(visit: Visit) -> Response:
        fields = await forms.checked_form(visit)
        return await handler(FormVisit(**_visit_fields(visit), form=fields))

    return _session_endpoint(run, role=role)


def _visit_fields(visit: Visit) -> dict[str, Any]:
    """A visit's fields, to build the visit of a form from it."""
    return {
        "request": visit.request,
        "services": visit.services,
        "interface": visit.interface,
        "epoch": visit.epoch,
        "now_ms": visit.now_ms,
        "session": visit.session,
    }


_SENT_AGAIN_CHANGED = (
    "This form was already sent with other values: reload the page and send it again"
)


def writing(handler: WriteHandler, *, role: Role | None) -> AsgiEndpoint:
    """A checked form that writes: one transaction, one `WriteContext`, and its one-time
    `form_key` as the write's idempotency key. Its handler answers where to go next (a
    303); a form sent again with the same key goes there again and writes nothing."""

    async def run(visit: Visit) -> Response:
        request = visit.request
        body = await request.body()  # kept by the request: the form is parsed from it
        fields = await forms.checked_form(visit)
        key = forms.form_key(fields)
        write = WriteContext.by(
            visit.principal, source=WRITE_SOURCE, now_ms=visit.now_ms, idempotency_key=key
        )
        fingerprint = idempotency.request_hash("POST", request.url.path, request.url.query, body)
        async with visit.db.transaction() as conn:
            stored = await idempotency.claim(conn, write, fingerprint, reused=_SENT_AGAIN_CHANGED)
            if stored is not None:
                return see_other(stored.body.decode())
            response = await handler(
                WriteVisit(**_visit_fields(visit), form=fields, conn=conn, write=write)
            )
            location = response.headers.get("location")
            assert response.status_code == 303 and location, "a form answers where to go next"
            await idempotency.keep(
                conn, write, fingerprint, status_code=303, body=location.encode()
            )
        return response

    return _session_endpoint(run, role=role)


def unmatched(pages: Callable[[], list[Route]]) -> AsgiEndpoint:
    """What answers under `/ui/` when no page matched: 405 with the methods of the page at
    this path, else 404; shown as pages like every other error of the interface."""

    async def handler(call: PageCall) -> Response:
        if call.request.url.path == "/ui/" and call.request.method in ("GET", "HEAD"):
            return see_other("/ui")
        scope = call.request.scope
        allowed = sorted(
            {
                method
                for route in pages()
                if route.matches(scope)[0] is Match.PARTIAL
                for method in route.methods or ()
            }
        )
        if allowed:
            raise MethodNotAllowed(headers={"Allow": ", ".join(allowed)})
        raise UnknownPath("Not found: there is no such page")

    return public(handler)
