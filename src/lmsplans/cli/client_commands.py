"""The client half of the command line: `lmsplans progress` and `lmsplans export`.

These commands talk to a server over HTTP with `lmsplans.client` (this server, or Zoho People
itself) and import nothing of the server. Connection settings come from flags or from the
`LMSPLANS_*` environment variables named in `--help`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from lmsplans.cli.client_options import (
    Connection,
    connect,
    console,
    fail,
)
from lmsplans.cli.export_command import export
from lmsplans.cli.option_groups import with_option_groups


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


_STATUS = {"inProgress": "in progress", "notStarted": "not started", "completed": "completed"}


def _pct(value: int | None) -> str:
    return "" if value is None else f"{value}%"


@with_option_groups
def progress(
    learner: Annotated[str, typer.Argument(help="The learner: userId (erecno), zuid or email.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the records as JSON instead of a table.")
    ] = False,
    *,
    connection: Connection,
) -> None:
    """Show a learner's learning plans: progress, due dates, overdue plans, completion."""
    import json

    from lmsplans.client import LmsPlansError

    with connect(connection) as client:
        try:
            plans = client.learners.learning_plans_progress(learner).to_list()
        except LmsPlansError as error:
            raise fail(error) from None
    if json_output:
        print(json.dumps([plan.raw for plan in plans], indent=2))
        return
    if not plans:
        console.print(f"Learner {learner} is enrolled in no published learning plan.")
        return
    table = Table(
        title=f"Learning plans of {learner}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="Progress: mandatory courses completed. All: every course of the plan.",
        caption_justify="left",
    )
    table.add_column("Plan", min_width=12, overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Progress", justify="right", no_wrap=True)
    table.add_column("All", justify="right", no_wrap=True)
    table.add_column("Due", no_wrap=True)
    table.add_column("Overdue", no_wrap=True)
    table.add_column("Completed", no_wrap=True)
    for plan in plans:
        info = plan.progress_info
        done = plan.user_info.is_user_completed_plan
        overdue = bool(info and info.is_overdue)
        courses = (
            f" ({info.completed_course_count}/{info.course_count})"
            if info and info.course_count is not None
            else ""
        )
        status = (info.status if info else None) or ("completed" if done else "")
        table.add_row(
            plan.plan_info.plan_name or plan.plan_id,
            _STATUS.get(status, status),
            _pct(info.progress_percentage if info else None),
            _pct(info.all_courses_percentage if info else None) + courses,
            _date(info.due_time if info else None),
            "[bold red]overdue[/bold red]" if overdue else "",
            _date(info.completed_time if info else None) or ("yes" if done else ""),
        )
    console.print(table)


def command_help(command: Any) -> str:
    """The command's docstring with each paragraph on one line (the help reflows it)."""
    paragraphs = (command.__doc__ or "").strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def register(app: typer.Typer) -> None:
    """Add the client commands to the `lmsplans` application."""
    app.command("progress", help=command_help(progress))(progress)
    app.command("export", help=command_help(export))(export)
