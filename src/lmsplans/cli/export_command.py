"""`lmsplans export`: every learner's plan progress to a file, with a progress bar and an ETA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from lmsplans.cli.client_options import (
    AccessToken,
    AccountsUrl,
    BaseUrl,
    ClientId,
    ClientSecret,
    Dc,
    Lock,
    MaxRetries,
    RefreshToken,
    Threshold,
    Window,
    connect,
    console,
    errors,
    fail,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

REFERENCE_API = "GET /api/v1/learners/{learnerId}/learning-plans/progress"


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
    client = connect(
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
        raise fail(error) from None
    except LmsPlansError as error:
        errors.print("Stopped: run the same command again to resume.", highlight=False)
        raise fail(error) from None
    except OSError as error:
        raise fail(error) from None
    resumed = f" (resumed after {result.resumed_from} learners)" if result.resumed_from else ""
    console.print(
        f"Exported {result.rows} rows for {result.learners} learners to {result.out}{resumed}.",
        highlight=False,
    )
    for learner, reason in result.skipped:
        errors.print(f"[yellow]Skipped {escape(learner)}:[/yellow] {escape(reason)}")
