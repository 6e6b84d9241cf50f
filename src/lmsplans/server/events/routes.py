"""The change feed: `GET /api/v1/events`, for admins."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.errors import InvalidParameter, LimitExceeded
from lmsplans.server.events import service
from lmsplans.server.events.schemas import EventsPage
from lmsplans.server.http import Call
from lmsplans.server.openapi import Param
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import ok

routes = RouteTable(tags=("Events",))


@routes.get(
    "/api/v1/events",
    role=Role.ADMIN,
    response=EventsPage,
    params=(
        Param(
            "after",
            Annotated[str, Field(pattern=service.CURSOR_PATTERN)],
            "A `nextCursor` of an earlier answer: the events committed after it. Without"
            " it, the oldest kept event first; `latest`: only those committed from now on.",
        ),
        Param(
            "types",
            Annotated[str, Field(pattern=service.TYPES_PATTERN)],
            "Only these event types: a comma-separated list, where `*` stands for any part"
            " of a name (`plan.enrollment.*`, `*.completed`).",
        ),
        Param(
            "limit",
            Annotated[int, Field(ge=1, le=service.MAX_LIMIT)],
            f"At most this many events, from 1 to {service.MAX_LIMIT}; above is 422 7021.",
            default=service.DEFAULT_LIMIT,
        ),
        Param(
            "wait",
            Annotated[int, Field(ge=0, le=service.MAX_WAIT_SECONDS)],
            f"When there is no event yet, wait up to this many seconds (0 to"
            f" {service.MAX_WAIT_SECONDS}) for one to be committed.",
            default=0,
        ),
    ),
    errors=(InvalidParameter, LimitExceeded),
)
async def read_events(call: Call) -> Response:
    """The organisation's events, in commit order

    Admins only. Each committed change a user would care about is an event of the
    organisation; they are answered in the order their writes committed, whichever server
    process made them, and a reader that goes on from each answer's `nextCursor` (`after=`)
    sees every event exactly once. `nextCursor` moves on even when no event is answered; keep
    it. With `wait`, an answer without events comes only when that time has passed, or
    at once when the server is stopping.
    """
    org_id = call.principal.org_id
    after = call.query("after")
    if after == service.LATEST:
        cursor = await service.latest_cursor(call.db, org_id=org_id)
    elif after is None:
        cursor = service.Cursor(org_id, 0)
    else:
        cursor = service.Cursor.decode(after, org_id=org_id)
    types = service.parse_types(call.query("types"))
    limit = service.parse_limit(call.query("limit"))
    wait = service.bounded_int(
        call.query("wait"), "wait", low=0, high=service.MAX_WAIT_SECONDS, default=0
    )
    page = await service.read_feed(
        call.db,
        call.services.cache,
        cursor=cursor,
        types=types,
        limit=limit,
        wait_seconds=wait,
        stopping=call.services.stopping,
    )
    return ok(
        {
            "events": page.events,
            "nextCursor": page.next_cursor.encode(),
            "isNextAvailable": page.more,
        },
        "Events fetched successfully",
    )
