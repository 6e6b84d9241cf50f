"""Charts drawn on the server as inline SVG: pure functions from counts to markup.

Each chart comes with its text alternative: the SVG's `<title>` and `<desc>` (read by screen
readers, `role="img"`), a sentence for the caption and the rows of a table that doubles as
the legend (`templates/charts.html`). Colours are the Okabe-Ito palette, which readers with
any common colour-vision deficiency tell apart, and every status also has its own pattern,
so no two are told apart by colour alone. No `style` attribute is used: the pages' policy
forbids inline styles, and SVG presentation attributes are not styles.

Percentages are floored, as the API's `progressPercentage` is: 2 of 3 is 66%, and a share
shows 100% only when it is the whole.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from lmsplans.server.ui.svg import (
    OUTLINE_COLOUR,
    TRACK_COLOUR,
    WIDTH,
    Fill,
    markup,
    outline,
    paint,
    rect,
    root,
    swatch,
    text,
)

MAX_LABEL_CHARS = 44  # longer labels are cut in the drawing; the table has them whole
_CHART_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


STATUS_FILLS = {
    "completed": Fill("#009E73", "solid"),  # bluish green
    "inProgress": Fill("#56B4E9", "stripes", "#0072B2"),  # sky blue, blue stripes
    "notStarted": Fill("#F0E442", "dots", "#1a1a1a"),  # yellow, dark dots
    "overdue": Fill("#D55E00", "crosshatch"),  # vermillion, white hatching
}
COMPLETION_FILL = Fill("#0072B2", "solid")  # blue


def percent(count: int, total: int) -> int:
    """`count` of `total` as a floored whole percentage (0 of nothing is 0)."""
    return 0 if total <= 0 else count * 100 // total


@dataclass(frozen=True, slots=True)
class ChartRow:
    """One line of a chart's table: what, how many, of how many."""

    key: str  # the fill's key in STATUS_FILLS, or "completion"
    label: str
    count: int
    total: int
    swatch: Markup

    @property
    def percent(self) -> int:
        return percent(self.count, self.total)


@dataclass(frozen=True, slots=True)
class Chart:
    """An inline SVG and its text alternatives."""

    chart_id: str
    title: str
    heading: str  # what the table's first column names: "Status", "Course", "Level"
    summary: str  # one sentence that says what the drawing shows
    svg: Markup
    rows: tuple[ChartRow, ...]


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """A roster's counts, as the API's roster summary gives them: every enrolled learner has
    one status (completed, in progress or not started), and the overdue are those not
    completed whose due time has passed, so they are counted in one of the other two."""

    total: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int

    def __post_init__(self) -> None:
        if min(self.total, self.completed, self.in_progress, self.not_started, self.overdue) < 0:
            raise ValueError(f"counts cannot be negative: {self}")
        if self.completed + self.in_progress + self.not_started != self.total:
            raise ValueError(f"the statuses must add up to the total: {self}")
        if self.overdue > self.in_progress + self.not_started:
            raise ValueError(f"only learners not done can be overdue: {self}")


@dataclass(frozen=True, slots=True)
class Completion:
    """How many of the enrolled have completed one thing (a course, a level)."""

    label: str
    completed: int
    total: int

    def __post_init__(self) -> None:
        if not 0 <= self.completed <= self.total:
            raise ValueError(f"completed must be between 0 and the total: {self}")


def _check_id(chart_id: str) -> None:
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"a chart id is lower-case letters, digits and '-': {chart_id!r}")


def _share(count: int, total: int) -> str:
    return f"{count} ({percent(count, total)}%)"


def status_summary(counts: StatusCounts) -> str:
    """The status breakdown as one sentence."""
    total = counts.total
    if total == 0:
        return "No learners are enrolled."
    learners = "learner" if total == 1 else "learners"
    return (
        f"Of {total} enrolled {learners}, {_share(counts.completed, total)} completed, "
        f"{_share(counts.in_progress, total)} in progress and "
        f"{_share(counts.not_started, total)} not started; "
        f"{_share(counts.overdue, total)} overdue."
    )


BAR_HEIGHT = 32
OVERDUE_BAR_HEIGHT = 14
LABEL_MIN_WIDTH = 36  # narrower segments carry no count inside; the table still has it


