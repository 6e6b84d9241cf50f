"""`plan.enrollment.overdue`: the one event no user's write makes.

An enrolment turns overdue when its due time passes (`progress.rules.is_overdue`), which
no write marks. Every server process sweeps for such enrolments periodically
(`sweep_forever`, every `Settings.overdue_sweep_seconds`), and records each in a write
transaction of its organisation, so the event gets its place in the feed's commit order
like any other. `overdue_notices` (`models.py`) makes it once per enrolment period: the
notice is inserted with the event, and a process that finds it already there (another
process swept first) records nothing. A learner enrolled again has a new period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
import anyio.lowlevel

from lmsplans.server.clock import Clock
from lmsplans.server.db import Database
from lmsplans.server.events import snapshots
from lmsplans.server.progress.rules import due_time
from lmsplans.server.writes import WriteContext

logger = logging.getLogger("lmsplans.events")

EVENT_TYPE = "plan.enrollment.overdue"
# Enrolments read, and announced in one transaction, at a time. SQLite is called inline on
# the event loop: a batch is a stretch no request is answered in, so it stays short, and
# the sweep gives the loop a turn between batches (a first sweep over a million learners'
# enrolments held a server's loop for tens of seconds).
BATCH = 100
_DAY_MS = 86_400_000

# Enrolments that may be overdue, past `:after_id`: active, not completed, in a published
# plan with a duration, enrolled longer ago than the shortest such duration (a month of 28
# days), and not yet announced for this period. `due_time` decides exactly.
_CANDIDATES = f"""
SELECT e.id, e.org_id, e.plan_id, e.learner_id, e.enrolled_time, p.duration, p.duration_type
  FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id
 WHERE e.id > :after_id AND e.unenrolled_time IS NULL AND NOT e.is_completed
   AND p.duration > 0 AND p.publish_state = 1
   AND e.enrolled_time + p.duration * (CASE p.duration_type WHEN 0 THEN {_DAY_MS}
                                       WHEN 1 THEN {7 * _DAY_MS} ELSE {28 * _DAY_MS} END)
       < :now
   AND NOT EXISTS (SELECT 1 FROM overdue_notices n
                    WHERE n.enrolment_id = e.id AND n.enrolled_time = e.enrolled_time)
 ORDER BY e.id
 LIMIT :batch"""

# The notice, if the enrolment still stands as it was read (in the write's transaction) and
# no process announced it first.
_NOTICE = """
INSERT INTO overdue_notices (enrolment_id, enrolled_time, org_id, due_time, noticed_time)
SELECT e.id, e.enrolled_time, e.org_id, :due, :now
  FROM plan_enrolments e
 WHERE e.id = :id AND e.enrolled_time = :enrolled AND e.unenrolled_time IS NULL
   AND NOT e.is_completed
ON CONFLICT (enrolment_id, enrolled_time) DO NOTHING"""


@dataclass(frozen=True, slots=True)
class Overdue:
    enrolment_id: int
    org_id: int
    plan_id: int
    learner_id: int
    enrolled_ms: int
    due_ms: int


async def sweep_overdue(db: Database, *, now_ms: int) -> int:
    """Announce every enrolment overdue at `now_ms` and not announced yet: one event each,
    in one write transaction per organisation and batch. Answers how many it announced."""
    announced = 0
    after_id = 0
    while True:
        async with db.read() as conn:
            rows = await conn.fetch_all(
                _CANDIDATES, {"after_id": after_id, "now": now_ms, "batch": BATCH}
            )
        if not rows:
            return announced
        after_id = int(rows[-1]["id"])
        by_org: dict[int, list[Overdue]] = {}
        for row in rows:
            due = due_time(row["enrolled_time"], row["duration"], row["duration_type"])
            if due is not None and now_ms > due:
                overdue = Overdue(
                    row["id"], row["org_id"], row["plan_id"], row["learner_id"],
                    row["enrolled_time"], due,
                )  # fmt: skip
                by_org.setdefault(overdue.org_id, []).append(overdue)
        for org_id, found in by_org.items():
            announced += await _announce(db, org_id=org_id, found=found, now_ms=now_ms)
            await anyio.lowlevel.checkpoint()  # the requests waiting meanwhile go first
        await anyio.lowlevel.checkpoint()


async def _announce(db: Database, *, org_id: int, found: list[Overdue], now_ms: int) -> int:
    write = WriteContext(org_id=org_id, actor_id=None, source="sweep", now_ms=now_ms)
    count = 0
    async with db.transaction() as conn:
        for overdue in found:
            inserted = await conn.execute(
                _NOTICE,
                {
                    "id": overdue.enrolment_id,
                    "enrolled": overdue.enrolled_ms,
                    "due": overdue.due_ms,
                    "now": now_ms,
                },
            )
            if not inserted:
                continue
            count += 1
            data = {"dueTime": overdue.due_ms}
            write.changes.event(
                EVENT_TYPE, learner_id=overdue.learner_id, plan_id=overdue.plan_id, data=data
            )
            snapshots.attach(write, data, learner_id=overdue.learner_id, plan_id=overdue.plan_id)
        if count == 0:
            write.changes.nothing_cached()
    return count


async def sweep_forever(db: Database, clock: Clock, *, every_seconds: float) -> None:
    """`sweep_overdue` every `every_seconds` (by the clock of the process's own waiting;
    `clock` says what time it is), until cancelled. A sweep that fails (the database away)
    is logged and tried again next time."""
    while True:
        await anyio.sleep(every_seconds)
        try:
            count = await sweep_overdue(db, now_ms=clock.now_ms())
        except Exception:
            logger.exception("the overdue sweep failed; it runs again in %s s", every_seconds)
            continue
        if count:
            logger.info("announced %d overdue enrolments", count)
