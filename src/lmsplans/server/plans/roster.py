"""A plan's roster: the enrolled learners a reader may see, each with where they stand.

The API's roster (`GET /api/v1/learning-plans/{planId}/learners`) and the plan report page
both read it here (`read_roster`), so their counts are the same by construction. A roster
is read in a few statements whatever its size: the plan's courses, its enrolments (their
ids, learner, enrolment time and completion only), and the progress of its learners in its
courses, kept per learner as two bit masks (completed, started) and read from an index
alone. What a page shows of a learner (name, email, ...) is read for that page's learners
only (`Roster.details`), and a search is one statement of its own. A plan of 10,000 learners
reads in well under a fifth of a second on a busy two-core machine
(`bench/RESULTS-plan-report.md`), where one statement with correlated counts per enrolment
took several times longer. Statuses, due times and percentages follow
`progress.rules`. Only "overdue" moves with the clock, so a `Roster` is read once and asked
about any moment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from lmsplans.server.cache import Keeper
from lmsplans.server.changes.log import tag
from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.learners.queries import Search, Visibility
from lmsplans.server.plans.queries import plan_admin_ids, plan_courses, plan_row, user_info
from lmsplans.server.plans.tallies import RosterSummary, StatusTally
from lmsplans.server.progress.rules import EnrolmentCounts, due_time, progress_info, status_of
from lmsplans.server.progress.schemas import EnrolmentStatus

# The plan's active enrolments of the learners a reader may see (`Visibility`), oldest first.
_ENTRIES = """
SELECT e.id, e.learner_id, e.enrolled_time, e.is_completed
  FROM plan_enrolments e JOIN learners l ON l.id = e.learner_id
 WHERE e.plan_id = :plan_id AND e.unenrolled_time IS NULL
   AND (:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))
 ORDER BY e.id"""
# The progress of the plan's enrolled learners in its courses (a course not started has no
# row, or a `notStarted` one), from the (course, learner, status) index: a plan's courses
# are few, its learners many.
_PROGRESS = """
SELECT cp.learner_id, cp.course_id, cp.status
  FROM plan_courses pc JOIN course_progress cp ON cp.course_id = pc.course_id
 WHERE pc.plan_id = :plan_id AND cp.status <> 'notStarted'
   AND EXISTS (SELECT 1 FROM plan_enrolments e
                WHERE e.plan_id = pc.plan_id AND e.learner_id = cp.learner_id
                  AND e.unenrolled_time IS NULL)"""
# What a page shows of an enrolment and its learner.
_DETAILS = """
SELECT e.id AS planuser_id, e.learner_id, e.user_type, e.enrolled_time, e.is_joined,
       e.is_completed, e.completed_time, l.email, l.display_name, l.employee_id,
       l.status AS learner_status
  FROM plan_enrolments e JOIN learners l ON l.id = e.learner_id
 WHERE e.plan_id = :plan_id AND e.unenrolled_time IS NULL"""
# The enrolments whose learner's name, email or employee id holds the search (`Search`).
_SEARCH = """
SELECT e.id
  FROM plan_enrolments e JOIN learners l ON l.id = e.learner_id
 WHERE e.plan_id = :plan_id AND e.unenrolled_time IS NULL
   AND (lower(l.display_name) LIKE :search ESCAPE '\\' OR l.email LIKE :search ESCAPE '\\'
        OR lower(l.employee_id) LIKE :search ESCAPE '\\')"""
# Above this many learners, their details are read with the whole plan's in one statement.
_DETAILS_BY_ID = 200


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
    """One enrolled learner: the enrolment (`planuser_id`), the learner, when enrolled and
    whether completed; the plan's courses they completed and started (in progress or
    completed) as bits of `RosterCourse.bit`; their status (completed, in progress, not
    started) and due time."""

    planuser_id: int
    learner_id: int
    enrolled_ms: int
    is_completed: bool
    status: EnrolmentStatus
    due_ms: int | None
    completed: int
    started: int


_due = attrgetter("due_ms")


class Roster:
    """A plan (its `plan_row`), its courses and admins, and the entries a reader may see,
    oldest enrolment first.

    What does not move with the clock is worked out once, when the roster is read (the
    counts by status, the pending entries by due time), or on first use and kept (the
    completion per course and level, the learners' details read so far): a roster kept
    until a change names it answers each page of the report in a few milliseconds.
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
        pending = [e for e in entries if not e.is_completed and e.due_ms is not None]
        pending.sort(key=_due)  # stable: the oldest enrolment first among equal due times
        self._pending = pending
        self.tally = StatusTally()
        for entry in entries:
            self.tally.by_status[entry.status] += 1
        self.tally.dues = [entry.due_ms or 0 for entry in pending]  # none is None here
        self._completion: tuple[list[tuple[RosterCourse, int]], list[tuple[int, int]]] | None
        self._completion = None
        self._details: dict[int, Row] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def summary(self, now_ms: int) -> RosterSummary:
        return self.tally.summary(now_ms)

    def overdue(self, now_ms: int) -> list[RosterEntry]:
        """The overdue entries at `now_ms`, most overdue first (the earliest due time; then
        the oldest enrolment)."""
        return self._pending[: self.tally.overdue(now_ms)]

    async def matching(
        self,
        conn: Connection,
        *,
        status: EnrolmentStatus | None,
        search: str | None,
        now_ms: int,
    ) -> list[RosterEntry]:
        """The entries in `status` (overdue: late) whose learner's name, email or employee
        id holds `search` (case-insensitive), oldest enrolment first."""
        found: Iterable[RosterEntry] = self.entries
        if status is EnrolmentStatus.OVERDUE:
            late = {id(entry) for entry in self.overdue(now_ms)}
            found = [entry for entry in found if id(entry) in late]
        elif status is not None:
            found = [entry for entry in found if entry.status is status]
        wanted = Search.of(search)
        if wanted is not None:
            rows = await conn.fetch_all(
                _SEARCH, {"plan_id": self.plan["plan_id"], **wanted.params()}
            )
            hits = {row[0] for row in rows}
            found = [entry for entry in found if entry.planuser_id in hits]
        return list(found)

    async def details(self, conn: Connection, entries: Sequence[RosterEntry]) -> list[Row]:
        """What a page shows of each entry (`_DETAILS`' columns), in their order; read once
        and kept with the roster."""
        missing = [entry.planuser_id for entry in entries if entry.planuser_id not in self._details]
        if missing:
            params: dict[str, Any] = {"plan_id": self.plan["plan_id"]}
            sql = _DETAILS
            if len(missing) <= _DETAILS_BY_ID:
                marks = ", ".join(f":e{index}" for index in range(len(missing)))
                sql += f" AND e.id IN ({marks})"
                params.update((f"e{index}", value) for index, value in enumerate(missing))
            for row in await conn.fetch_all(sql, params):
                self._details[row["planuser_id"]] = row
        return [self._details[entry.planuser_id] for entry in entries]

    def counts(self, entry: RosterEntry) -> EnrolmentCounts:
        return EnrolmentCounts(
            course_count=len(self.courses),
            mandatory_count=self.mandatory_mask.bit_count(),
            completed_count=entry.completed.bit_count(),
            completed_mandatory_count=(entry.completed & self.mandatory_mask).bit_count(),
            started_count=entry.started.bit_count(),
        )

    def progress(self, entry: RosterEntry, detail: Row, now_ms: int) -> dict[str, Any]:
        """The entry's `progressInfo`, as the API answers it."""
        return progress_info(
            counts=self.counts(entry),
            enrolled_ms=entry.enrolled_ms,
            duration=self.plan["duration"],
            duration_type=self.plan["duration_type"],
            is_completed=entry.is_completed,
            completed_ms=detail["completed_time"],
            now_ms=now_ms,
        )

    def member(self, entry: RosterEntry, detail: Row, now_ms: int) -> dict[str, Any]:
        """The entry as the API's roster answers it: `userInfo` (with the learner's name,
        email, employee id and whether they are active) and `progressInfo`."""
        info = user_info(detail, is_plan_admin=entry.learner_id in self.admin_ids)
        info.update(
            emailId=detail["email"],
            displayName=detail["display_name"],
            employeeId=detail["employee_id"],
            isActive=detail["learner_status"] == "active",
        )
        return {"userInfo": info, "progressInfo": self.progress(entry, detail, now_ms)}

    async def members(
        self, conn: Connection, entries: Sequence[RosterEntry], now_ms: int
    ) -> list[dict[str, Any]]:
        """`member` of each entry, their details read as needed."""
        details = await self.details(conn, entries)
        return [
            self.member(entry, detail, now_ms)
            for entry, detail in zip(entries, details, strict=True)
        ]

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
    shows."""
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
    rows = await conn.fetch_all(_ENTRIES, {"plan_id": plan_id, **visibility.params()})
    completed: dict[int, int] = {}
    started: dict[int, int] = {}
    for learner_id, course_id, status in await conn.fetch_all(_PROGRESS, {"plan_id": plan_id}):
        bit = bit_of[course_id]
        started[learner_id] = started.get(learner_id, 0) | bit
        if status == "completed":
            completed[learner_id] = completed.get(learner_id, 0) | bit
    duration, duration_type = plan["duration"], plan["duration_type"]
    # This loop runs once per enrolled learner: positions, no names, each status worked out
    # once per kind of entry rather than once per entry.
    statuses = {
        (done, begun): status_of(is_completed=done, started=begun)
        for done in (False, True)
        for begun in (False, True)
    }
    entries = [
        RosterEntry(
            planuser_id,
            learner_id,
            enrolled_ms,
            bool(finished),
            statuses[bool(finished), learner_id in started],
            due_time(enrolled_ms, duration, duration_type),
            completed.get(learner_id, 0),
            started.get(learner_id, 0),
        )
        for planuser_id, learner_id, enrolled_ms, finished in rows
    ]
    admins = frozenset(await plan_admin_ids(conn, plan_id=plan_id))
    return Roster(plan, courses, admins, tuple(entries))


async def kept_roster(
    keeper: Keeper, conn: Connection, *, org_id: int, plan_id: int, visibility: Visibility
) -> Roster:
    """`read_roster`, kept (worth one record per learner in the cache's bound) until its
    plan, one of its courses or the organisation's people change: paging through a
    roster, filtering it or opening the report again reads only the learners shown."""
    key = ("roster", org_id, plan_id, visibility)
    roster: Roster | None = keeper.cached(key)
    if roster is None:
        roster = await read_roster(conn, org_id=org_id, plan_id=plan_id, visibility=visibility)
        tags = [tag("plan", plan_id), tag("people", org_id)]
        tags += [tag("course", course.course_id) for course in roster.courses]
        keeper.keep(key, roster, tags=tags, weight=len(roster) + 1)
    return roster


async def roster_answer(
    conn: Connection,
    roster: Roster,
    *,
    status: EnrolmentStatus | None,
    search: str | None,
    now_ms: int,
    page: Page,
) -> dict[str, Any]:
    """The API's roster answer: one page of the matching entries with `userInfo` and
    `progressInfo`, the `summary` of the whole roster and `isNextAvailable`."""
    found = await roster.matching(conn, status=status, search=search, now_ms=now_ms)
    window, more = page.of(found)
    return {
        "learners": await roster.members(conn, window, now_ms),
        "summary": roster.summary(now_ms).wire(matching=len(found)),
        "isNextAvailable": more,
    }
