"""Export every learner's plan progress to CSV, JSON lines or Parquet, resumably.

One row per learner and plan, read one of two ways, under the client's governor:

- by plan rosters (`GET /api/v1/learning-plans/{planId}/learners`, 100 learners with their
  `userInfo` and `progressInfo` a call): this server's way, about `P * ceil(N_p / 100)` calls
  for the learners of P plans;
- one call per learner (the reference endpoint,
  `GET /api/v1/learners/{learnerId}/learning-plans/progress`): Zoho's way, whose rosters
  carry no progress, and the way of a learners file.

The first roster page read says which (`via="auto"`), or `via=` forces one. Both give the
same rows and columns (grouped by plan, or by learner). An export of what changed since a
cursor of the change feed (`changed_learners`, `lmsplans export --since`) reads the
learners whose progress changed one call each.

Exactly once, across Ctrl-C and SIGKILL: rows are appended and flushed one unit at a time (a
learner, or a plan's whole roster), and only then is the unit recorded in a journal beside
the output (`<out>.state`, one JSON line per unit with the output's length after its rows). A
rerun reads the journal, cuts the output back to the length after the last recorded unit
(dropping the rows of a unit that was being written when the run died, and any half-written
line), and carries on, the same way, with the units not recorded; the learners listed from
the rosters are kept in the journal, so a rerun does not list them again. A half-written
journal line is ignored the same way. Parquet cannot be appended to, so its rows go to
`<out>.part.jsonl` first and become `<out>` at the end. The journal is removed once the
export is complete.
"""

from lmsplans.client.export._engine import (
    VIA,
    ExportJob,
    ExportProgress,
    ExportResult,
    export_plan_progress,
)
from lmsplans.client.export._format import (
    COLUMN_NAMES,
    COLUMNS,
    FORMATS,
    ExportError,
    plan_progress_row,
    roster_row,
)
from lmsplans.client.export._sources import (
    changed_learners,
    learners_from_rosters,
    read_learners_file,
)

__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "FORMATS",
    "VIA",
    "ExportError",
    "ExportJob",
    "ExportProgress",
    "ExportResult",
    "changed_learners",
    "export_plan_progress",
    "learners_from_rosters",
    "plan_progress_row",
    "read_learners_file",
    "roster_row",
]
