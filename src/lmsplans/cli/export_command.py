"""`lmsplans export`: every learner's plan progress to a file, with a progress bar and an ETA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lmsplans.cli.client_options import (
    Connection,
    Pacing,
    connect,
    console,
    errors,
    fail,
)
from lmsplans.cli.option_groups import with_option_groups

# An export runs for hours: a call is retried more than another command's.
EXPORT_PACING = Pacing(max_retries=5)


def _format_of(fmt: str | None, out: Path) -> str:
    if fmt:
        return fmt.lower()
    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
    found = by_suffix.get(out.suffix.lower())
    if found is None:
        errors.print("[red]Pass --format csv|jsonl|parquet (the file name does not say).[/red]")
        raise typer.Exit(2)
    return found


@with_option_groups
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
    since: Annotated[
        str | None,
        typer.Option(
            help="Only the learners whose progress changed after this change-feed cursor"
            " (this server only; `start`: in the whole kept history). The cursor to pass next"
            " time is printed at the end.",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace an existing output and any unfinished export of it."),
    ] = False,
    fsync: Annotated[
        bool, typer.Option(help="Sync each learner to disk (survives power loss, slower).")
    ] = False,
    via: Annotated[
        str,
        typer.Option(
            help="How to read: rosters (100 learners with their progress a call: this "
            "server), learners (one call per learner: Zoho's way, and a learners file's), or "
            "auto (the first roster page says which).",
        ),
    ] = "auto",
    *,
    connection: Connection,
    pacing: Pacing = EXPORT_PACING,
) -> None:
    """Export every learner's plan progress, one row per learner and plan.

    Against this server it reads the plan rosters, 100 learners with their progress a call;
    against Zoho (whose rosters carry no progress) one call per learner: the first roster
    page says which, --via forces it. Calls are paced under the API's threshold, with the
    pacing shared by every process of the same user (a restarted export, a second one), so the
    export never triggers the lock. It is resumable: interrupted (Ctrl-C, a crash, SIGKILL)
    and run again with the same arguments, it carries on where it stopped and the output
    holds every row exactly once.

    With --since CURSOR it writes only the learners whose progress changed after that cursor
    of this server's change feed (every plan of theirs), and prints the cursor to pass next
    time; --since start reads the whole kept history.
    """
    from lmsplans.cli.export_display import ExportDisplay
    from lmsplans.client import LmsPlansError
    from lmsplans.client.export import (
        VIA,
        ExportError,
        changed_learners,
        export_plan_progress,
        read_learners_file,
    )

    if since is not None and learners_file is not None:
        errors.print("[red]--since and --learners-file do not go together.[/red]")
        raise typer.Exit(2)
    if via not in VIA:
        errors.print(f"[red]--via is one of {', '.join(VIA)}.[/red]")
        raise typer.Exit(2)
    fmt = _format_of(fmt, out)
    client = connect(connection, pacing)

    learners: Callable[[], list[str]] | None = None
    if learners_file is not None:
        learners = lambda: read_learners_file(learners_file)  # noqa: E731 - read when needed
    shown = ExportDisplay(client, errors)
    next_cursor: str | None = None
    try:
        with client, shown:
            if since is not None:  # the learners whose progress changed, from the feed
                changed, next_cursor = changed_learners(client, None if since == "start" else since)
                learners, via = (lambda: changed), "learners"
            result = export_plan_progress(
                client,
                out=out,
                fmt=fmt,
                learners=learners,
                via=via,
                overwrite=overwrite,
                progress=shown,
                fsync=fsync,
            )
    except KeyboardInterrupt:
        unit = shown.job.unit if shown.job else "learners"
        errors.print(
            f"\nInterrupted with {shown.done} {unit} exported. Run the same command again "
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
    unit = "plans" if result.via == "rosters" else "learners"
    resumed = f" (resumed after {result.resumed_from} {unit})" if result.resumed_from else ""
    plans = f" in {result.plans} plans" if result.via == "rosters" else ""
    console.print(
        f"Exported {result.rows} rows for {result.learners} learners{plans} to {result.out}"
        f"{resumed}.",
        highlight=False,
    )
    for learner, reason in result.skipped:
        errors.print(f"[yellow]Skipped {escape(learner)}:[/yellow] {escape(reason)}")
    if next_cursor is not None:
        console.print(f"Next time, for what changed since: --since {next_cursor}", highlight=False)
