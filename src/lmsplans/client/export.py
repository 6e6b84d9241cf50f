"""Export every learner's plan progress to CSV, JSON lines or Parquet, resumably.

One row per learner and plan, fetched through the reference endpoint
(`GET /api/v1/learners/{learnerId}/learning-plans/progress`) under the client's governor.

Exactly once, across Ctrl-C and SIGKILL: rows are appended and flushed one learner at a time,
and only then is the learner recorded in a journal beside the output (`<out>.state`, one JSON
line per learner with the output's length after its rows). A rerun reads the journal, cuts the
output back to the length after the last recorded learner (dropping the rows of a learner that
was being written when the run died, and any half-written line), and carries on with the
learners not recorded. A half-written journal line is ignored the same way. Parquet cannot be
appended to, so its rows go to `<out>.part.jsonl` first and become `<out>` at the end. The
journal is removed once the export is complete.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from lmsplans.client._errors import LmsPlansError, NotFoundError, PermissionDeniedError
from lmsplans.client._models import LearningPlanProgress
from lmsplans.client._sync.client import Client

__all__ = [
    "COLUMNS",
    "FORMATS",
    "ExportError",
    "ExportProgress",
    "ExportResult",
    "export_plan_progress",
    "learners_from_rosters",
    "plan_progress_row",
    "read_learners_file",
]

FORMATS = ("csv", "jsonl", "parquet")
JOURNAL_VERSION = 1
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


class ExportProgress(Protocol):
    """Told how far an export has come (a progress bar, a log)."""

    def start(self, total: int, done: int) -> None:
        """`total` learners, of which `done` were exported by an earlier run."""

    def advance(self, learner: str, rows: int) -> None:
        """One more learner exported, with `rows` rows."""


@dataclass(slots=True)
class ExportResult:
    """What an export did."""

    out: Path
    learners: int = 0  # in the list
    exported: int = 0  # by this run
    resumed_from: int = 0  # learners an earlier run had exported
    rows: int = 0  # in the output
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (learner, reason)


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


def learners_from_rosters(client: Client) -> list[str]:
    """Every learner on the roster of a plan the caller can see, once each, in roster order
    (this server only: Zoho has no roster API; give Zoho a learners file)."""
    seen: dict[str, None] = {}
    for plan in client.learning_plans.list():
        for member in client.learning_plans.learners(plan.plan_id):
            if member.user_id:
                seen.setdefault(member.user_id)
    return list(seen)


def read_learners_file(path: Path) -> list[str]:
    """Learner ids (userId, zuid or email), one a line; blank lines and `#` comments skipped,
    repeats dropped."""
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        learner = line.split("#", 1)[0].strip()
        if learner:
            seen.setdefault(learner)
    return list(seen)


# --- encoding -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return value


def _csv_line(values: Iterable[Any]) -> bytes:
    buffer = io.StringIO()
    cells = [
        "" if v is None else ("true" if v is True else "false" if v is False else _plain(v))
        for v in values
    ]
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _encode(fmt: str, rows: list[dict[str, Any]]) -> bytes:
    if fmt == "csv":
        return b"".join(_csv_line(row[name] for name in COLUMN_NAMES) for row in rows)
    return b"".join(
        (json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n").encode()
        for row in rows
    )


def _header(fmt: str) -> bytes:
    return _csv_line(COLUMN_NAMES) if fmt == "csv" else b""


def _pyarrow() -> tuple[Any, Any]:
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ExportError(
            "Parquet export needs pyarrow: pip install 'lmsplans[export-parquet]'"
        ) from None


def _write_parquet(part: Path, out: Path) -> None:
    pa, pq = _pyarrow()
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


# --- the journal --------------------------------------------------------------------------


@dataclass(slots=True)
class _Journal:
    path: Path
    header: dict[str, Any]
    done: dict[str, int]  # learner -> rows
    end: int  # the data file's length after the last recorded learner
    complete: bool = False

    @classmethod
    def load(cls, path: Path) -> _Journal:
        raw = path.read_bytes()
        cut = raw.rfind(b"\n") + 1  # a half-written last line is dropped
        if cut < len(raw):
            with path.open("r+b") as handle:
                handle.truncate(cut)
        lines = raw[:cut].splitlines()
        try:
            entries = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise ExportError(f"{path} is damaged ({exc}); rerun with --overwrite") from None
        if not entries or entries[0].get("lmsplans_export") != JOURNAL_VERSION:
            raise ExportError(f"{path} is not an lmsplans export journal")
        header = entries[0]
        journal = cls(path, header, {}, int(header["start"]))
        for entry in entries[1:]:
            if entry.get("complete"):
                journal.complete = True
            elif "learner" in entry:
                journal.done[str(entry["learner"])] = int(entry["rows"])
            journal.end = int(entry.get("end", journal.end))
        return journal


def _append_line(handle: Any, entry: dict[str, Any], fsync: bool) -> None:
    handle.write((json.dumps(entry) + "\n").encode())
    handle.flush()
    if fsync:
        os.fsync(handle.fileno())


def export_plan_progress(
    client: Client,
    *,
    out: Path,
    fmt: str,
    learners: Sequence[str] | Callable[[], Sequence[str]],
    overwrite: bool = False,
    progress: ExportProgress | None = None,
    fsync: bool = False,
) -> ExportResult:
    """Export every listed learner's plan progress to `out` (see the module docstring).

    `learners` is the list, or a function that makes it (called only when there is work to
    do). A learner the API does not know (404), or may not show (403 9000), is skipped and
    reported; any other error stops the export, which a rerun resumes. With `overwrite`, an
    existing output and any unfinished export are replaced; without it an existing output
    that has no journal is an error. `fsync` also survives power loss, not only crashes.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        _pyarrow()  # fail before any call, not after an hour of them
    out = Path(out)
    data = out.with_name(out.name + ".part.jsonl") if fmt == "parquet" else out
    state = out.with_name(out.name + ".state")
    if overwrite:
        for path in {out, data, state}:
            path.unlink(missing_ok=True)
    if state.exists():
        journal = _Journal.load(state)
        if journal.header.get("format") != fmt:
            raise ExportError(
                f"an unfinished {journal.header.get('format')} export to {out} exists: rerun "
                f"with --format {journal.header.get('format')}, or pass --overwrite"
            )
        if not journal.complete:
            size = data.stat().st_size if data.exists() else 0
            if size < journal.end and journal.done:
                raise ExportError(
                    f"{data} is shorter than its journal says ({size} < {journal.end} bytes): "
                    "rows were lost outside this program; rerun with --overwrite"
                )
            if size < journal.end or not data.exists():  # died before the header was written
                data.write_bytes(_header(fmt))
            with data.open("r+b") as handle:
                handle.truncate(journal.end)  # drop a partly written learner
    else:
        if out.exists() or data.exists():
            raise ExportError(f"{out} already exists: pass --overwrite to replace it")
        header = _header(fmt)
        first: dict[str, Any] = {
            "lmsplans_export": JOURNAL_VERSION,
            "format": fmt,
            "columns": COLUMN_NAMES,
            "start": len(header),
        }
        with state.open("wb") as handle:  # the journal first: a data file never lacks one
            _append_line(handle, first, fsync)
        data.write_bytes(header)
        journal = _Journal(state, first, {}, len(header))

    result = ExportResult(out=out, resumed_from=len(journal.done))
    if not journal.complete:
        everyone = list(dict.fromkeys(learners() if callable(learners) else learners))
        todo = [learner for learner in everyone if learner not in journal.done]
        result.learners = len(everyone)
        if progress is not None:
            progress.start(len(everyone), len(everyone) - len(todo))
        with state.open("ab") as log, data.open("ab") as sink:
            for learner in todo:
                entry = {"learner": learner}
                try:
                    rows = [
                        plan_progress_row(learner, plan)
                        for plan in client.learners.learning_plans_progress(learner)
                    ]
                except (NotFoundError, PermissionDeniedError) as error:
                    if isinstance(error, PermissionDeniedError) and error.code != 9000:
                        raise  # a scope error would fail every learner: stop
                    rows = []
                    reason = f"{error.status} {error.code}: {error.message}"
                    entry["skipped"] = reason
                    result.skipped.append((learner, reason))
                sink.write(_encode(fmt, rows))
                sink.flush()
                if fsync:
                    os.fsync(sink.fileno())
                _append_line(log, {**entry, "rows": len(rows), "end": sink.tell()}, fsync)
                journal.done[learner] = len(rows)
                result.exported += 1
                if progress is not None:
                    progress.advance(learner, len(rows))
            _append_line(log, {"complete": True, "end": sink.tell()}, fsync)
    else:
        result.learners = len(journal.done)
    result.rows = sum(journal.done.values())
    if fmt == "parquet":
        if data.exists():
            _write_parquet(data, out)
            data.unlink()
        elif not out.exists():
            raise ExportError(f"{data} is missing: rerun with --overwrite")
    state.unlink()
    return result
