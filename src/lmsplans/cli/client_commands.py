"""The client half of the command line: `lmsplans progress` and `lmsplans export`.

These commands talk to a server over HTTP with `lmsplans.client` (this server, or Zoho People
itself) and import nothing of the server. Connection settings come from flags or from the
`LMSPLANS_*` environment variables named in `--help`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from lmsplans.client import Client

REFERENCE_API = "GET /api/v1/learners/{learnerId}/learning-plans/progress"
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

_CONNECTION = "Connection"
BaseUrl = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_BASE_URL",
        help="The API's base URL, e.g. http://127.0.0.1:8000 (else the --dc's People host).",
        rich_help_panel=_CONNECTION,
    ),
]
AccountsUrl = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_ACCOUNTS_URL",
        help="The token endpoint's base URL \\[default: --base-url, or the --dc's Accounts host].",
        rich_help_panel=_CONNECTION,
    ),
]
Dc = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_DC",
        help="Zoho data centre: com, eu, in, com.au, jp, ca, sa, uk, com.cn \\[default: com].",
        rich_help_panel=_CONNECTION,
    ),
]
AccessToken = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_ACCESS_TOKEN",
        help="An access token (or use a refresh token with a client id and secret).",
        rich_help_panel=_CONNECTION,
    ),
]
RefreshToken = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_REFRESH_TOKEN",
        help="A refresh token; access tokens are then minted as needed.",
        rich_help_panel=_CONNECTION,
    ),
]
ClientId = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_CLIENT_ID", help="The OAuth client id.", rich_help_panel=_CONNECTION
    ),
]
ClientSecret = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_CLIENT_SECRET",
        help="The OAuth client secret.",
        rich_help_panel=_CONNECTION,
    ),
]

_PACING = "Pacing"
Threshold = Annotated[
    int,
    typer.Option(
        min=1,
        help="Calls per window per API until the server announces its own (RateLimit-Policy).",
        rich_help_panel=_PACING,
    ),
]
Window = Annotated[
    float,
    typer.Option(min=0.001, help="The window of --threshold, in seconds.", rich_help_panel=_PACING),
]
Lock = Annotated[
    float,
    typer.Option(
        min=0,
        help="Seconds to wait after a 429 that does not say how long (Zoho: 300).",
        rich_help_panel=_PACING,
    ),
]
MaxRetries = Annotated[
    int,
    typer.Option(
        min=0, help="Retries of a call on 5xx answers and network errors.", rich_help_panel=_PACING
    ),
]


def _connect(
    *,
    base_url: str | None,
    accounts_url: str | None,
    dc: str | None,
    access_token: str | None,
    refresh_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    threshold: int = 30,
    window: float = 60.0,
    lock: float = 300.0,
    max_retries: int = 2,
) -> Client:
    from lmsplans.client import Client, LmsPlansError, RateLimitPolicy

    try:
        return Client(
            base_url=base_url,
            accounts_url=accounts_url,
            dc=dc,
            access_token=access_token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            max_retries=max_retries,
            rate_limit=RateLimitPolicy(threshold, window, lock),
        )
    except LmsPlansError as error:
        errors.print(f"[red]{escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(2) from None


def _fail(error: Exception) -> typer.Exit:
    errors.print(f"[red]Error:[/red] {escape(str(error))}", highlight=False)
    return typer.Exit(1)


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


_STATUS = {"inProgress": "in progress", "notStarted": "not started", "completed": "completed"}


def _pct(value: int | None) -> str:
    return "" if value is None else f"{value}%"


def progress(
    learner: Annotated[str, typer.Argument(help="The learner: userId (erecno), zuid or email.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the records as JSON instead of a table.")
    ] = False,
    base_url: BaseUrl = None,
    accounts_url: AccountsUrl = None,
    dc: Dc = None,
    access_token: AccessToken = None,
    refresh_token: RefreshToken = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
) -> None:
    """Show a learner's learning plans: progress, due dates, overdue plans, completion."""
    import json

    from lmsplans.client import LmsPlansError

    with _connect(
        base_url=base_url,
        accounts_url=accounts_url,
        dc=dc,
        access_token=access_token,
        refresh_token=refresh_token,
        client_id=client_id,
        client_secret=client_secret,
    ) as client:
        try:
            plans = client.learners.learning_plans_progress(learner).to_list()
        except LmsPlansError as error:
            raise _fail(error) from None
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


