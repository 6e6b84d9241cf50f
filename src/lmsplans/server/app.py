"""The app factory: one `Settings`, one database, one limiter, built at start-up; the
overdue sweep (`events.overdue`) runs beside the requests while the app does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Lifespan

from lmsplans.migrations import migrate
from lmsplans.server import openapi
from lmsplans.server.auth import routes as auth_routes
from lmsplans.server.cache import TaggedCache
from lmsplans.server.clock import Clock
from lmsplans.server.courses import routes as course_routes
from lmsplans.server.db import Database
from lmsplans.server.dispatch import SegmentRouter
from lmsplans.server.events import routes as event_routes
from lmsplans.server.events.overdue import sweep_forever
from lmsplans.server.http import Services
from lmsplans.server.learners import routes as learner_routes
from lmsplans.server.logs import AccessLog
from lmsplans.server.middleware import Metrics, RequestContextMiddleware
from lmsplans.server.ops import routes as ops_routes
from lmsplans.server.ops import startup
from lmsplans.server.plans import routes as plan_routes
from lmsplans.server.progress import routes as progress_routes
from lmsplans.server.protocol import ConnectionLimits
from lmsplans.server.ratelimit import InProcessLimiter, Limiter, RedisLimiter
from lmsplans.server.reads import gate_for
from lmsplans.server.routing import PageTable, RouteTable, allowed_methods, page_routes
from lmsplans.server.sessions.schemas import SessionPolicy
from lmsplans.server.sessions.service import Passwords
from lmsplans.server.settings import Settings
from lmsplans.server.ui import people as people_pages
from lmsplans.server.ui import plan_actions
from lmsplans.server.ui import plans as plan_pages
from lmsplans.server.ui import sign_in as sign_in_pages
from lmsplans.server.ui import updates as plan_updates
from lmsplans.server.ui.http import Interface
from lmsplans.server.ui.rendering import Site
from lmsplans.server.webhooks import routes as webhook_routes
from lmsplans.server.webhooks.runner import Webhooks

logger = logging.getLogger("lmsplans")


def route_tables() -> list[RouteTable]:
    """Every domain's route declarations, in the order they are matched."""
    return [
        progress_routes.routes,
        plan_routes.routes,
        learner_routes.routes,
        course_routes.routes,
        event_routes.routes,
        auth_routes.routes,
        webhook_routes.routes,
        ops_routes.routes,
    ]


def page_tables() -> list[PageTable]:
    """The interface's page declarations, in the order they are matched."""
    return [
        sign_in_pages.pages,
        plan_pages.pages,
        plan_updates.pages,
        plan_actions.pages,
        people_pages.pages,
    ]


def all_routes() -> list[BaseRoute]:
    return [*(route for table in route_tables() for route in table.routes()), *openapi.routes]


class Application(Starlette):
    """Starlette, with our request-context middleware as the whole middleware stack.

    That middleware answers every error in the documented envelope (`errors.response_for`),
    so Starlette's own error and exception layers would only add two hops to every request.
    """

    outermost: RequestContextMiddleware

    def __init__(self, *, routes: list[BaseRoute], lifespan: Lifespan[Starlette]) -> None:
        super().__init__(lifespan=lifespan)
        # Each request's route is searched among those of its path's first segment.
        self.router = SegmentRouter(routes, lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        return self.outermost


def make_limiter(settings: Settings, clock: Clock) -> Limiter:
    """Redis when configured (shared by every process), else this process's memory."""
    if settings.redis_url:
        return RedisLimiter.from_url(
            settings.redis_url,
            prefix=settings.redis_prefix + "rl:",
            threshold=settings.rate_limit_threshold,
            window_seconds=settings.rate_limit_window_seconds,
            lock_seconds=settings.rate_limit_lock_seconds,
        )
    return InProcessLimiter(
        threshold=settings.rate_limit_threshold,
        window_seconds=settings.rate_limit_window_seconds,
        lock_seconds=settings.rate_limit_lock_seconds,
        clock=clock.monotonic,
    )


def create_app(
    settings: Settings, *, clock: Clock | None = None, limiter: Limiter | None = None
) -> Starlette:
    """The ASGI app. The database is migrated and opened when the app starts (lifespan)."""
    clock = clock or Clock()
    metrics = Metrics()
    access_log = (
        AccessLog(json_lines=settings.log_format == "json") if settings.access_log else None
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(migrate, settings.database_url)
        db = await Database.open(settings.database_url, pool_size=settings.db_pool_size)
        active_limiter = limiter or make_limiter(settings, clock)
        cache = TaggedCache(max_entries=settings.cache_entries)
        db.follow(cache.invalidate)
        app.state.services = Services(
            settings=settings,
            db=db,
            limiter=active_limiter,
            clock=clock,
            cache=cache,
            reads=gate_for(db.dialect),
            stopping=asyncio.Event(),  # set by `serve`'s protocol layer (`protocol`)
        )
        await startup.announce(settings, db=db, limiter=active_limiter)
        # Webhook deliveries: sent by this process unless `lmsplans worker` sends them.
        app.state.webhooks = Webhooks(settings, db=db, clock=clock)
        await app.state.webhooks.start()
        sweeper = None
        if settings.overdue_sweep_seconds > 0:  # plan.enrollment.overdue (`events.overdue`)
            sweeper = asyncio.create_task(
                sweep_forever(db, clock, every_seconds=settings.overdue_sweep_seconds)
            )
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await app.state.webhooks.stop()
            if access_log is not None:
                access_log.flush()
            await db.close()
            if limiter is None:
                await active_limiter.close()

    routes = all_routes()
    site = Site()  # the interface's templates and static files, read from the package once
    pages = page_routes(page_tables())
    app = Application(routes=[*site.routes(), *pages, *routes], lifespan=lifespan)
    app.outermost = RequestContextMiddleware(
        app.router,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        access_log=access_log,
        allow=allowed_methods(app.router.routes),
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    # What `serve`'s protocol layer reads (`lmsplans.server.protocol`).
    app.state.connection_limits = ConnectionLimits(
        max_request_line_bytes=settings.max_request_line_bytes,
        max_headers=settings.max_headers,
        max_header_bytes=settings.max_header_bytes,
        header_timeout_seconds=settings.header_timeout_seconds,
    )
    app.state.metrics = metrics
    app.state.site = site
    app.state.interface = Interface(site=site, passwords=Passwords(), policy=SessionPolicy())
    app.state.openapi_json = openapi.document_json(routes)
    return app
