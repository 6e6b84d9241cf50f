"""What `lmsplans import` shows: its progress bar, the problems of a refused file, and the
report of an import (a table and a summary line, or `--json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from lmsplans.cli.import_files import FileProblem, LearnerRows
from lmsplans.cli.runtime import ExitStatus, console, errors

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

ROWS_SHOWN = 50  # changed rows listed after a real import (a dry run lists them all)
_CHANGES = ("created", "updated", "unchanged")


def progress_bar(what: str, *, quiet: bool) -> Progress:
    """A progress bar on stderr (none when it is not a terminal, or for `--json`)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn(f"Importing {what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=quiet or not errors.is_terminal,
    )


def refusal(problems: list[FileProblem], file: Path, *, json_output: bool) -> typer.Exit:
    """List the file's problems, each with its line; the exit (status 65) to raise."""
    problems = sorted(problems, key=lambda p: (p.line or 0, p.where))
    if json_output:
        report = [{"line": p.line, "where": p.where, "message": p.message} for p in problems]
        print(json.dumps({"file": str(file), "written": False, "problems": report}, indent=2))
    for problem in problems:
        errors.print(escape(str(problem)), highlight=False)
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    errors.print(f"[red]{count} in {escape(str(file))}: nothing was written.[/red]")
    return typer.Exit(ExitStatus.INVALID)


def _table(*columns: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(*columns, box=box.SIMPLE_HEAD)


def _changes_text(changes: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{name}: {before} -> {after}" for name, (before, after) in changes.items())


def _counts(done: list[Any]) -> dict[str, int]:
    """How many of the written items were created, updated and left unchanged."""
    return {change: sum(1 for d in done if d.change == change) for change in _CHANGES}


def _about(file: Path, dry_run: bool) -> dict[str, Any]:
    """The first fields of a `--json` report: the file, and whether it was written."""
    return {"file": str(file), "dryRun": dry_run, "written": not dry_run}


def _summary(what: str, counts: dict[str, int], seconds: float, dry_run: bool) -> str:
    """The last line of a report: "8 learners in people.csv: 7 created, 1 updated, 0
    unchanged (0.05 s)."; a dry run's says what would be, and that nothing was written."""
    would = "would be " if dry_run else ""
    said = f"{counts['created']} {would}created, {counts['updated']} {would}updated, "
    said += f"{counts['unchanged']} unchanged"
    if dry_run:
        return f"Dry run, {what}: {said}. Nothing was written."
    return f"{what}: {said} ({seconds:.2f} s)."


def report_learners(
    file: Path,
    rows: LearnerRows,
    done: list[Any],
    seconds: float,
    *,
    dry_run: bool,
    json_output: bool,
) -> None:
    """What an import of learners did (or, dry, would do), row by row."""
    counts = _counts(done)
    if json_output:
        report = {
            **_about(file, dry_run),
            **counts,
            "seconds": round(seconds, 3),
            "rows": [
                {
                    "line": rows.lines[d.index],
                    "userId": str(d.learner_id),
                    "employeeId": rows.items[d.index].employeeId,
                    "emailId": rows.items[d.index].emailId.lower(),
                    "change": d.change,
                    "changes": {k: list(v) for k, v in d.changes.items()},
                }
                for d in done
            ],
        }
        print(json.dumps(report, indent=2))
        return
    changed = [d for d in done if d.change != "unchanged"]
    if rows.ignored:
        ignored = ", ".join(repr(h) for h in rows.ignored)
        console.print(f"Columns left aside: {ignored}.", highlight=False)
    shown = changed if dry_run else changed[:ROWS_SHOWN]
    if shown:
        table = _table("Line", "Employee id", "Email", "Change", "What changes")
        for d in shown:
            item = rows.items[d.index]
            table.add_row(
                str(rows.lines[d.index]),
                item.employeeId or "",
                item.emailId.lower(),
                d.change,
                _changes_text(d.changes),
            )
        console.print(table)
    if len(shown) < len(changed):
        console.print(f"... and {len(changed) - len(shown)} more (--json lists every row).")
    what = f"{len(done)} learners in {file.name}"
    console.print(_summary(what, counts, seconds, dry_run), highlight=False)


def report_catalogue(
    file: Path, applied: list[Any], seconds: float, *, dry_run: bool, json_output: bool
) -> None:
    """What an import of courses and plans did (or, dry, would do), item by item."""
    if json_output:
        report = {
            **_about(file, dry_run),
            "seconds": round(seconds, 3),
            "items": [
                {
                    "kind": a.path[0].removesuffix("s"),
                    "name": a.name,
                    "id": str(a.record_id),
                    "change": a.change,
                    "changes": {k: list(v) for k, v in a.changes.items()},
                    **({"enrolled": a.enrolled, "alreadyEnrolled": a.already_enrolled}
                       if a.path[0] == "plans" else {}),
                }
                for a in applied
            ],
        }  # fmt: skip
        print(json.dumps(report, indent=2))
        return
    table = _table("", "Name", "Id", "Change", "What changes")
    for a in applied:
        details = _changes_text(a.changes)
        if a.enrolled or a.already_enrolled:
            enrolled = f"{a.enrolled} enrolled now, {a.already_enrolled} already"
            details = f"{details}; {enrolled}" if details else enrolled
        kind = "course" if a.path[0] == "courses" else "plan"
        table.add_row(kind, a.name, str(a.record_id), a.change, details)
    console.print(table)
    what = f"{len(applied)} courses and plans in {file.name}"
    console.print(_summary(what, _counts(applied), seconds, dry_run), highlight=False)
