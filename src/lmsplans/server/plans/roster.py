"""A plan's roster: the enrolled learners a reader may see, each with where they stand.

The API's roster (`GET /api/v1/learning-plans/{planId}/learners`) and the plan report page
both read it here (`read_roster`), so their counts are the same by construction. It takes
three statements whatever the plan's size: the plan's courses, its enrolments with their
learners, and those learners' progress in its courses, kept per learner as two bit masks
(completed, started); a plan of 10,000 learners reads in tens of milliseconds, where one
statement with correlated counts per enrolment took several times longer. Statuses, due
times and percentages follow `progress.rules`. Only "overdue" moves with the clock, so a
`Roster` is read once and asked about any moment (`summary`, `matching`, `overdue`).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.learners.queries import Visibility
from lmsplans.server.plans.queries import plan_admin_ids, plan_courses, plan_row, user_info
from lmsplans.server.progress.rules import (
    EnrolmentCounts,
    due_time,
    is_overdue,
    progress_info,
    status_of,
)
from lmsplans.server.progress.schemas import EnrolmentStatus

# The plan's active enrolments of the learners a reader may see (`Visibility`), oldest first.
_ENROLMENTS = """
SELECT e.id AS planuser_id, e.learner_id, e.user_type, e.enrolled_time, e.is_joined,
       e.is_completed, e.completed_time, l.email, l.display_name, l.employee_id,
       l.status AS learner_status, l.manager_id
  FROM plan_enrolments e JOIN learners l ON l.id = e.learner_id
 WHERE e.plan_id = :plan_id AND e.unenrolled_time IS NULL
   AND (:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))
 ORDER BY e.id"""
# The progress of the plan's enrolled learners in its courses (a course not started has no
# row, or a `notStarted` one). Read by course (the course_progress index), then kept for the
# enrolled: a plan's courses are few, its learners many.
_PROGRESS = """
SELECT cp.learner_id, cp.course_id, cp.status
  FROM plan_courses pc JOIN course_progress cp ON cp.course_id = pc.course_id
 WHERE pc.plan_id = :plan_id AND cp.status <> 'notStarted'
   AND EXISTS (SELECT 1 FROM plan_enrolments e
                WHERE e.plan_id = pc.plan_id AND e.learner_id = cp.learner_id
                  AND e.unenrolled_time IS NULL)"""


@dataclass(frozen=True, slots=True)
class RosterCourse:
    """One course of the plan, and its bit in the entries' masks."""

    course_id: int
    name: str
    course_type: int
    level: int
    is_mandatory: bool
    is_locked: bool
    bit: int


@dataclass(slots=True)
class RosterEntry:
    """One enrolled learner: the enrolment and learner row (`_ENROLMENTS`' columns), the
    plan's courses they completed and started (in progress or completed) as bits of
    `RosterCourse.bit`, their status (completed, in progress, not started) and due time."""

    row: Row
    status: EnrolmentStatus
    due_ms: int | None
    completed: int
    started: int

    @property
    def learner_id(self) -> int:
        return int(self.row["learner_id"])

    def is_overdue(self, now_ms: int) -> bool:
        return is_overdue(
            is_completed=self.status is EnrolmentStatus.COMPLETED,
            due_ms=self.due_ms,
            now_ms=now_ms,
        )

    def matches(self, search: str) -> bool:
        """Whether `search` (lower case) is part of the name, email or employee id."""
        row = self.row
        return (
            search in row["display_name"].lower()
            or search in row["email"]
            or search in row["employee_id"].lower()
        )


@dataclass(frozen=True, slots=True)
class RosterSummary:
    """Counts of a whole roster: each learner has one status, and the overdue are counted
    among the in progress and not started too (as `charts.StatusCounts`)."""

    total: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int

    def wire(self, *, matching: int) -> dict[str, str]:
        """The API's `summary`, with `matchingCount` after the filters."""
        return {
            "totalCount": str(self.total),
            "completedCount": str(self.completed),
            "inProgressCount": str(self.in_progress),
            "notStartedCount": str(self.not_started),
            "overdueCount": str(self.overdue),
            "matchingCount": str(matching),
        }


def _bits(mask: int) -> int:
    return mask.bit_count()


def _due(entry: RosterEntry) -> int:
    return entry.due_ms or 0


