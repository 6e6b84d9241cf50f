"""What one write transaction changed, collected as it goes and written at its commit.

A service that writes says what it touched (`touch`) and, for the changes the feed
publishes, the event (`event`: its type, ids and a snapshot of what the write had in hand).
`Database.transaction` writes the collected rows last (`write_rows`); a transaction that
wrote but recorded nothing is a bug (`ChangesNotRecorded`), unless the write says there is
nothing any process keeps that it could make stale (`nothing_cached`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

if TYPE_CHECKING:
    from lmsplans.server.db import Connection

EVERYTHING = "*"  # the tag that drops every entry (a restored backup)

# The organisation-wide tag each family of events makes stale, beside its ids' own tags.
_EVENT_SCOPES = {
    "plan.enrollment": "enrolments",
    "course.progress": "enrolments",
    "plan": "plans",
    "learner": "people",
}


def tag(kind: str, value: object) -> str:
    """A cache tag: `learner:12`, `progress:12`, `plan:4`, `token:<hash>`, `people:3`..."""
    return f"{kind}:{value}"


def learner_kind(event_type: str) -> str:
    """Which of a learner's tags an event names: `learner` for the person (their role,
    status, names: what their tokens and records stand on), `progress` for where they
    stand (enrolments and course progress), so that recording progress, the commonest
    write, leaves the learner's tokens and record kept."""
    return "learner" if event_type.startswith("learner.") else "progress"


class ChangesNotRecorded(RuntimeError):
    """A transaction wrote but said nothing of what it changed: every process would keep
    answering what it read before. Record it (`ChangeLog.touch` / `event`), or say there is
    nothing kept to invalidate (`ChangeLog.nothing_cached`)."""


@dataclass(frozen=True, slots=True)
class Event:
    org_id: int
    event_type: str
    learner_id: int | None
    plan_id: int | None
    course_id: int | None
    data: dict[str, Any] | None
    occurred_ms: int

    def tags(self) -> list[str]:
        family = self.event_type.rpartition(".")[0]
        found = [
            tag(kind, value)
            for kind, value in (
                (learner_kind(self.event_type), self.learner_id),
                ("plan", self.plan_id),
                ("course", self.course_id),
            )
            if value is not None
        ]
        scope = _EVENT_SCOPES.get(family) or _EVENT_SCOPES.get(family.partition(".")[0])
        if scope is not None:
            found.append(tag(scope, self.org_id))
        return found


