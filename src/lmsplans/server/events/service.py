"""The feed's decisions: what a cursor means, which types a filter names, and waiting for
the next event without holding a connection."""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import anyio

from lmsplans.server.cache import TaggedCache
from lmsplans.server.db import Database
from lmsplans.server.errors import InvalidParameter, LimitExceeded
from lmsplans.server.events import queries
from lmsplans.server.events.schemas import EVENT_TYPES
from lmsplans.server.wire import MAX_INT64

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_WAIT_SECONDS = 30
# How often a waiting reader looks for a new commit: each look is the process's cheap
# catch-up with the change log (on SQLite a read of the WAL index), and only a commit
# seen there costs a query of the feed.
POLL_SECONDS = 0.1
# ... and reads it anyway this often (in looks), should a commit name no cache tag.
FULL_READ_EVERY = 10

LATEST = "latest"  # `after=latest`: the end of the feed as it is when asked
_CURSOR_PREFIX = "c1."
_TYPE_PATTERN = re.compile(r"[a-z*]+(\.[a-z*]+)*")
# What `after` and `types` look like, as the description says (the checks below decide).
CURSOR_PATTERN = r"^(latest|c1\.[A-Za-z0-9_-]{1,77})$"
TYPES_PATTERN = r"^ *[a-z*]+(\.[a-z*]+)* *(, *[a-z*]+(\.[a-z*]+)* *)*$"


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in one organisation's feed: after its change numbered `seq`. Opaque on the
    wire (`encode`), so its form may change; a cursor of another organisation is refused."""

    org_id: int
    seq: int

    def encode(self) -> str:
        raw = f"{self.org_id}:{self.seq}".encode()
        return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(text: str, *, org_id: int) -> Cursor:
        """The cursor `text` (`after=`) of the organisation `org_id`; 400 7204 otherwise."""
        if not text.startswith(_CURSOR_PREFIX) or len(text) > 80:
            raise InvalidParameter("after", "is not a cursor of this feed")
        body = text.removeprefix(_CURSOR_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidParameter("after", "is not a cursor of this feed") from None
        org, _, seq = raw.partition(":")
        if not (org.isdigit() and seq.isdigit() and org.isascii() and seq.isascii()):
            raise InvalidParameter("after", "is not a cursor of this feed")
        if int(org) != org_id or int(seq) > MAX_INT64:
            raise InvalidParameter("after", "is not a cursor of this organisation's feed")
        return Cursor(org_id, int(seq))


def parse_types(text: str | None) -> frozenset[str] | None:
    """The event types `types=` names (a comma list; `*` stands for any part of a name:
    `plan.enrollment.*`, `*.completed`); None: every type. 400 7204 for an entry that is
    not a name or names no type of the catalogue."""
    if text is None:
        return None
    entries = [entry.strip() for entry in text.split(",")]
    if not entries or any(not entry for entry in entries):
        raise InvalidParameter("types", "must be a comma-separated list of event types")
    chosen: set[str] = set()
    for entry in entries:
        if len(entry) > 64 or not _TYPE_PATTERN.fullmatch(entry):
            raise InvalidParameter("types", f"{entry[:64]!r} is not an event type")
        if entry == "*":
            return None
        matched = [name for name in EVENT_TYPES if fnmatch.fnmatchcase(name, entry)]
        if not matched:
            raise InvalidParameter("types", f"{entry!r} matches no event type")
        chosen.update(matched)
    return frozenset(chosen)


def bounded_int(text: str | None, name: str, *, low: int, high: int, default: int) -> int:
    """An integer query parameter from `low` to `high` (400 7204 otherwise)."""
    if text is None:
        return default
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 4 or not low <= int(value) <= high:
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    return int(value)


async def latest_cursor(db: Database, *, org_id: int) -> Cursor:
    """The cursor after the organisation's newest committed change."""
    async with db.read() as conn:
        return Cursor(org_id, await queries.last_seq(conn, org_id=org_id))


def parse_limit(text: str | None) -> int:
    """`limit=` as every list reads it: 1 to 100 (400 7204), above 100 is 422 7021."""
    value = (text or "").strip()
    if value.isascii() and value.isdigit() and (len(value) > 3 or int(value) > MAX_LIMIT):
        raise LimitExceeded(
            f"Maximum limit exceeded: limit may be at most {MAX_LIMIT}",
            errors=[{"field": "limit", "message": f"must be at most {MAX_LIMIT}"}],
        )
    return bounded_int(text, "limit", low=1, high=MAX_LIMIT, default=DEFAULT_LIMIT)


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[dict[str, Any]]
    next_cursor: Cursor
    more: bool


async def read_page(
    db: Database, *, cursor: Cursor, types: frozenset[str] | None, limit: int
) -> FeedPage:
    """The events after `cursor`, at most `limit`.

    The newest number is read first, then the events up to it: numbers are given in
    commit order (`lmsplans.server.changes`), so every row up to that number has committed
    and is seen by the second read. Without a full page, the cursor moves on to that number,
    past the rows that are not events (or not of `types`), so a reader never reads them
    again.
    """
    async with db.read() as conn:
        newest = await queries.last_seq(conn, org_id=cursor.org_id)
        rows = await queries.events_after(
            conn,
            org_id=cursor.org_id,
            after_seq=cursor.seq,
            up_to_seq=newest,
            types=types,
            limit=limit + 1,
        )
    if cursor.seq > newest:  # a number the organisation has not reached: not ours
        raise InvalidParameter("after", "is not a cursor of this organisation's feed")
    more = len(rows) > limit
    rows = rows[:limit]
    last = int(rows[-1]["seq"]) if more else newest
    return FeedPage([queries.event_record(row) for row in rows], Cursor(cursor.org_id, last), more)


async def read_feed(
    db: Database,
    cache: TaggedCache,
    *,
    cursor: Cursor,
    types: frozenset[str] | None,
    limit: int,
    wait_seconds: int,
    stopping: asyncio.Event,
) -> FeedPage:
    """`read_page`, waiting up to `wait_seconds` for an event when there is none yet.

    While it waits it holds no connection: every `POLL_SECONDS` it catches up with the
    change log as every request does (`Database.catch_up`), and reads the feed again only
    when that saw a commit (the cache's epoch moved), whichever process made it, or
    after `FULL_READ_EVERY` looks. When the server begins to stop (`stopping`), it answers
    what it has at once (no events, and the cursor to go on from), so that a stop never
    waits for the long polls.
    """
    epoch = cache.epoch  # noted before the read: a commit it misses moves the epoch later
    page = await read_page(db, cursor=cursor, types=types, limit=limit)
    if page.events or wait_seconds <= 0:
        return page
    with anyio.move_on_after(wait_seconds):
        while not page.events and not stopping.is_set():
            for _ in range(FULL_READ_EVERY):
                with anyio.move_on_after(POLL_SECONDS):
                    await stopping.wait()
                await db.catch_up()
                if cache.epoch != epoch or stopping.is_set():
                    break
            epoch = cache.epoch
            page = await read_page(db, cursor=page.next_cursor, types=types, limit=limit)
    return page
