"""`lmsplans import learners FILE.csv` and `lmsplans import plans FILE`: loading the people,
courses and plans an organisation already has, again and again.

A file is imported in one transaction, all or nothing: every problem of the file is listed
with its line (exit status 65) and nothing is written. Rows are matched to what exists
(learners on employee id, else email; courses and plans on their name), so an import run
again updates what changed and leaves the rest. `--dry-run` does all of it, says what would
change, and rolls it back. The writes go through the domain services, as the API's do.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from lmsplans.cli.import_files import FileProblem, LearnerRows, dotted, line_of
from lmsplans.cli.runtime import (
    ExitStatus,
    Failure,
    console,
    errors,
    load_settings,
    migrated_database,
    server_command,
)
from lmsplans.cli.server_commands import organisation_id

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from lmsplans.server.db import Connection
    from lmsplans.server.settings import Settings
    from lmsplans.server.writes import WriteContext

import_app = typer.Typer(
    help="Load an organisation's people (CSV) or its courses and plans (YAML, JSON).",
    no_args_is_help=True,
)

OrgOption = Annotated[str, typer.Option(help="The organisation: its name or id.")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Say what would change, and change nothing.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON only.")]
ROWS_SHOWN = 50  # changed rows listed after a real import (a dry run lists them all)


class _RolledBack(Exception):
    """Ends a dry run's transaction (rolled back) with its result."""

    def __init__(self, result: Any) -> None:
        self.result = result


class _Refused(Exception):
    """Ends an import's transaction (rolled back) with the file's problems."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems


def _bar(what: str, *, quiet: bool) -> Progress:
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


async def _import(
    settings: Settings,
    org: str,
    *,
    dry_run: bool,
    actor: Callable[[Connection, int], Any] | None,
    job: Callable[[Connection, WriteContext], Any],
) -> tuple[Any, float]:
    """Run `job` in one transaction of the organisation's import, as `actor` (or the
    system), rolled back for a dry run; answers its result and the seconds it took."""
    from lmsplans.server.auth.schemas import Role
    from lmsplans.server.clock import Clock
    from lmsplans.server.writes import WriteContext

    async with migrated_database(settings) as db:
        async with db.read() as conn:
            org_id = await organisation_id(conn, org)
            actor_id = None if actor is None else await actor(conn, org_id)
        write = WriteContext(
            org_id=org_id,
            actor_id=actor_id,
            source="import",
            now_ms=Clock().now_ms(),
            role=Role.ADMIN,
        )
        started = time.perf_counter()
        try:
            async with db.transaction() as conn:
                result = await job(conn, write)
                if dry_run:
                    raise _RolledBack(result)
        except _RolledBack as rolled_back:
            result = rolled_back.result
        return result, time.perf_counter() - started


def _refuse(problems: list[FileProblem], file: Path, *, json_output: bool) -> typer.Exit:
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


def _summary(what: str, counts: dict[str, int], seconds: float, dry_run: bool) -> str:
    """The last line of a report: "8 learners in people.csv: 7 created, 1 updated, 0
    unchanged (0.05 s)."; a dry run's says what would be, and that nothing was written."""
    would = "would be " if dry_run else ""
    said = f"{counts['created']} {would}created, {counts['updated']} {would}updated, "
    said += f"{counts['unchanged']} unchanged"
    if dry_run:
        return f"Dry run, {what}: {said}. Nothing was written."
    return f"{what}: {said} ({seconds:.2f} s)."


# --- learners ------------------------------------------------------------------------------


@server_command
def import_learners(
    file: Annotated[Path, typer.Argument(help="A CSV file (UTF-8, a header row).", dir_okay=False)],
    org: OrgOption,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
) -> None:
    """Create or update an organisation's learners from an HR system's CSV export.

    Columns (by header, case ignored): employee id, email, name (or first and last name),
    manager (an email or employee id), role (admin, manager, learner), status (active,
    inactive). Learners are matched on employee id, else email.
    """
    from lmsplans.cli.import_files import read_learners

    settings = load_settings()
    rows = read_learners(file)
    if rows.problems and not rows.items:
        raise _refuse(rows.problems, file, json_output=json_output)
    with _bar("learners", quiet=json_output) as bar:
        task = bar.add_task("learners", total=len(rows.items))
        try:
            done, seconds = asyncio.run(
                _import(
                    settings,
                    org,
                    dry_run=dry_run,
                    actor=None,
                    job=lambda conn, write: _upsert(
                        conn, write, rows, advance=lambda n: bar.advance(task, n)
                    ),
                )
            )
        except _Refused as refused:
            raise _refuse(refused.problems, file, json_output=json_output) from None
    _report_learners(file, rows, done, seconds, dry_run=dry_run, json_output=json_output)


