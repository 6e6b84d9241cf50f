"""`export_plan_progress`: the export itself, by plan rosters or one call per learner."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lmsplans.client._endpoints import LEARNER_PLANS_PROGRESS, PLAN_LEARNERS
from lmsplans.client._errors import NotFoundError, PermissionDeniedError
from lmsplans.client._sync.client import Client
from lmsplans.client.export._format import (
    FORMATS,
    ExportError,
    encode,
    plan_progress_row,
    pyarrow_modules,
    roster_row,
    write_parquet,
)
from lmsplans.client.export._journal import Files, Journal
from lmsplans.client.export._sources import ROSTER_PAGE, RosterReader

__all__ = ["VIA", "ExportJob", "ExportProgress", "ExportResult", "export_plan_progress"]

VIA = ("auto", "rosters", "learners")


@dataclass(frozen=True, slots=True)
class ExportJob:
    """How an export reads, told to its progress display before the first row.

    `via` is "rosters" (each plan's roster, 100 learners with their progress a call) or
    "learners" (the reference endpoint, one call per learner); `reason` says why; `unit` is
    what `total` counts (plans or learners); `calls_left()` the calls still to make to `api`.
    """

    via: str
    reason: str
    unit: str
    total: int
    done: int
    api: str
    calls_left: Callable[[], int]


class ExportProgress(Protocol):
    """Told how far an export has come (a progress bar, a log). Two more hooks are called when
    present: `listed(learners)` while rosters are read to list the learners, and
    `describe(job: ExportJob)` once the way of reading is chosen."""

    def start(self, total: int, done: int) -> None:
        """`total` units (learners, or plans), of which `done` were exported by an earlier run."""

    def advance(self, learner: str, rows: int) -> None:
        """One more unit (a learner, or a plan's roster) exported, with `rows` rows."""


@dataclass(slots=True)
class ExportResult:
    """What an export did."""

    out: Path
    learners: int = 0  # in the list (the roster path: distinct learners in the rows)
    exported: int = 0  # units exported by this run
    resumed_from: int = 0  # units an earlier run had exported
    rows: int = 0  # in the output
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (learner, reason)
    via: str = "learners"
    plans: int = 0  # plans read (the roster path)


def _tell(progress: ExportProgress | None, hook: str, *args: Any) -> None:
    method = getattr(progress, hook, None)
    if method is not None:
        method(*args)


def export_plan_progress(
    client: Client,
    *,
    out: Path,
    fmt: str,
    learners: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    via: str = "auto",
    overwrite: bool = False,
    progress: ExportProgress | None = None,
    fsync: bool = False,
) -> ExportResult:
    """Export every learner's plan progress to `out`, one row per learner and plan, resumably
    (see the package docstring).

    Without `learners`, the plan rosters say who is enrolled, and `via` chooses how progress
    is read: "rosters" (each plan's roster, 100 learners with their progress a call: against
    this server, `P * ceil(N_p / 100)` calls for N learners in P plans), "learners" (the
    reference endpoint, one call per learner: Zoho's way) or "auto" (the first roster page
    read says whether rosters carry progress). With `learners` (a list, or a function that
    makes it, called only when there is work to do) each is read through the reference
    endpoint. A learner the API does not know (404), or may not show (403 9000), is skipped
    and reported; any other error stops the export, which a rerun resumes (the same way: the
    choice is kept in the journal). With `overwrite`, an existing output and any unfinished
    export are replaced; without it an existing output that has no journal is an error.
    `fsync` also survives power loss, not only crashes.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if via not in VIA:
        raise ExportError(f"unknown way {via!r}: use one of {', '.join(VIA)}")
    if learners is not None and via == "rosters":
        raise ExportError("--via rosters reads every learner of the rosters: drop the learners")
    if fmt == "parquet":
        pyarrow_modules()  # fail before any call, not after an hour of them
    files = Files(Path(out), fmt)
    journal = Journal.open(files, overwrite=overwrite, fsync=fsync)
    result = ExportResult(out=files.out)
    if not journal.complete:
        reader = RosterReader(client, listed=lambda n: _tell(progress, "listed", n))
        chosen, reason = _choose(journal, reader, learners, via)
        if journal.via != chosen:
            journal.amend(via=chosen)
        if chosen == "rosters":
            _by_rosters(journal, reader, result, progress, reason)
        else:
            _by_learners(client, journal, reader, learners, result, progress, reason)
        with files.data.open("ab") as sink:
            journal.record({"complete": True, "end": sink.tell()})
    result.via = journal.via or "learners"
    result.rows = sum(journal.done.values()) + sum(journal.plans.values())
    if result.via == "rosters":
        result.learners, result.plans = len(journal.seen), len(journal.plans)
    elif not result.learners:
        result.learners = len(journal.done)
    if fmt == "parquet":
        if files.data.exists():
            write_parquet(files.data, files.out)
            files.data.unlink()
        elif not files.out.exists():
            raise ExportError(f"{files.data} is missing: rerun with --overwrite")
    files.state.unlink()
    return result


def _choose(
    journal: Journal,
    reader: RosterReader,
    learners: Sequence[str] | Callable[[], Sequence[str]] | None,
    via: str,
) -> tuple[str, str]:
    """The way to read, and why (an unfinished export goes on the way it started)."""
    if journal.via is not None:
        if (via not in ("auto", journal.via)) or (
            learners is not None and journal.via != "learners"
        ):
            raise ExportError(
                f"an unfinished export via {journal.via} exists: rerun with --via "
                f"{journal.via} (or auto), or pass --overwrite"
            )
        return journal.via, f"as the interrupted run did (via {journal.via})"
    if learners is not None:
        return "learners", "one call per learner of the list"
    if via != "auto":
        return via, f"as asked (--via {via})"
    for plan in reader.published():
        members = reader.first_page(plan)
        if members:
            if all(member.progress_info is not None for member in members):
                return "rosters", f"the rosters carry progress: {ROSTER_PAGE} learners a call"
            return "learners", "the rosters carry no progress (Zoho): one call per learner"
    return "rosters", "no plan has learners"


def _by_rosters(
    journal: Journal,
    reader: RosterReader,
    result: ExportResult,
    progress: ExportProgress | None,
    reason: str,
) -> None:
    plans = reader.published()
    todo = [plan for plan in plans if plan.plan_id not in journal.plans]
    result.resumed_from = len(plans) - len(todo)
    for plan in todo:  # each roster's first page first: then every roster's size is known
        reader.first_page(plan)
    left = list(todo)
    job = ExportJob(
        "rosters",
        reason,
        "plans",
        len(plans),
        result.resumed_from,
        PLAN_LEARNERS.api,
        lambda: reader.calls_left(left),
    )
    _tell(progress, "describe", job)
    if progress is not None:
        progress.start(len(plans), result.resumed_from)
    with journal.files.data.open("ab") as sink:
        for plan in todo:
            rows = [roster_row(plan, m) for members in reader.roster(plan) for m in members]
            _write(sink, journal, rows)
            users = sorted({row["user_id"] for row in rows})
            entry = {"plan": plan.plan_id, "rows": len(rows), "learners": users}
            journal.record({**entry, "end": sink.tell()})
            left.remove(plan)
            result.exported += 1
            if progress is not None:
                progress.advance(plan.plan_name or plan.plan_id, len(rows))


def _by_learners(
    client: Client,
    journal: Journal,
    reader: RosterReader,
    learners: Sequence[str] | Callable[[], Sequence[str]] | None,
    result: ExportResult,
    progress: ExportProgress | None,
    reason: str,
) -> None:
    if learners is not None:
        everyone = list(dict.fromkeys(learners() if callable(learners) else learners))
    elif journal.learners is not None:
        everyone = journal.learners  # listed by the interrupted run: not listed again
    else:
        everyone = reader.learner_ids()
        journal.amend(learners=everyone)
    todo = [learner for learner in everyone if learner not in journal.done]
    result.learners, result.resumed_from = len(everyone), len(everyone) - len(todo)
    left = [len(todo)]
    job = ExportJob(
        "learners",
        reason,
        "learners",
        len(everyone),
        result.resumed_from,
        LEARNER_PLANS_PROGRESS.api,
        lambda: left[0],
    )
    _tell(progress, "describe", job)
    if progress is not None:
        progress.start(len(everyone), result.resumed_from)
    with journal.files.data.open("ab") as sink:
        for learner in todo:
            entry: dict[str, Any] = {"learner": learner}
            try:
                rows = [
                    plan_progress_row(learner, plan)
                    for plan in client.learners.learning_plans_progress(learner)
                ]
            except (NotFoundError, PermissionDeniedError) as error:
                if isinstance(error, PermissionDeniedError) and error.code != 9000:
                    raise  # a scope error would fail every learner: stop
                rows = []
                why = f"{error.status} {error.code}: {error.message}"
                entry["skipped"] = why
                result.skipped.append((learner, why))
            _write(sink, journal, rows)
            journal.record({**entry, "rows": len(rows), "end": sink.tell()})
            left[0] -= 1
            result.exported += 1
            if progress is not None:
                progress.advance(learner, len(rows))


def _write(sink: Any, journal: Journal, rows: list[dict[str, Any]]) -> None:
    sink.write(encode(journal.files.fmt, rows))
    sink.flush()
    if journal.fsync:
        os.fsync(sink.fileno())