def status_chart(counts: StatusCounts, *, chart_id: str = "status") -> Chart:
    """The status breakdown: one bar split into completed, in progress and not started
    (which add up to every enrolled learner), and below it the overdue share of the whole."""
    _check_id(chart_id)
    total = counts.total
    title = f"Status of {total} enrolled learner{'' if total == 1 else 's'}"
    summary = status_summary(counts)
    overdue_top = BAR_HEIGHT + 24
    svg = root(chart_id, overdue_top + OVERDUE_BAR_HEIGHT + 2, title, summary)
    defs = ET.SubElement(svg, "defs")
    labels = {
        "completed": "Completed",
        "inProgress": "In progress",
        "notStarted": "Not started",
        "overdue": "Overdue",
    }
    parts = [
        ("completed", counts.completed),
        ("inProgress", counts.in_progress),
        ("notStarted", counts.not_started),
    ]
    paints = {key: paint(defs, chart_id, key, fill) for key, fill in STATUS_FILLS.items()}
    bar = ET.SubElement(svg, "g", {"class": "chart-bar"})
    rect(bar, 0, 0, WIDTH, BAR_HEIGHT, TRACK_COLOUR)
    done = 0
    for key, count in parts:
        if count == 0:
            continue
        # Edges from the running total, so the segments tile the bar exactly.
        left, right = WIDTH * done / total, WIDTH * (done + count) / total
        done += count
        tooltip = f"{labels[key]}: {_share(count, total)}"
        rect(
            bar,
            left,
            0,
            right - left,
            BAR_HEIGHT,
            paints[key],
            tooltip,
            **{"data-key": key, "data-count": str(count)},
        )
        if right - left >= LABEL_MIN_WIDTH:
            # A white halo keeps the number readable over every fill and pattern.
            text(
                bar,
                (left + right) / 2,
                BAR_HEIGHT / 2 + 5,
                str(count),
                **{
                    "text-anchor": "middle",
                    "font-weight": "bold",
                    "stroke": "#ffffff",
                    "stroke-width": "3",
                    "paint-order": "stroke",
                },
            )
    outline(bar, 0, BAR_HEIGHT)
    overdue = ET.SubElement(svg, "g", {"class": "chart-overdue"})
    text(overdue, 0, overdue_top - 6, f"Overdue: {counts.overdue} of {total}")
    rect(overdue, 0, overdue_top, WIDTH, OVERDUE_BAR_HEIGHT, TRACK_COLOUR)
    if counts.overdue:
        rect(
            overdue,
            0,
            overdue_top,
            WIDTH * counts.overdue / total,
            OVERDUE_BAR_HEIGHT,
            paints["overdue"],
            f"Overdue: {_share(counts.overdue, total)}",
            **{"data-key": "overdue", "data-count": str(counts.overdue)},
        )
    outline(overdue, overdue_top, OVERDUE_BAR_HEIGHT)
    rows = tuple(
        ChartRow(key, labels[key], count, total, swatch(chart_id, key, STATUS_FILLS[key]))
        for key, count in (*parts, ("overdue", counts.overdue))
    )
    return Chart(chart_id, title, "Status", summary, markup(svg), rows)


ROW_HEIGHT = 46
COMPLETION_BAR_HEIGHT = 16


def _cut(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def completion_summary(items: Sequence[Completion], what: str) -> str:
    """Completion per `what` (e.g. "course") as one sentence."""
    if not items:
        return f"There is no {what} to show."
    parts = [
        f"{item.label}: {item.completed} of {item.total} ({percent(item.completed, item.total)}%)"
        for item in items
    ]
    return f"Learners who completed each {what}. " + "; ".join(parts) + "."


def completion_chart(
    items: Sequence[Completion], *, what: str = "course", chart_id: str = "completion"
) -> Chart:
    """One bar per item (course or level): the share of its learners who completed it."""
    _check_id(chart_id)
    title = f"Completion per {what}"
    summary = completion_summary(items, what)
    svg = root(chart_id, max(len(items), 1) * ROW_HEIGHT, title, summary)
    if not items:
        text(svg, 0, 20, f"No {what} yet.")
    fill = COMPLETION_FILL.colour
    for index, item in enumerate(items):
        top = index * ROW_HEIGHT
        row = ET.SubElement(svg, "g", {"class": "chart-row"})
        text(row, 0, top + 15, _cut(item.label))
        share = f"{item.completed} of {item.total} · {percent(item.completed, item.total)}%"
        text(row, WIDTH, top + 15, share, **{"text-anchor": "end"})
        bar_top = top + 22
        rect(row, 0, bar_top, WIDTH, COMPLETION_BAR_HEIGHT, TRACK_COLOUR)
        if item.completed:
            rect(
                row,
                0,
                bar_top,
                WIDTH * item.completed / item.total,
                COMPLETION_BAR_HEIGHT,
                fill,
                f"{item.label}: {share}",
                **{"data-count": str(item.completed), "data-total": str(item.total)},
            )
        outline(row, bar_top, COMPLETION_BAR_HEIGHT)
    rows = tuple(
        ChartRow(
            "completion",
            item.label,
            item.completed,
            item.total,
            swatch(chart_id, "completion", COMPLETION_FILL),
        )
        for item in items
    )
    return Chart(chart_id, title, what.capitalize(), summary, markup(svg), rows)


MINI_WIDTH = 100
MINI_HEIGHT = 12


def completion_bar(completed: int, total: int, *, label: str) -> Markup:
    """A small bar of `completed` out of `total` (a row of a list), with its words:
    `label` names what completed ("Onboarding: 12 of 40 completed (30%)")."""
    if not 0 <= completed <= max(total, 0):
        raise ValueError(f"completed must be between 0 and the total: {completed} of {total}")
    words = f"{label}: {completed} of {total} completed ({percent(completed, total)}%)"
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {MINI_WIDTH} {MINI_HEIGHT}",
            "role": "img",
            "aria-label": words,
            "class": "mini-bar",
        },
    )
    ET.SubElement(svg, "title").text = words
    rect(svg, 0, 0, MINI_WIDTH, MINI_HEIGHT, TRACK_COLOUR)
    if completed:
        width = MINI_WIDTH * completed / total
        rect(svg, 0, 0, width, MINI_HEIGHT, STATUS_FILLS["completed"].colour)
    rect(svg, 0.5, 0.5, MINI_WIDTH - 1, MINI_HEIGHT - 1, "none", stroke=OUTLINE_COLOUR)
    return markup(svg)