async def _upsert(
    conn: Connection, write: WriteContext, rows: LearnerRows, *, advance: Callable[[int], None]
) -> Any:
    from lmsplans.server.errors import BatchRefused
    from lmsplans.server.learners.queries import org_learners
    from lmsplans.server.learners.upsert import upsert_learners
    from lmsplans.server.learners.upsert_plan import plan_upsert

    def at_lines(problems: list[Any]) -> list[FileProblem]:
        return [
            FileProblem(rows.lines[int(p.path[0])], rows.where(str(p.path[1])), p.message)
            for p in problems
        ]

    def name_item(index: int) -> str:
        return f"line {rows.lines[index]}"

    if rows.problems:
        # Some rows cannot be read: the file is refused, after the checks across rows (they
        # see every row, a bad one with stand-ins for its bad values) and without writing.
        existing = await org_learners(conn, org_id=write.org_id)
        plan = plan_upsert(existing, rows.items, name_item=name_item)
        raise _Refused(rows.problems + at_lines(plan.problems))
    try:
        return await upsert_learners(
            conn,
            write=write,
            items=rows.items,
            payload="row",
            name_item=name_item,
            advance=advance,
        )
    except BatchRefused as refused:
        raise _Refused(at_lines(refused.problems)) from None


def _report_learners(
    file: Path,
    rows: LearnerRows,
    done: list[Any],
    seconds: float,
    *,
    dry_run: bool,
    json_output: bool,
) -> None:
    counts = {c: sum(1 for d in done if d.change == c) for c in ("created", "updated", "unchanged")}
    if json_output:
        report = {
            "file": str(file),
            "dryRun": dry_run,
            "written": not dry_run,
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


# --- plans ---------------------------------------------------------------------------------


@server_command
def import_plans(
    file: Annotated[Path, typer.Argument(help="A YAML or JSON catalogue.", dir_okay=False)],
    org: OrgOption,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
) -> None:
    """Create or update an organisation's courses and learning plans (levels, mandatory
    courses, publishing, enrolments) from a YAML or JSON file; see docs/importing.md."""
    from lmsplans.cli.import_files import read_catalogue

    settings = load_settings()
    catalogue, lines, problems = read_catalogue(file)
    if catalogue is None:
        raise _refuse(problems, file, json_output=json_output)
    with _bar("courses, plans and enrolments", quiet=json_output) as bar:
        task = bar.add_task("catalogue", total=None)
        try:
            applied, seconds = asyncio.run(
                _import(
                    settings,
                    org,
                    dry_run=dry_run,
                    actor=_first_admin,
                    job=lambda conn, write: _apply(
                        conn,
                        write,
                        catalogue,
                        lines,
                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                    ),
                )
            )
        except _Refused as refused:
            raise _refuse(refused.problems, file, json_output=json_output) from None
    _report_catalogue(file, applied, seconds, dry_run=dry_run, json_output=json_output)


async def _first_admin(conn: Connection, org_id: int) -> int:
    """Who imports a catalogue (and owns its new plans): the organisation's first admin."""
    from lmsplans.server.organisations.queries import active_admin_ids

    admins = await active_admin_ids(conn, org_id=org_id)
    if not admins:
        raise Failure("The organisation has no active admin to own its plans.")
    return admins[0]


async def _apply(
    conn: Connection,
    write: WriteContext,
    catalogue: Any,
    lines: dict[tuple[Any, ...], int],
    *,
    progress: Callable[[int, int], None],
) -> Any:
    from lmsplans.server.errors import BatchRefused
    from lmsplans.server.plans.catalogue import apply_catalogue

    try:
        return await apply_catalogue(conn, write=write, catalogue=catalogue, progress=progress)
    except BatchRefused as refused:
        raise _Refused(
            [
                FileProblem(line_of(lines, p.path), dotted(p.path), p.message)
                for p in refused.problems
            ]
        ) from None


def _report_catalogue(
    file: Path, applied: list[Any], seconds: float, *, dry_run: bool, json_output: bool
) -> None:
    if json_output:
        report = {
            "file": str(file),
            "dryRun": dry_run,
            "written": not dry_run,
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
    counts = {
        c: sum(1 for a in applied if a.change == c) for c in ("created", "updated", "unchanged")
    }
    what = f"{len(applied)} courses and plans in {file.name}"
    console.print(_summary(what, counts, seconds, dry_run), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    import_app.command("learners")(import_learners)
    import_app.command("plans")(import_plans)
