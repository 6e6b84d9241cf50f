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
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lmsplans.cli.import_display import progress_bar, refusal, report_catalogue, report_learners
from lmsplans.cli.import_files import FileProblem, LearnerRows, dotted, line_of
from lmsplans.cli.option_groups import with_option_groups
from lmsplans.cli.runtime import Failure, load_settings, migrated_database, server_command
from lmsplans.cli.server_commands import organisation_id

if TYPE_CHECKING:
    from lmsplans.server.db import Connection
    from lmsplans.server.settings import Settings
    from lmsplans.server.writes import WriteContext

import_app = typer.Typer(
    help="Load an organisation's people (CSV) or its courses and plans (YAML, JSON).",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class ImportOptions:
    """The options of every import (an option group): whose, whether for real, how told."""

    org: Annotated[str, typer.Option(help="The organisation: its name or id.")]
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change, and change nothing.")
    ] = False
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON only.")] = (
        False
    )


# What an import writes, in its transaction; it moves the progress bar with the third
# argument, `update(advance=n)` or `update(completed=done, total=total)`.
ImportJob = Callable[["Connection", "WriteContext", Callable[..., None]], Awaitable[Any]]


class _RolledBack(Exception):
    """Ends a dry run's transaction (rolled back) with its result."""

    def __init__(self, result: Any) -> None:
        self.result = result


class _Refused(Exception):
    """Ends an import's transaction (rolled back) with the file's problems."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems


def _run(
    settings: Settings,
    file: Path,
    options: ImportOptions,
    *,
    what: str,
    total: int | None,
    actor: Callable[[Connection, int], Awaitable[int]] | None,
    job: ImportJob,
) -> tuple[Any, float]:
    """Import `file` with a progress bar of `what` (`total` steps, None: not known yet): its
    `job`'s result and the seconds it took, or the file's problems, which end the command."""
    with progress_bar(what, quiet=options.json_output) as bar:
        update = functools.partial(bar.update, bar.add_task(what, total=total))
        try:
            return asyncio.run(
                _transaction(
                    settings,
                    options.org,
                    dry_run=options.dry_run,
                    actor=actor,
                    job=lambda conn, write: job(conn, write, update),
                )
            )
        except _Refused as refused:
            raise refusal(refused.problems, file, json_output=options.json_output) from None


async def _transaction(
    settings: Settings,
    org: str,
    *,
    dry_run: bool,
    actor: Callable[[Connection, int], Awaitable[int]] | None,
    job: Callable[[Connection, WriteContext], Awaitable[Any]],
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


# --- learners ------------------------------------------------------------------------------


@server_command
@with_option_groups
def import_learners(
    file: Annotated[Path, typer.Argument(help="A CSV file (UTF-8, a header row).", dir_okay=False)],
    *,
    options: ImportOptions,
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
        raise refusal(rows.problems, file, json_output=options.json_output)
    job = functools.partial(_upsert, rows=rows)
    done, seconds = _run(
        settings, file, options, what="learners", total=len(rows.items), actor=None, job=job
    )
    report_learners(
        file, rows, done, seconds, dry_run=options.dry_run, json_output=options.json_output
    )


async def _upsert(
    conn: Connection, write: WriteContext, update: Callable[..., None], *, rows: LearnerRows
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
            advance=lambda count: update(advance=count),
        )
    except BatchRefused as refused:
        raise _Refused(at_lines(refused.problems)) from None


# --- plans ---------------------------------------------------------------------------------


@server_command
@with_option_groups
def import_plans(
    file: Annotated[Path, typer.Argument(help="A YAML or JSON catalogue.", dir_okay=False)],
    *,
    options: ImportOptions,
) -> None:
    """Create or update an organisation's courses and learning plans (levels, mandatory
    courses, publishing, enrolments) from a YAML or JSON file; see docs/importing.md."""
    from lmsplans.cli.import_files import read_catalogue

    settings = load_settings()
    catalogue, lines, problems = read_catalogue(file)
    if catalogue is None:
        raise refusal(problems, file, json_output=options.json_output)
    job = functools.partial(_apply, catalogue=catalogue, lines=lines)
    applied, seconds = _run(
        settings,
        file,
        options,
        what="courses, plans and enrolments",
        total=None,
        actor=_first_admin,
        job=job,
    )
    report_catalogue(
        file, applied, seconds, dry_run=options.dry_run, json_output=options.json_output
    )


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
    update: Callable[..., None],
    *,
    catalogue: Any,
    lines: dict[tuple[Any, ...], int],
) -> Any:
    from lmsplans.server.errors import BatchRefused
    from lmsplans.server.plans.catalogue import apply_catalogue

    def progress(done: int, total: int) -> None:
        update(completed=done, total=total)

    try:
        return await apply_catalogue(conn, write=write, catalogue=catalogue, progress=progress)
    except BatchRefused as refused:
        raise _Refused(
            [
                FileProblem(line_of(lines, p.path), dotted(p.path), p.message)
                for p in refused.problems
            ]
        ) from None


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    import_app.command("learners")(import_learners)
    import_app.command("plans")(import_plans)