class _RichProgress:
    """The export's progress bar, with an ETA."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None
        self.done = 0

    def start(self, total: int, done: int) -> None:
        self.done = done
        self.task = self.bar.add_task("Exporting", total=total, completed=done)

    def advance(self, learner: str, rows: int) -> None:
        self.done += 1
        if self.task is not None:
            self.bar.advance(self.task)


def _eta_column(seconds_per_call: Callable[[], float]) -> Any:
    """An ETA that knows the pacing: a burst of calls at the start of a window says nothing
    about the rate the threshold allows, so the estimate is never below remaining x pace."""
    from datetime import timedelta

    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class PacedEta(ProgressColumn):
        def render(self, task: Task) -> Text:
            if task.remaining is None or task.finished:
                return Text("")
            paced = task.remaining * seconds_per_call()
            measured = task.remaining / task.speed if task.speed else paced
            eta = timedelta(seconds=int(max(paced, measured)))
            return Text(f"ETA {eta}", style="progress.remaining")

    return PacedEta()


def _format_of(fmt: str | None, out: Path) -> str:
    if fmt:
        return fmt.lower()
    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
    found = by_suffix.get(out.suffix.lower())
    if found is None:
        errors.print("[red]Pass --format csv|jsonl|parquet (the file name does not say).[/red]")
        raise typer.Exit(2)
    return found


def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="The output file.", dir_okay=False)],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, jsonl or parquet \\[default: from the --out suffix]. Parquet needs "
            "pip install 'lmsplans\\[export-parquet]'.",
        ),
    ] = None,
    learners_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Learner ids (userId, zuid or email), one a line. Without it the learners "
            "come from the plan rosters (this server only: Zoho has no roster API).",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace an existing output and any unfinished export of it."),
    ] = False,
    fsync: Annotated[
        bool, typer.Option(help="Sync each learner to disk (survives power loss, slower).")
    ] = False,
    base_url: BaseUrl = None,
    accounts_url: AccountsUrl = None,
    dc: Dc = None,
    access_token: AccessToken = None,
    refresh_token: RefreshToken = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    threshold: Threshold = 30,
    window: Window = 60.0,
    lock: Lock = 300.0,
    max_retries: MaxRetries = 5,
) -> None:
    """Export every learner's plan progress, one row per learner and plan.

    Calls are paced under the API's threshold, so the export never triggers the lock. It is
    resumable: interrupted (Ctrl-C, a crash, SIGKILL) and run again with the same arguments,
    it carries on where it stopped and the output holds every row exactly once.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from lmsplans.client import LmsPlansError
    from lmsplans.client.export import (
        ExportError,
        export_plan_progress,
        learners_from_rosters,
        read_learners_file,
    )

    fmt = _format_of(fmt, out)
    client = _connect(
        base_url=base_url,
        accounts_url=accounts_url,
        dc=dc,
        access_token=access_token,
        refresh_token=refresh_token,
        client_id=client_id,
        client_secret=client_secret,
        threshold=threshold,
        window=window,
        lock=lock,
        max_retries=max_retries,
    )

    def pace() -> float:
        stats = client.governor.stats(REFERENCE_API)
        return stats.window_seconds / stats.threshold

    def learners() -> list[str]:
        if learners_file is not None:
            return read_learners_file(learners_file)
        with errors.status("Listing learners from the plan rosters..."):
            return learners_from_rosters(client)

    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        _eta_column(pace),
        console=errors,
    )
    shown = _RichProgress(bar)
    try:
        with client, bar:
            result = export_plan_progress(
                client,
                out=out,
                fmt=fmt,
                learners=learners,
                overwrite=overwrite,
                progress=shown,
                fsync=fsync,
            )
    except KeyboardInterrupt:
        errors.print(
            f"\nInterrupted with {shown.done} learners exported. Run the same command again "
            "to resume.",
            highlight=False,
        )
        raise typer.Exit(130) from None
    except ExportError as error:
        raise _fail(error) from None
    except LmsPlansError as error:
        errors.print("Stopped: run the same command again to resume.", highlight=False)
        raise _fail(error) from None
    except OSError as error:
        raise _fail(error) from None
    resumed = f" (resumed after {result.resumed_from} learners)" if result.resumed_from else ""
    console.print(
        f"Exported {result.rows} rows for {result.learners} learners to {result.out}{resumed}.",
        highlight=False,
    )
    for learner, reason in result.skipped:
        errors.print(f"[yellow]Skipped {escape(learner)}:[/yellow] {escape(reason)}")


def _help(command: Any) -> str:
    """The command's docstring with each paragraph on one line (the help reflows it)."""
    paragraphs = (command.__doc__ or "").strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def register(app: typer.Typer) -> None:
    """Add the client commands to the `lmsplans` application."""
    app.command("progress", help=_help(progress))(progress)
    app.command("export", help=_help(export))(export)
