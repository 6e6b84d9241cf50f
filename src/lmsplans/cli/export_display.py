"""What `lmsplans export` shows: a count while rosters are listed, how it reads and how long
it should take, then a bar whose ETA includes the waits the rate limit imposes."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from lmsplans.client import Client
    from lmsplans.client.export import ExportJob

DEFAULT_CALL_SECONDS = 0.05  # before any answer has been timed


def about(seconds: float) -> str:
    """`2400` -> "about 40 minutes"; `75` -> "about 1 minute"; `20` -> "about 20 seconds"."""
    if seconds < 60:
        whole = max(1, round(seconds))
        return f"about {whole} second{'s' if whole != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {seconds / 3600:.1f} hours"


def rate(threshold: int, window: float) -> str:
    """`30, 60` -> "30 calls a minute"; `10, 2` -> "10 calls per 2 s"."""
    if window == 60:
        return f"{threshold} calls a minute"
    return f"{threshold} calls per {window:g} s"


class ExportDisplay:
    """The export's progress hooks (`ExportProgress`), drawn on `console` with rich."""

    def __init__(self, client: Client, console: Console) -> None:
        self.client = client
        self.console = console
        self.job: ExportJob | None = None
        self.done = 0
        self.rows = 0
        self.bar = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            _PacedEta(self),
            console=console,
        )
        self._listing: TaskID | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ExportDisplay:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    # --- the hooks ------------------------------------------------------------------------

    def listed(self, learners: int) -> None:
        text = f"Listing learners from the plan rosters: {learners:,} read"
        if self._listing is None:
            self._listing = self.bar.add_task(text, total=None)
        else:
            self.bar.update(self._listing, description=text)

    def describe(self, job: ExportJob) -> None:
        self.job = job
        if self._listing is not None:
            self.bar.update(self._listing, total=1, completed=1)
        how = "By plan rosters" if job.via == "rosters" else "One call per learner"
        self.bar.console.print(f"{how}: {job.reason}.", highlight=False)
        self.bar.console.print(self.estimate(job), highlight=False)

    def start(self, total: int, done: int) -> None:
        self.done = done
        unit = self.job.unit if self.job else "learners"
        self._task = self.bar.add_task(f"Exporting {unit}", total=total, completed=done)

    def advance(self, learner: str, rows: int) -> None:
        self.done += 1
        self.rows += rows
        if self._task is not None:
            unit = self.job.unit if self.job else "learners"
            self.bar.update(
                self._task, advance=1, description=f"Exporting {unit} ({self.rows:,} rows)"
            )

    # --- the estimate ---------------------------------------------------------------------

    def seconds_left(self) -> float | None:
        """The calls still to make, paced as the governor will pace them, waits included."""
        if self.job is None:
            return None
        return self.client.governor.estimate(
            self.job.api, self.job.calls_left(), call_seconds=self._call_seconds()
        )

    def estimate(self, job: ExportJob) -> str:
        """What the job costs, said once at its start, and whether the rate limit is what
        bounds it."""
        stats = self.client.governor.stats(job.api)
        calls = job.calls_left()
        paced = self.client.governor.estimate(job.api, calls, call_seconds=self._call_seconds())
        left = job.total - job.done
        what = f"{left:,} {job.unit}" + (f" ({job.done:,} done before)" if job.done else "")
        if job.via == "rosters":
            what += f", about {calls:,} roster calls"
        text = f"{what} at {rate(stats.threshold, stats.window_seconds)}: {about(paced)}."
        unpaced = calls * self._call_seconds()
        if paced > max(2 * unpaced, 10.0):
            faster = (
                "LMSPLANS_RATE_LIMIT_THRESHOLD makes it faster"
                if job.via == "rosters"
                else "LMSPLANS_RATE_LIMIT_THRESHOLD or the roster path (--via rosters) makes it "
                "faster"
            )
            text += f" The rate limit bounds this job; against your own server, {faster}."
        return text

    def _call_seconds(self) -> float:
        governor = self.client.governor
        for api in (self.job.api if self.job else "", *governor.apis()):
            seconds = governor.stats(api).call_seconds if api else None
            if seconds is not None:
                return seconds
        return DEFAULT_CALL_SECONDS


class _PacedEta(ProgressColumn):
    """The governor's estimate (it counts down through the waits between bursts too), not
    rich's speed, which says nothing of the windows still to wait for."""

    def __init__(self, display: ExportDisplay) -> None:
        super().__init__()
        self.display = display

    def render(self, task: Task) -> Text:
        if task.total is None or task.finished or task.id != self.display._task:
            return Text("")
        seconds = self.display.seconds_left()
        if seconds is None:
            return Text("")
        return Text(f"ETA {timedelta(seconds=int(seconds))}", style="progress.remaining")
