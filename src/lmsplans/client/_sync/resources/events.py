# Generated from src/lmsplans/client/_async/resources/events.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""`client.events`: the organisation's change feed (`GET /api/v1/events`), followed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from lmsplans.client._endpoints import EVENTS
from lmsplans.client._errors import LmsPlansError
from lmsplans.client._models import Event
from lmsplans.client._sync.pager import Resource

if TYPE_CHECKING:
    from lmsplans.client._sync.client import Client

__all__ = ["EventFeed", "Events"]

MAX_WAIT = 30  # the longest long poll the server takes, in seconds
_SLACK = 15.0  # more than the wait for the answer of a long poll, in seconds


class EventFeed:
    """The events after a cursor, in commit order, as an async iterator.

    It reads a page at a time (`limit` events) and goes on from each answer's `nextCursor`;
    caught up, it long-polls (`wait` seconds a call) for the next event, for ever, or, with
    `follow=False`, stops. `cursor` is where to go on from next time: it moves once every
    event of a page has been handed out, so a loop that stops between two pages misses
    nothing and one that stops in the middle of a page sees the rest of that page again.
    """

    def __init__(
        self,
        client: Client,
        *,
        after: str | None,
        types: str | None,
        wait: int,
        limit: int,
        follow: bool,
    ) -> None:
        if not 0 <= wait <= MAX_WAIT:
            raise LmsPlansError(f"wait must be from 0 to {MAX_WAIT} seconds")
        if not 1 <= limit <= 100:
            raise LmsPlansError("limit must be from 1 to 100")
        self._client = client
        self.cursor = after
        self._types = types
        self._wait = wait
        self._limit = limit
        self._follow = follow

    def __iter__(self) -> Iterator[Event]:
        more = True
        while True:
            params = {"limit": str(self._limit)}
            if self.cursor is not None:
                params["after"] = self.cursor
            if self._types is not None:
                params["types"] = self._types
            waiting = self._follow and not more and self._wait > 0
            if waiting:
                params["wait"] = str(self._wait)
            body = self._client._call(
                EVENTS, EVENTS.template, params=params, read_seconds=self._wait + _SLACK
            )
            for raw in body.get("events") or []:
                yield Event.from_raw(raw)
            next_cursor = body.get("nextCursor")
            if not isinstance(next_cursor, str) or not next_cursor:
                raise LmsPlansError("unexpected answer: no nextCursor")
            self.cursor = next_cursor
            more = bool(body.get("isNextAvailable"))
            if not more and not self._follow:
                return


class Events(Resource):
    """The change feed: every event of the organisation, in commit order (admins only)."""

    def iter(
        self,
        *,
        after: str | None = None,
        types: str | Iterable[str] | None = None,
        wait: int = MAX_WAIT,
        limit: int = 100,
        follow: bool = True,
    ) -> EventFeed:
        """The events after the cursor `after` (None: from the oldest kept), GET
        /api/v1/events: `types` a comma list or names (`*` wildcards: `plan.enrollment.*`);
        caught up, it long-polls `wait` seconds a call for the next (`follow=False`: it
        stops). Its `cursor` is where to resume from."""
        chosen = types if types is None or isinstance(types, str) else ",".join(types)
        return EventFeed(
            self._client, after=after, types=chosen, wait=wait, limit=limit, follow=follow
        )