class ChangeLog:
    """The changes of one write transaction: tags by organisation (None: none's) and
    events, in the order the write made them."""

    __slots__ = ("_events", "_quiet", "_steps", "_tags")

    def __init__(self) -> None:
        self._tags: dict[int | None, set[str]] = {}
        self._events: list[Event] = []
        self._quiet = False
        self._steps: list[Callable[[Connection], Awaitable[None]]] = []

    def before_writing(self, step: Callable[[Connection], Awaitable[None]]) -> None:
        """Run `step` in the transaction once its writes are done, before the rows are
        written: an event's `data` completed with the state the write leaves
        (`events.snapshots`)."""
        self._steps.append(step)

    async def run_steps(self, conn: Connection) -> None:
        """The steps `before_writing` asked for, in order, each once."""
        while self._steps:
            await self._steps.pop(0)(conn)

    def touch(self, org_id: int | None, *tags: str) -> None:
        """Say that the write made stale whatever is kept under `tags`."""
        self._tags.setdefault(org_id, set()).update(tags)

    def event(
        self,
        org_id: int,
        event_type: str,
        *,
        occurred_ms: int,
        learner_id: int | None = None,
        plan_id: int | None = None,
        course_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Record one event of the catalogue (its ids' tags are touched with it)."""
        self._events.append(
            Event(org_id, event_type, learner_id, plan_id, course_id, data, occurred_ms)
        )

    def nothing_cached(self) -> None:
        """Say that this write changes nothing any process keeps (a new token, a sign-in
        link): it may commit without naming a tag (its row names none: every committed
        write leaves at least one row, so counting rows counts commits)."""
        self._quiet = True

    @property
    def recorded(self) -> bool:
        return bool(self._events) or any(self._tags.values()) or self._quiet

    def clear(self) -> None:
        self._tags.clear()
        self._events.clear()
        self._quiet = False
        self._steps.clear()

    def rows(self) -> list[dict[str, Any]]:
        """The rows to write, without `seq`: one per event (with its own tags), then one
        per organisation for the tags touched that no event of it already names."""
        now_ms = int(time.time() * 1000)
        rows: list[dict[str, Any]] = []
        named: dict[int | None, set[str]] = {}
        for event in self._events:
            tags = event.tags()
            named.setdefault(event.org_id, set()).update(tags)
            rows.append(
                {
                    "org_id": event.org_id,
                    "tags": orjson.dumps(tags).decode(),
                    "event_type": event.event_type,
                    "learner_id": event.learner_id,
                    "plan_id": event.plan_id,
                    "course_id": event.course_id,
                    "data": None if event.data is None else orjson.dumps(event.data).decode(),
                    "occurred_time": event.occurred_ms,
                }
            )
        if not rows and not any(self._tags.values()):  # `nothing_cached`: still a commit
            rows.append(_row(None, [], now_ms))
        for org_id, touched in self._tags.items():
            rest = sorted(touched - named.get(org_id, set()))
            if rest:
                rows.append(_row(org_id, rest, now_ms))
        return rows


def _row(org_id: int | None, tags: list[str], now_ms: int) -> dict[str, Any]:
    """A row that only names tags (none: a commit that changed nothing kept anywhere)."""
    return {
        "org_id": org_id,
        "tags": orjson.dumps(tags).decode(),
        "event_type": None,
        "learner_id": None,
        "plan_id": None,
        "course_id": None,
        "data": None,
        "occurred_time": now_ms,
    }


@dataclass(frozen=True, slots=True)
class OrgChanges:
    """A `ChangeLog` as one organisation's write sees it (`WriteContext.changes`)."""

    log: ChangeLog
    org_id: int
    now_ms: int

    def touch(self, kind: str, *values: object) -> None:
        """Touch `kind:value` for each value (`touch("learner", 12, 14)`)."""
        self.log.touch(self.org_id, *(tag(kind, value) for value in values))

    def touch_org(self, *kinds: str) -> None:
        """Touch the organisation-wide tags `kind:<org>` (`touch_org("people")`)."""
        self.log.touch(self.org_id, *(tag(kind, self.org_id) for kind in kinds))

    def event(
        self,
        event_type: str,
        *,
        learner_id: int | None = None,
        plan_id: int | None = None,
        course_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.log.event(
            self.org_id,
            event_type,
            occurred_ms=self.now_ms,
            learner_id=learner_id,
            plan_id=plan_id,
            course_id=course_id,
            data=data,
        )

    def nothing_cached(self) -> None:
        self.log.nothing_cached()


_CURRENT: ContextVar[ChangeLog | None] = ContextVar("lmsplans_change_log", default=None)


def current_log() -> ChangeLog:
    """The log of the write transaction this task is in (`Database.transaction`)."""
    log = _CURRENT.get()
    if log is None:
        raise RuntimeError("a write outside any transaction: there is no change log to record in")
    return log


@contextmanager
def collecting(log: ChangeLog) -> Iterator[ChangeLog]:
    """Make `log` the current one (`current_log`) for the block: a transaction's body."""
    token = _CURRENT.set(log)
    try:
        yield log
    finally:
        _CURRENT.reset(token)
        log.clear()


_NEXT_SEQ = """INSERT INTO change_sequences (org_id, last_seq) VALUES (:org_id, :count)
ON CONFLICT (org_id) DO UPDATE SET last_seq = change_sequences.last_seq + excluded.last_seq
RETURNING last_seq"""

_INSERT = """INSERT INTO changes (org_id, seq, tags, event_type, learner_id, plan_id,
                                  course_id, data, occurred_time)
VALUES (:org_id, :seq, :tags, :event_type, :learner_id, :plan_id, :course_id, :data,
        :occurred_time)"""


class Publisher(Protocol):
    """What hears of the events a transaction writes, in that transaction, with their ids
    (the webhooks' outbox, `webhooks.service.publish`): rows of `changes` with an event
    type, as the INSERT that stored them answers them. `returning` adds columns to that
    answer (SQL over the row stored, e.g. whether its organisation has a subscriber), so
    that what the publisher asks of every write costs no statement of its own."""

    returning: str

    async def __call__(self, conn: Connection, events: list[Any], /) -> None: ...


_COLUMNS = (
    "org_id",
    "seq",
    "tags",
    "event_type",
    "learner_id",
    "plan_id",
    "course_id",
    "data",
    "occurred_time",
)


# Rows a statement inserts at most: both drivers bound a statement's parameters (asyncpg
# and SQLite at 32,767), and an import writes thousands of changes in one transaction.
_ROWS_PER_STATEMENT = 500


async def _insert(conn: Connection, rows: list[dict[str, Any]], publish: Publisher | None) -> None:
    """Insert the rows; with a `publish`er and events among them, by statements that
    answer the events as stored (their ids are the feed's), which `publish` then gets."""
    if publish is None or not any(row["event_type"] for row in rows):
        await conn.execute_many(_INSERT, rows)
        return
    stored: list[Any] = []
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        part = rows[start : start + _ROWS_PER_STATEMENT]
        values = ", ".join(
            "(" + ", ".join(f":{column}_{index}" for column in _COLUMNS) + ")"
            for index in range(len(part))
        )
        params = {
            f"{column}_{index}": row[column]
            for index, row in enumerate(part)
            for column in _COLUMNS
        }
        stored += await conn.fetch_all(
            f"""INSERT INTO changes ({", ".join(_COLUMNS)}) VALUES {values}
                RETURNING id, org_id, event_type, learner_id, plan_id, course_id, data,
                          occurred_time, {publish.returning}""",
            params,
        )
    await publish(conn, [row for row in stored if row["event_type"] is not None])


async def write_rows(
    conn: Connection,
    log: ChangeLog,
    *,
    numbered_at_commit: bool,
    publish: Publisher | None = None,
) -> None:
    """Write `log`'s rows, last in the transaction. Raises `ChangesNotRecorded` for a write
    that recorded nothing.

    Each organisation's rows are numbered from its `change_sequences` row, whose lock
    orders the organisation's commits: here (updated once per organisation, in id order,
    so two writers never wait on each other crosswise) when the storage has one writer at
    a time (SQLite), or at commit by the database itself (`numbered_at_commit`:
    PostgreSQL's deferred trigger, migration 0008), so that the lock is never held across
    a round trip. The events among the rows go to `publish`, in the same transaction."""
    await log.run_steps(conn)
    if not log.recorded:
        raise ChangesNotRecorded(ChangesNotRecorded.__doc__)
    rows = log.rows()
    if numbered_at_commit:
        for row in rows:
            row["seq"] = None
        await _insert(conn, rows, publish)
        return
    counts: dict[int, int] = {}
    for row in rows:
        if row["org_id"] is not None:
            counts[row["org_id"]] = counts.get(row["org_id"], 0) + 1
    next_seq: dict[int, int] = {}
    for org_id in sorted(counts):
        last = int(await conn.fetch_value(_NEXT_SEQ, {"org_id": org_id, "count": counts[org_id]}))
        next_seq[org_id] = last - counts[org_id] + 1
    for row in rows:
        org_id = row["org_id"]
        if org_id is None:
            row["seq"] = None
        else:
            row["seq"] = next_seq[org_id]
            next_seq[org_id] += 1
    if rows:
        await _insert(conn, rows, publish)
