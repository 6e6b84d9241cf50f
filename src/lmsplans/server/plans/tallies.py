"""Counts of enrolments by status, with the due times that make some of them overdue: a
roster's summary (`plans.roster.Roster.tally`), and every plan's at once for the plans list
(`plan_tallies`: one statement, counts only)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from lmsplans.server.cache import Keeper
from lmsplans.server.changes.log import tag
from lmsplans.server.db import Connection
from lmsplans.server.learners.queries import Visibility
from lmsplans.server.progress.rules import due_time, status_of
from lmsplans.server.progress.schemas import EnrolmentStatus


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


class StatusTally:
    """Enrolments counted by status, with the due times of those that can be overdue (not
    completed, with a due time) in order: the overdue at any moment are a prefix of them."""

    def __init__(self) -> None:
        self.by_status = dict.fromkeys(EnrolmentStatus, 0)
        self.dues: list[int] = []

    def add(self, status: EnrolmentStatus, due_ms: int | None) -> None:
        self.by_status[status] += 1
        if status is not EnrolmentStatus.COMPLETED and due_ms is not None:
            self.dues.append(due_ms)

    def overdue(self, now_ms: int) -> int:
        """How many are past their due time at `now_ms` (`dues` sorted)."""
        return bisect.bisect_left(self.dues, now_ms)

    def summary(self, now_ms: int) -> RosterSummary:
        by_status = self.by_status
        return RosterSummary(
            total=sum(by_status.values()),
            completed=by_status[EnrolmentStatus.COMPLETED],
            in_progress=by_status[EnrolmentStatus.IN_PROGRESS],
            not_started=by_status[EnrolmentStatus.NOT_STARTED],
            overdue=self.overdue(now_ms),
        )


# The plans' enrolments of the learners a reader may see, for their counts only: whether
# each not completed has started any course of its plan (`rules.status_of`).
_TALLIES = """
SELECT e.plan_id, e.enrolled_time, e.is_completed,
       CASE WHEN e.is_completed THEN FALSE ELSE EXISTS (
         SELECT 1 FROM plan_courses pc JOIN course_progress cp
                    ON cp.course_id = pc.course_id AND cp.learner_id = e.learner_id
          WHERE pc.plan_id = e.plan_id AND cp.status <> 'notStarted') END AS started
  FROM plan_enrolments e JOIN learners l ON l.id = e.learner_id
 WHERE e.unenrolled_time IS NULL
   AND e.plan_id IN (SELECT p.id FROM learning_plans p WHERE p.org_id = :org_id)
   AND (:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))"""


async def plan_tallies(
    conn: Connection, *, org_id: int, visibility: Visibility, durations: dict[int, tuple[int, int]]
) -> dict[int, StatusTally]:
    """Every plan's counts (as its roster's `summary`) of the learners `visibility` shows,
    in one statement: the plans list. `durations`: each plan's duration and its type."""
    tallies: dict[int, StatusTally] = {plan_id: StatusTally() for plan_id in durations}
    for plan_id, enrolled_ms, finished, begun in await conn.fetch_all(
        _TALLIES, {"org_id": org_id, **visibility.params()}
    ):
        if plan_id not in tallies:
            continue
        duration, duration_type = durations[plan_id]
        tallies[plan_id].add(
            status_of(is_completed=bool(finished), started=bool(begun)),
            due_time(enrolled_ms, duration, duration_type),
        )
    for tally in tallies.values():
        tally.dues.sort()
    return tallies


async def kept_tallies(
    keeper: Keeper,
    conn: Connection,
    *,
    org_id: int,
    visibility: Visibility,
    durations: dict[int, tuple[int, int]],
) -> dict[int, StatusTally]:
    """`plan_tallies`, kept until an enrolment, a plan or the people of the organisation
    change (a due time weighs a quarter of a record in the cache's bound: it is one
    number)."""
    key = ("plan-tallies", org_id, visibility, frozenset(durations.items()))
    tallies: dict[int, StatusTally] | None = keeper.cached(key)
    if tallies is None:
        tallies = await plan_tallies(
            conn, org_id=org_id, visibility=visibility, durations=durations
        )
        dues = sum(len(tally.dues) for tally in tallies.values())
        keeper.keep(
            key,
            tallies,
            tags=(tag("enrolments", org_id), tag("plans", org_id), tag("people", org_id)),
            weight=1 + len(tallies) + dues // 4,
        )
    return tallies
