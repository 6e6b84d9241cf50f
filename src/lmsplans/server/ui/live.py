"""Live updates: the plans list and the plan report change by themselves while progress is
recorded elsewhere (`ui.updates` answers them).

A live page holds a region (`#plans-live`, `#report-live`) and an empty poller that htmx
fires every `LIVE_SECONDS` with the state the page shows (`since`): the organisation's
position in its change sequence when it was drawn (`position`, read before drawing), the
moment until which the clock alone cannot change its counts (the next due time: an enrolment
past it becomes overdue), and a digest of what the region shows. The answer is as small as
the change:

- the same position, and that moment not passed: 204, nothing read but the position
  (one row; the session comes from the cache), nothing swapped;
- something was written, or the moment passed, but the region would read the same: the
  poller alone, with its new `since` (a few hundred bytes);
- the region changed: its new content and the poller, both swapped out of band, and an
  `HX-Trigger` event the page's other lists listen to (`report-changed`).

What the region shows is drawn from the same kept roster and tallies as the page, so a poll
after a write costs what opening the page again from the cache costs, once per person and
change of the organisation's (another organisation's writes move nothing here). Polls are
not the person's activity (`PageTable.poll`). Without JavaScript the poller is inert and the
page is complete as sent."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.responses import Response

from lmsplans.server.events.queries import last_seq
from lmsplans.server.ui.http import PageCall, Visit

_SINCE = re.compile(r"(\d{1,18})\.(\d{1,18}|-)\.([0-9a-f]{0,32})\.(\d{1,18})")
_DIGEST_LENGTH = 20  # hex digits of SHA-256 kept: a changed region shows as changed


@dataclass(frozen=True, slots=True)
class Since:
    """The state a live page shows: `version` (the organisation's `position`), `until_ms`
    (None: the clock alone never changes it), `digest` (of its region; empty: unknown) and
    `drawn_ms`, when it was drawn."""

    version: int
    until_ms: int | None
    digest: str
    drawn_ms: int

    @classmethod
    def parse(cls, raw: str | None) -> Since | None:
        """The `since` a poller sent; None for anything else (the answer is then the whole
        region, as for a page that knows nothing: the parameter is only a hint)."""
        found = _SINCE.fullmatch(raw or "")
        if found is None:
            return None
        version, until, digest, drawn = found.groups()
        return cls(int(version), None if until == "-" else int(until), digest, int(drawn))

    def text(self) -> str:
        until = "-" if self.until_ms is None else str(self.until_ms)
        return f"{self.version}.{until}.{self.digest}.{self.drawn_ms}"

    def holds(self, version: int, now_ms: int, *, redraw_ms: int = 0) -> bool:
        """Whether a page at this state still shows what it would show now, or was drawn
        less than `redraw_ms` ago (a region dear to draw is drawn again at most that
        often, whatever was written meanwhile)."""
        if now_ms - self.drawn_ms < redraw_ms:
            return True
        return self.version == version and (self.until_ms is None or now_ms <= self.until_ms)


async def position(visit: Visit) -> int:
    """The visitor's organisation's position in its change sequence: read before a region
    is drawn, so a change committed while drawing shows as a change at the next poll. The
    process then catches up with the change log again, so that what the cache gives the
    drawing holds every change the position counts."""
    async with visit.db.read() as conn:
        found = await last_seq(conn, org_id=visit.principal.org_id)
    await visit.db.catch_up()
    return found


def next_change(dues: Sequence[int], now_ms: int) -> int | None:
    """The last moment the overdue count of these sorted due times holds (the first due
    time not yet passed: the overdue are those due before now), None if none is left."""
    index = bisect.bisect_left(dues, now_ms)
    return dues[index] if index < len(dues) else None


def earliest(moments: Sequence[int | None]) -> int | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


@dataclass(frozen=True, slots=True)
class LivePart:
    """A region's content, drawn, and its digest."""

    content: Markup
    digest: str


def draw(
    call: PageCall, template: str, context: dict[str, Any], *, beside: object = None
) -> LivePart:
    """The region `template` draws, with the digest of it and of `beside` (what the page's
    other lists show, e.g. `plans.roster_fingerprint`: a change there is a change too)."""
    html = call.site.render(template, context)
    digest = hashlib.sha256(f"{html}\0{beside!r}".encode()).hexdigest()[:_DIGEST_LENGTH]
    # Drawn by an autoescaping template: safe to put in the page as it is.
    return LivePart(Markup(html), digest)  # noqa: S704


def live_url(path: str, since: Since) -> str:
    return f"{path}?since={since.text()}"


def unchanged() -> Response:
    """Nothing to swap: the page shows what it would show now."""
    return Response(status_code=204, headers={"cache-control": "no-store", "vary": "HX-Request"})


def update(
    call: PageCall,
    since: Since | None,
    part: LivePart,
    *,
    version: int,
    region: str,
    poller: str,
    path: str,
    until_ms: int | None,
    event: str | None = None,
) -> Response:
    """The answer to a poll that found a new position (`version`, read before `part` was
    drawn) or a passed moment: the poller with its new state, and the region when it
    changed (then `event` is triggered)."""
    changed = since is None or since.digest != part.digest
    state = Since(version, until_ms, part.digest, call.now_ms)
    response = call.render(
        "_live.html",
        {
            "region": region,
            "content": part.content if changed else None,
            "poll_id": poller,
            "live_url": live_url(path, state),
        },
    )
    if changed and event is not None:
        response.headers["hx-trigger"] = event
    return response