class Roster:
    """A plan (its `plan_row`), its courses and admins, and the entries a reader may see,
    oldest enrolment first.

    What does not move with the clock is worked out once, when the roster is read (the
    counts by status, the pending entries by due time), or on first use and kept (the
    completion per course and level, what a search looks in): a roster kept while the data
    version holds answers each page of the report in a few milliseconds.
    """

    def __init__(
        self,
        plan: Row,
        courses: tuple[RosterCourse, ...],
        admin_ids: frozenset[int],
        entries: tuple[RosterEntry, ...],
    ) -> None:
        self.plan = plan
        self.courses = courses
        self.admin_ids = admin_ids
        self.entries = entries
        self.mandatory_mask = sum(course.bit for course in courses if course.is_mandatory)
        self.by_status = dict.fromkeys(EnrolmentStatus, 0)
        for entry in entries:
            self.by_status[entry.status] += 1
        # The entries that can be overdue (not completed, with a due time), earliest due
        # first: those overdue at a given moment are a prefix of them.
        pending = [e for e in entries if e.status is not EnrolmentStatus.COMPLETED and e.due_ms]
        pending.sort(key=_due)  # stable: the oldest enrolment first among equal due times
        self._pending = pending
        self._pending_due = [entry.due_ms or 0 for entry in pending]
        self._completion: tuple[list[tuple[RosterCourse, int]], list[tuple[int, int]]] | None
        self._completion = None
        self._haystacks: list[str] | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def counts(self, entry: RosterEntry) -> EnrolmentCounts:
        return EnrolmentCounts(
            course_count=len(self.courses),
            mandatory_count=_bits(self.mandatory_mask),
            completed_count=_bits(entry.completed),
            completed_mandatory_count=_bits(entry.completed & self.mandatory_mask),
            started_count=_bits(entry.started),
        )

    def overdue(self, now_ms: int) -> list[RosterEntry]:
        """The overdue entries at `now_ms`, most overdue first (the earliest due time; then
        the oldest enrolment). Overdue is past the due time (`rules.is_overdue`)."""
        return self._pending[: bisect.bisect_left(self._pending_due, now_ms)]

    def summary(self, now_ms: int) -> RosterSummary:
        return RosterSummary(
            total=len(self.entries),
            completed=self.by_status[EnrolmentStatus.COMPLETED],
            in_progress=self.by_status[EnrolmentStatus.IN_PROGRESS],
            not_started=self.by_status[EnrolmentStatus.NOT_STARTED],
            overdue=bisect.bisect_left(self._pending_due, now_ms),
        )

    def matching(
        self, *, status: EnrolmentStatus | None, search: str | None, now_ms: int
    ) -> list[RosterEntry]:
        """The entries in `status` (overdue: late) whose name, email or employee id holds
        `search` (case-insensitive), oldest enrolment first."""
        needle = (search or "").strip().lower()
        if status is None and not needle:
            return list(self.entries)
        wanted: Callable[[RosterEntry], bool]
        if status is EnrolmentStatus.OVERDUE:
            late = {id(entry) for entry in self.overdue(now_ms)}
            wanted = lambda entry: id(entry) in late  # noqa: E731
        elif status is not None:
            wanted = lambda entry: entry.status is status  # noqa: E731
        else:
            wanted = lambda entry: True  # noqa: E731
        if not needle:
            return [entry for entry in self.entries if wanted(entry)]
        haystacks = self._search_haystacks()
        return [
            entry
            for entry, haystack in zip(self.entries, haystacks, strict=True)
            if needle in haystack and wanted(entry)
        ]

    def _search_haystacks(self) -> list[str]:
        """What a search looks in, per entry: name, email and employee id, lower case."""
        if self._haystacks is None:
            self._haystacks = [
                f"{entry.row['display_name']}\n{entry.row['email']}\n{entry.row['employee_id']}".lower()
                for entry in self.entries
            ]
        return self._haystacks

    def progress(self, entry: RosterEntry, now_ms: int) -> dict[str, Any]:
        """The entry's `progressInfo`, as the API answers it."""
        row, plan = entry.row, self.plan
        return progress_info(
            counts=self.counts(entry),
            enrolled_ms=row["enrolled_time"],
            duration=plan["duration"],
            duration_type=plan["duration_type"],
            is_completed=bool(row["is_completed"]),
            completed_ms=row["completed_time"],
            now_ms=now_ms,
        )

    def member(self, entry: RosterEntry, now_ms: int) -> dict[str, Any]:
        """The entry as the API's roster answers it: `userInfo` (with the learner's name,
        email, employee id and whether they are active) and `progressInfo`."""
        row = entry.row
        info = user_info(row, is_plan_admin=entry.learner_id in self.admin_ids)
        info.update(
            emailId=row["email"],
            displayName=row["display_name"],
            employeeId=row["employee_id"],
            isActive=row["learner_status"] == "active",
        )
        return {"userInfo": info, "progressInfo": self.progress(entry, now_ms)}

    def course_completion(self) -> list[tuple[RosterCourse, int]]:
        """Each course, by level, with how many of the entries completed it."""
        return self._completions()[0]

    def level_completion(self) -> list[tuple[int, int]]:
        """Each level with how many of the entries completed it: every mandatory course of
        the level (every course, when none is mandatory), as `rules.locked_levels` says."""
        return self._completions()[1]

    def _completions(self) -> tuple[list[tuple[RosterCourse, int]], list[tuple[int, int]]]:
        if self._completion is None:
            done = Counter(entry.completed for entry in self.entries)  # few distinct masks
            per_course = [
                (course, sum(n for mask, n in done.items() if mask & course.bit))
                for course in self.courses
            ]
            per_level = []
            for level in sorted({course.level for course in self.courses}):
                in_level = [course for course in self.courses if course.level == level]
                gate = sum(c.bit for c in [c for c in in_level if c.is_mandatory] or in_level)
                per_level.append((level, sum(n for mask, n in done.items() if mask & gate == gate)))
            self._completion = (per_course, per_level)
        return self._completion


