"""The export's rows: their columns and types, and their encoding in CSV, JSON lines and
Parquet."""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from lmsplans.client._errors import LmsPlansError
from lmsplans.client._models import LearningPlanProgress, PlanInfo, RosterMember

__all__ = ["COLUMNS", "COLUMN_NAMES", "FORMATS", "ExportError", "plan_progress_row", "roster_row"]

FORMATS = ("csv", "jsonl", "parquet")
PARQUET_BATCH_ROWS = 10_000

# (column, type): str, int, bool or datetime (ISO 8601 UTC in CSV and JSON lines).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("learner", "str"),
    ("user_id", "str"),
    ("planuser_id", "str"),
    ("plan_id", "str"),
    ("plan_name", "str"),
    ("status", "str"),
    ("progress_percentage", "int"),
    ("all_courses_percentage", "int"),
    ("completed_course_count", "int"),
    ("course_count", "int"),
    ("completed_mandatory_course_count", "int"),
    ("mandatory_course_count", "int"),
    ("is_overdue", "bool"),
    ("is_user_joined_plan", "bool"),
    ("is_user_completed_plan", "bool"),
    ("enrolled_time", "datetime"),
    ("due_time", "datetime"),
    ("completed_time", "datetime"),
    ("duration", "int"),
    ("duration_type", "int"),
)
COLUMN_NAMES = [name for name, _ in COLUMNS]


class ExportError(LmsPlansError):
    """The export cannot start or resume (an existing output, a mismatched journal, ...)."""


def plan_progress_row(learner: str, entry: LearningPlanProgress) -> dict[str, Any]:
    """One output row: a learner in a plan, typed."""
    user, plan, progress = entry.user_info, entry.plan_info, entry.progress_info
    return {
        "learner": learner,
        "user_id": user.user_id,
        "planuser_id": user.planuser_id,
        "plan_id": entry.plan_id,
        "plan_name": plan.plan_name,
        "status": progress.status if progress else None,
        "progress_percentage": progress.progress_percentage if progress else None,
        "all_courses_percentage": progress.all_courses_percentage if progress else None,
        "completed_course_count": progress.completed_course_count if progress else None,
        "course_count": progress.course_count if progress else plan.active_course_count,
        "completed_mandatory_course_count": (
            progress.completed_mandatory_course_count if progress else None
        ),
        "mandatory_course_count": (
            progress.mandatory_course_count if progress else plan.mandatory_course_count
        ),
        "is_overdue": progress.is_overdue if progress else None,
        "is_user_joined_plan": user.is_user_joined_plan,
        "is_user_completed_plan": user.is_user_completed_plan,
        "enrolled_time": user.enrolled_time,
        "due_time": progress.due_time if progress else None,
        "completed_time": progress.completed_time if progress else None,
        "duration": plan.duration,
        "duration_type": plan.duration_type,
    }


def roster_row(plan: PlanInfo, member: RosterMember) -> dict[str, Any]:
    """The same row, from a plan's roster: the learner is named by their userId, as when the
    learners come from the rosters."""
    entry = LearningPlanProgress(
        plan_id=plan.plan_id,
        user_info=member.user_info,
        plan_info=plan,
        progress_info=member.progress_info,
        raw=member.raw,
    )
    return plan_progress_row(member.user_id, entry)


# --- encoding -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return value


def csv_line(values: Iterable[Any]) -> bytes:
    buffer = io.StringIO()
    cells = [
        "" if v is None else ("true" if v is True else "false" if v is False else _plain(v))
        for v in values
    ]
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def encode(fmt: str, rows: list[dict[str, Any]]) -> bytes:
    if fmt == "csv":
        return b"".join(csv_line(row[name] for name in COLUMN_NAMES) for row in rows)
    return b"".join(
        (json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n").encode()
        for row in rows
    )


def header(fmt: str) -> bytes:
    return csv_line(COLUMN_NAMES) if fmt == "csv" else b""


def pyarrow_modules() -> tuple[Any, Any]:
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ExportError(
            "Parquet export needs pyarrow: pip install 'lmsplans[export-parquet]'"
        ) from None


def write_parquet(part: Path, out: Path) -> None:
    pa, pq = pyarrow_modules()
    types = {
        "str": pa.string(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("ms", tz="UTC"),
    }
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS])
    times = [name for name, kind in COLUMNS if kind == "datetime"]
    tmp = out.with_name(out.name + ".tmp")
    writer = pq.ParquetWriter(str(tmp), schema)
    try:
        batch: list[dict[str, Any]] = []
        with part.open("rb") as lines:
            for line in lines:
                row = json.loads(line)
                for name in times:
                    if row.get(name) is not None:
                        row[name] = datetime.fromisoformat(row[name])
                batch.append(row)
                if len(batch) >= PARQUET_BATCH_ROWS:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    finally:
        writer.close()
    os.replace(tmp, out)
