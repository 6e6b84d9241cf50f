"""Route declarations: each route declared once, beside its handler.

A domain's `routes.py` makes one `RouteTable` and decorates each handler with its method
and path, what it answers and which errors it raises (those of paging, a payload and the
role are added), the role its caller needs and, where it is not the method's own, the
scope its token needs. The handler's docstring is the
operation's summary (its first line) and description (the rest, its paragraphs
unwrapped). Every route is authenticated unless it is declared with `public_get` or
`public_post`, the reviewed opt-out:

    routes = RouteTable(tags=("Courses",))

    @routes.delete("/api/v1/courses/{courseId}", role=Role.ADMIN, response=CourseOne,
                   errors=(NoSuchRecord, Conflict))
    async def delete_course(call: WriteCall) -> Response:
        \"""Delete a course

        Admins only; ...
        \"""

A declaration is plain data (`Declaration`): the app factory turns the tables into
Starlette routes (`RouteTable.routes`) and the OpenAPI description is built from them.

The interface's pages are declared the same way, with a `PageTable` (a session instead of
a token, a page instead of JSON; `lmsplans.server.ui.http` runs them):

    pages = PageTable()

    @pages.get("/ui/plans/{planId}", role=Role.MANAGER)
    async def plan_report(visit: Visit) -> Response: ...
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from starlette.routing import BaseRoute, Route

from lmsplans.server.auth.schemas import Operation, Role
from lmsplans.server.errors import ApiError, InvalidParameter, MissingParameter, PermissionDenied
from lmsplans.server.http import (
    AsgiEndpoint,
    Handler,
    PublicHandler,
    WriteHandler,
    authenticated,
    public,
    transactional,
    with_role,
)
from lmsplans.server.openapi import PAGING_ERRORS, DocumentedRoute, OperationDoc, paging
from lmsplans.server.ui import http as ui_http

H = TypeVar("H", bound=Callable[..., Any])
ReadH = TypeVar("ReadH", bound=Handler)
WriteH = TypeVar("WriteH", bound=WriteHandler)
PublicH = TypeVar("PublicH", bound=PublicHandler)


# The scope a write needs unless its declaration names another.
_WRITE_SCOPES = {
    "POST": Operation.CREATE,
    "PUT": Operation.UPDATE,
    "PATCH": Operation.UPDATE,
    "DELETE": Operation.DELETE,
}


def allowed_methods(routes: Iterable[BaseRoute]) -> dict[str, str]:
    """Each path template's methods, for the `Allow` field of a 405: a path is served by one
    route per method, and a wrong method must hear about all of them, not one."""
    methods: dict[str, set[str]] = defaultdict(set)
    for route in routes:
        if isinstance(route, Route) and route.methods:
            methods[route.path] |= route.methods
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


def docstring_parts(handler: Callable[..., Any]) -> tuple[str, str]:
    """A handler's summary (its docstring's first line) and description (the rest: each
    paragraph on one line, paragraphs apart)."""
    text = inspect.cleandoc(handler.__doc__ or "")
    summary, _, rest = text.partition("\n")
    paragraphs = [" ".join(p.split()) for p in rest.strip().split("\n\n") if p.strip()]
    return summary.strip(), "\n\n".join(paragraphs)


@dataclass(frozen=True, slots=True)
class Declaration:
    """One route as declared: who may call it and what it answers."""

    method: str
    path: str
    handler: Callable[..., Any]
    name: str
    doc: OperationDoc
    scope: Operation | None  # the token scope it needs; None: a public route
    role: Role | None = None  # the least role its caller needs; None: any role
    write: bool = False  # run in one transaction, with a WriteContext and Idempotency-Key
    first_index: int | None = None  # a paged list: its first `startIndex` (0 or 1)

    def route(self) -> Route:
        """The Starlette route that serves this declaration."""
        if self.scope is None:
            endpoint = public(self.handler)
        else:
            handler: Handler = transactional(self.handler) if self.write else self.handler
            if self.role is not None:
                handler = with_role(handler, self.role)
            endpoint = authenticated(
                handler,
                api=f"{self.method} {self.path}",
                operation=self.scope,
                first_index=self.first_index,
            )
        return DocumentedRoute(
            self.path,
            endpoint,
            methods=[self.method],
            name=self.name,
            doc=self.doc,
            scope=self.scope,
        )


class _Declared(Protocol):
    def route(self) -> Route: ...


DeclarationT = TypeVar("DeclarationT", bound=_Declared)


@dataclass
class _Table(Generic[DeclarationT]):
    """Declarations, in the order they are declared, and the routes that serve them."""

    declarations: list[DeclarationT] = field(default_factory=list)
    _built: list[Route] | None = None

    def routes(self) -> list[Route]:
        """The Starlette routes, built once (the OpenAPI description is cached by them)."""
        if self._built is None:
            self._built = [declaration.route() for declaration in self.declarations]
        return self._built


@dataclass
class RouteTable(_Table[Declaration]):
    """One domain's routes, in the order they are declared."""

    tags: tuple[str, ...] = field(kw_only=True)

    def _declare(
        self,
        method: str,
        path: str,
        *,
        scope: Operation | None,
        role: Role | None,
        write: bool,
        name: str | None,
        doc: dict[str, Any],
    ) -> Callable[[H], H]:
        def register(handler: H) -> H:
            summary, description = docstring_parts(handler)
            errors: tuple[type[ApiError], ...] = doc.pop("errors", ())
            first_index = doc.pop("paging", None)
            if first_index is not None:  # startIndex and limit, and their errors
                doc["params"] = (*paging(first_index), *doc.get("params", ()))
                errors = (*errors, *PAGING_ERRORS)
            if doc.get("payload") is not None:  # a payload that may be missing or bad
                errors = (*errors, MissingParameter, InvalidParameter)
            if role is not None:
                errors = (*errors, PermissionDenied)
            errors = tuple(dict.fromkeys(errors))
            self.declarations.append(
                Declaration(
                    method,
                    path,
                    handler,
                    name or handler.__name__,
                    OperationDoc(
                        summary,
                        description=description,
                        tags=self.tags,
                        errors=errors,
                        idempotent=write,
                        **doc,
                    ),
                    scope,
                    role,
                    write,
                    first_index,
                )
            )
            return handler

        return register

    def get(
        self, path: str, *, role: Role | None = None, name: str | None = None, **doc: Any
    ) -> Callable[[ReadH], ReadH]:
        """An authenticated read (scope READ). `doc` holds `OperationDoc`'s fields, and
        `paging` the first `startIndex` of a paged list (0 or 1, as `params.page_of`)."""
        return self._declare(
            "GET", path, scope=Operation.READ, role=role, write=False, name=name, doc=doc
        )

    def write(
        self,
        method: str,
        path: str,
        *,
        scope: Operation | None = None,
        role: Role | None = None,
        name: str | None = None,
        **doc: Any,
    ) -> Callable[[WriteH], WriteH]:
        """An authenticated write: transactional and idempotent, needing `scope` (by
        default the method's own: POST CREATE, PUT and PATCH UPDATE, DELETE DELETE)."""
        return self._declare(
            method,
            path,
            scope=scope or _WRITE_SCOPES[method],
            role=role,
            write=True,
            name=name,
            doc=doc,
        )

    def post(self, path: str, **kwargs: Any) -> Callable[[WriteH], WriteH]:
        return self.write("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[WriteH], WriteH]:
        return self.write("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[WriteH], WriteH]:
        return self.write("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[WriteH], WriteH]:
        return self.write("DELETE", path, **kwargs)

    def public_get(self, path: str, **doc: Any) -> Callable[[PublicH], PublicH]:
        """A read without a token: the explicit opt-out."""
        return self._declare("GET", path, scope=None, role=None, write=False, name=None, doc=doc)

    def public_post(self, path: str, **doc: Any) -> Callable[[PublicH], PublicH]:
        """A write without a token (OAuth): the explicit opt-out; the handler opens its own
        transaction."""
        return self._declare("POST", path, scope=None, role=None, write=False, name=None, doc=doc)


# --- The pages of the interface -------------------------------------------------------------

PageKind = Literal["page", "poll", "form", "write", "public"]
PageH = TypeVar("PageH", bound=Callable[..., Any])
UNMATCHED_PAGE = "/ui/{rest:path}"


@dataclass(frozen=True, slots=True)
class PageDeclaration:
    """One page or form of the interface, as declared: who may open it and how it runs
    (`lmsplans.server.ui.http`). Pages are for people: no token, no OpenAPI operation."""

    method: str
    path: str
    handler: Callable[..., Any]
    name: str
    kind: PageKind
    role: Role | None  # the least role the signed-in person needs; None: any role

    def route(self) -> Route:
        """The Starlette route that serves this declaration."""
        endpoint: AsgiEndpoint
        if self.kind == "public":
            endpoint = ui_http.public(self.handler)
        elif self.kind == "page":
            endpoint = ui_http.signed_in(self.handler, role=self.role)
        elif self.kind == "poll":
            endpoint = ui_http.signed_in(self.handler, role=self.role, touch=False)
        elif self.kind == "form":
            endpoint = ui_http.form(self.handler, role=self.role)
        else:
            endpoint = ui_http.writing(self.handler, role=self.role)
        return Route(
            self.path, endpoint, methods=[self.method], name=self.name, include_in_schema=False
        )


@dataclass
class PageTable(_Table[PageDeclaration]):
    """Pages of the interface, in the order they are declared (the counterpart of
    `RouteTable` for people: a session instead of a token). Every page needs a signed-in
    person unless declared with `public_get` or `public_post`, the reviewed opt-out."""

    def _declare(
        self, method: str, path: str, kind: PageKind, role: Role | None
    ) -> Callable[[PageH], PageH]:
        def register(handler: PageH) -> PageH:
            self.declarations.append(
                PageDeclaration(method, path, handler, f"ui_{handler.__name__}", kind, role)
            )
            return handler

        return register

    def get(self, path: str, *, role: Role | None = None) -> Callable[[PageH], PageH]:
        """A page (`ui.http.Visit`) for a signed-in person holding `role` or above."""
        return self._declare("GET", path, "page", role)

    def poll(self, path: str, *, role: Role | None = None) -> Callable[[PageH], PageH]:
        """What a page asks for by itself every few seconds (`ui.live`): as `get`, but not
        the person's activity (`ui.http.signed_in`, `touch=False`)."""
        return self._declare("GET", path, "poll", role)

    def post(self, path: str, *, role: Role | None = None) -> Callable[[PageH], PageH]:
        """A form that writes (`ui.http.WriteVisit`): checked, one transaction, one
        `WriteContext`, idempotent by its one-time key; it answers where to go next."""
        return self._declare("POST", path, "write", role)

    def form(self, path: str, *, role: Role | None = None) -> Callable[[PageH], PageH]:
        """A checked form (`ui.http.FormVisit`) whose service keeps its own transaction."""
        return self._declare("POST", path, "form", role)

    def public_get(self, path: str) -> Callable[[PageH], PageH]:
        """A page without a session (`ui.http.PageCall`): signing in."""
        return self._declare("GET", path, "public", None)

    def public_post(self, path: str) -> Callable[[PageH], PageH]:
        """A form without a session: signing in. Its handler checks it
        (`ui.http.checked_public_form`)."""
        return self._declare("POST", path, "public", None)


_ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def page_routes(tables: list[PageTable]) -> list[Route]:
    """The pages' routes, then what answers, as a page, a method `/ui` does not take and
    any other path under `/ui/` (405 naming the methods of the page there, or 404)."""
    pages = [route for table in tables for route in table.routes()]
    unmatched = ui_http.unmatched(lambda: pages)
    home_methods = {m for route in pages if route.path == "/ui" for m in route.methods or ()}
    return [
        *pages,
        Route(
            "/ui",
            unmatched,
            methods=[method for method in _ANY_METHOD if method not in home_methods],
            name="ui_home_unmatched",
            include_in_schema=False,
        ),
        Route(
            UNMATCHED_PAGE,
            unmatched,
            methods=list(_ANY_METHOD),
            name="ui_unmatched",
            include_in_schema=False,
        ),
    ]