async def read_roster(
    conn: Connection, *, org_id: int, plan_id: int, visibility: Visibility
) -> Roster:
    """The roster of the organisation's plan (404 7049 for no such plan) that `visibility`
    shows: three statements, whatever its size."""
    plan = await plan_row(conn, org_id=org_id, plan_id=plan_id)
    courses = tuple(
        RosterCourse(
            course_id=row["course_id"],
            name=row["course_name"],
            course_type=row["course_type"],
            level=row["level"],
            is_mandatory=bool(row["is_mandatory"]),
            is_locked=bool(row["is_locked"]),
            bit=1 << index,
        )
        for index, row in enumerate(await plan_courses(conn, plan_id=plan_id))
    )
    bit_of = {course.course_id: course.bit for course in courses}
    rows = await conn.fetch_all(_ENROLMENTS, {"plan_id": plan_id, **visibility.params()})
    completed: dict[int, int] = {}
    started: dict[int, int] = {}
    for learner_id, course_id, status in await conn.fetch_all(_PROGRESS, {"plan_id": plan_id}):
        bit = bit_of[course_id]
        started[learner_id] = started.get(learner_id, 0) | bit
        if status == "completed":
            completed[learner_id] = completed.get(learner_id, 0) | bit
    duration, duration_type = plan["duration"], plan["duration_type"]
    entries = []
    # By position (`_ENROLMENTS`' columns): this loop runs once per enrolled learner.
    for row in rows:
        learner_id, enrolled_ms, is_completed = row[1], row[3], bool(row[5])
        begun = started.get(learner_id, 0)
        entries.append(
            RosterEntry(
                row=row,
                status=status_of(is_completed=is_completed, started=begun != 0),
                due_ms=due_time(enrolled_ms, duration, duration_type),
                completed=completed.get(learner_id, 0),
                started=begun,
            )
        )
    admins = frozenset(await plan_admin_ids(conn, plan_id=plan_id))
    return Roster(plan, courses, admins, tuple(entries))


class Keeper(Protocol):
    """What keeps values while the data version holds: an API call (`http.Call`) or a page
    (`ui.http.PageCall`), both over the process's `VersionedCache`."""

    def cached(self, key: Hashable) -> Any | None: ...

    def keep(self, key: Hashable, value: Any, *, weight: int = 1) -> None: ...


async def kept_roster(
    keeper: Keeper, conn: Connection, *, org_id: int, plan_id: int, visibility: Visibility
) -> Roster:
    """`read_roster`, kept while the data version holds (worth one record per learner in
    the cache's bound): paging through a roster, filtering it or opening the report again
    reads nothing until something is written."""
    key = ("roster", org_id, plan_id, visibility)
    roster: Roster | None = keeper.cached(key)
    if roster is None:
        roster = await read_roster(conn, org_id=org_id, plan_id=plan_id, visibility=visibility)
        keeper.keep(key, roster, weight=len(roster) + 1)
    return roster


def roster_answer(
    roster: Roster,
    *,
    status: EnrolmentStatus | None,
    search: str | None,
    now_ms: int,
    page: Page,
) -> dict[str, Any]:
    """The API's roster answer: one page of the matching entries with `userInfo` and
    `progressInfo`, the `summary` of the whole roster and `isNextAvailable`."""
    found = roster.matching(status=status, search=search, now_ms=now_ms)
    window, more = page.of(found)
    return {
        "learners": [roster.member(entry, now_ms) for entry in window],
        "summary": roster.summary(now_ms).wire(matching=len(found)),
        "isNextAvailable": more,
    }
