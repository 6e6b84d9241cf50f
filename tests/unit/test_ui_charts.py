"""The interface's charts: the numbers drawn are the numbers given, and each chart says them
in words too."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from lmsplans.server.ui import charts
from lmsplans.server.ui.charts import Completion, StatusCounts

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(markup: str) -> ET.Element:
    # Our own drawing, not untrusted input: the standard parser is the right tool.
    return ET.fromstring(markup)  # noqa: S314


def parse(chart: charts.Chart) -> ET.Element:
    return parse_svg(str(chart.svg))


def segments(svg: ET.Element) -> dict[str, ET.Element]:
    return {
        rect.get("data-key", ""): rect for rect in svg.iter(f"{SVG}rect") if rect.get("data-key")
    }


def width(rect: ET.Element) -> float:
    return float(rect.get("width", "nan"))


@pytest.mark.parametrize(
    ("count", "total", "expected"),
    [(0, 0, 0), (0, 5, 0), (1, 3, 33), (2, 3, 66), (199, 200, 99), (200, 200, 100)],
)
def test_percentages_are_floored_like_the_apis(count: int, total: int, expected: int) -> None:
    assert charts.percent(count, total) == expected


def test_the_status_bar_splits_the_roster_in_proportion() -> None:
    counts = StatusCounts(total=60, completed=20, in_progress=25, not_started=15, overdue=7)
    chart = charts.status_chart(counts)
    svg = parse(chart)
    parts = segments(svg)
    assert {key: int(rect.get("data-count", "-1")) for key, rect in parts.items()} == {
        "completed": 20,
        "inProgress": 25,
        "notStarted": 15,
        "overdue": 7,
    }
    bar = [parts[key] for key in ("completed", "inProgress", "notStarted")]
    # The three statuses tile the bar from 0 to the full width, each in its share.
    assert float(bar[0].get("x", "nan")) == 0
    for left, right in itertools.pairwise(bar):
        assert float(left.get("x", "nan")) + width(left) == pytest.approx(
            float(right.get("x", "nan"))
        )
    assert sum(map(width, bar)) == pytest.approx(charts.WIDTH)
    assert [width(rect) for rect in bar] == pytest.approx(
        [charts.WIDTH * n / 60 for n in (20, 25, 15)], abs=0.01
    )
    assert width(parts["overdue"]) == pytest.approx(charts.WIDTH * 7 / 60, abs=0.01)
    # Each segment names itself on hover, and wide ones carry their count.
    assert bar[0].findtext(f"{SVG}title") == "Completed: 20 (33%)"
    assert parts["overdue"].findtext(f"{SVG}title") == "Overdue: 7 (11%)"
    labels = [text.text for text in svg.iter(f"{SVG}text")]
    assert {"20", "25", "15", "Overdue: 7 of 60"} <= set(labels)


def test_the_status_chart_says_its_numbers_in_words_and_in_a_table() -> None:
    counts = StatusCounts(total=60, completed=20, in_progress=25, not_started=15, overdue=7)
    chart = charts.status_chart(counts, chart_id="plan-status")
    svg = parse(chart)
    summary = (
        "Of 60 enrolled learners, 20 (33%) completed, 25 (41%) in progress and "
        "15 (25%) not started; 7 (11%) overdue."
    )
    assert chart.summary == summary
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "plan-status-title plan-status-desc"
    assert svg.findtext(f"{SVG}title") == chart.title == "Status of 60 enrolled learners"
    assert svg.findtext(f"{SVG}desc") == summary
    assert [(row.label, row.count, row.total, row.percent) for row in chart.rows] == [
        ("Completed", 20, 60, 33),
        ("In progress", 25, 60, 41),
        ("Not started", 15, 60, 25),
        ("Overdue", 7, 60, 11),
    ]


def test_no_two_statuses_differ_by_colour_alone() -> None:
    fills = charts.STATUS_FILLS
    assert len({fill.colour for fill in fills.values()}) == len(fills)
    assert len({fill.pattern for fill in fills.values()}) == len(fills)
    chart = charts.status_chart(StatusCounts(3, 1, 1, 1, 1), chart_id="s")
    svg = parse(chart)
    pattern_ids = {pattern.get("id") for pattern in svg.iter(f"{SVG}pattern")}
    assert pattern_ids == {"s-inProgress", "s-notStarted", "s-overdue"}
    parts = segments(svg)
    assert parts["completed"].get("fill") == fills["completed"].colour  # solid: the pattern
    assert parts["overdue"].get("fill") == "url(#s-overdue)"
    # The legend's swatches are painted the same way, each with a pattern of its own id.
    for row in chart.rows:
        swatch = parse_svg(str(row.swatch))
        assert swatch.get("aria-hidden") == "true"
        inner = {p.get("id") for p in swatch.iter(f"{SVG}pattern")}
        assert inner == (set() if row.key == "completed" else {f"s-swatch-{row.key}"})


def test_an_empty_roster_draws_an_empty_bar() -> None:
    chart = charts.status_chart(StatusCounts(0, 0, 0, 0, 0))
    assert segments(parse(chart)) == {}
    assert chart.summary == "No learners are enrolled."
    assert [row.percent for row in chart.rows] == [0, 0, 0, 0]


def test_narrow_segments_carry_no_count_but_keep_their_title() -> None:
    counts = StatusCounts(total=100, completed=98, in_progress=1, not_started=1, overdue=0)
    svg = parse(charts.status_chart(counts))
    labels = [text.text for text in svg.iter(f"{SVG}text")]
    assert "98" in labels and "1" not in labels
    assert segments(svg)["inProgress"].findtext(f"{SVG}title") == "In progress: 1 (1%)"
    assert "overdue" not in segments(svg)


@pytest.mark.parametrize(
    "counts",
    [
        (10, 5, 5, 5, 0),  # the statuses add up to more than the total
        (10, 5, 5, 0, 6),  # more overdue than not done
        (1, -1, 1, 1, 0),
    ],
)
def test_counts_that_cannot_be_are_refused(counts: tuple[int, int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        StatusCounts(*counts)


def test_completion_bars_are_as_long_as_each_share() -> None:
    items = [
        Completion("Level 1", completed=30, total=60),
        Completion("Level 2", completed=0, total=60),
        Completion("Level 3", completed=60, total=60),
    ]
    chart = charts.completion_chart(items, what="level", chart_id="levels")
    svg = parse(chart)
    fills = [rect for rect in svg.iter(f"{SVG}rect") if rect.get("data-count")]
    assert [(int(r.get("data-count", "")), int(r.get("data-total", ""))) for r in fills] == [
        (30, 60),
        (60, 60),
    ]
    assert [width(rect) for rect in fills] == pytest.approx([charts.WIDTH / 2, charts.WIDTH])
    assert fills[0].findtext(f"{SVG}title") == "Level 1: 30 of 60 · 50%"
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert texts == [
        "Level 1",
        "30 of 60 · 50%",
        "Level 2",
        "0 of 60 · 0%",
        "Level 3",
        "60 of 60 · 100%",
    ]
    assert chart.summary == (
        "Learners who completed each level. Level 1: 30 of 60 (50%); "
        "Level 2: 0 of 60 (0%); Level 3: 60 of 60 (100%)."
    )
    assert chart.heading == "Level"
    assert svg.findtext(f"{SVG}desc") == chart.summary
    assert [(row.label, row.count, row.percent) for row in chart.rows] == [
        ("Level 1", 30, 50),
        ("Level 2", 0, 0),
        ("Level 3", 60, 100),
    ]
    assert svg.get("viewBox") == f"0 0 {charts.WIDTH} {3 * charts.ROW_HEIGHT}"


def test_long_names_are_cut_in_the_drawing_only() -> None:
    name = "Workplace Health and Safety for Warehouse and Logistics Staff, part two"
    chart = charts.completion_chart([Completion(name, 1, 3)])
    texts = [text.text or "" for text in parse(chart).iter(f"{SVG}text")]
    assert texts[0].endswith("…") and len(texts[0]) == charts.MAX_LABEL_CHARS
    assert chart.rows[0].label == name
    assert name in chart.summary


def test_labels_are_escaped_not_markup() -> None:
    name = '<script>alert("x")</script> & more'
    chart = charts.completion_chart([Completion(name, 1, 2)], chart_id="c")
    assert "<script>" not in chart.svg
    assert "&lt;script&gt;" in chart.svg
    assert parse(chart).findtext(f"{SVG}g/{SVG}text") == name  # short enough to show whole


def test_no_chart_sets_an_inline_style() -> None:
    """The pages' policy refuses inline styles: presentation attributes only."""
    drawn = [
        charts.status_chart(StatusCounts(9, 3, 3, 3, 2)),
        charts.completion_chart([Completion("A", 1, 2)]),
        charts.completion_chart([]),
    ]
    for chart in drawn:
        elements = [parse(chart), *(parse_svg(str(row.swatch)) for row in chart.rows)]
        for element in elements:
            assert all("style" not in node.attrib for node in element.iter())


def test_an_empty_completion_chart_says_so() -> None:
    chart = charts.completion_chart([], what="course")
    assert chart.rows == ()
    assert chart.summary == "There is no course to show."
    assert [text.text for text in parse(chart).iter(f"{SVG}text")] == ["No course yet."]


@pytest.mark.parametrize("chart_id", ["", "Status", "a b", "x" * 60, '"><svg'])
def test_chart_ids_are_plain(chart_id: str) -> None:
    with pytest.raises(ValueError):
        charts.status_chart(StatusCounts(0, 0, 0, 0, 0), chart_id=chart_id)


def test_completion_cannot_exceed_its_total() -> None:
    with pytest.raises(ValueError):
        Completion("A", completed=3, total=2)
