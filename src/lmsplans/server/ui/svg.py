"""Drawing inline SVG for the charts (`charts`): the root element with its text
alternatives, patterned fills, bars, text, and the escaped markup of a drawing.

No `style` attribute is used: the pages' policy forbids inline styles, and SVG
presentation attributes are not styles. ElementTree escapes every text and attribute value
it writes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 400  # the viewBox width; the page's CSS scales it to the column
FONT_SIZE = "13"
TEXT_COLOUR = "#1a1a1a"
TRACK_COLOUR = "#e6e6e6"
OUTLINE_COLOUR = "#4d4d4d"


@dataclass(frozen=True, slots=True)
class Fill:
    """How one kind of value is painted: an Okabe-Ito colour and a pattern over it."""

    colour: str
    pattern: str  # "solid", "stripes", "dots" or "crosshatch"
    ink: str = "#ffffff"  # the pattern's lines


def number(value: float) -> str:
    """A coordinate, to the hundredth, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def pattern(parent: ET.Element, pattern_id: str, fill: Fill) -> None:
    """The `<pattern>` of `fill`, 8 units square, defined in `parent`."""
    tile = ET.SubElement(
        parent,
        "pattern",
        {"id": pattern_id, "width": "8", "height": "8", "patternUnits": "userSpaceOnUse"},
    )
    ET.SubElement(tile, "rect", {"width": "8", "height": "8", "fill": fill.colour})
    if fill.pattern in ("stripes", "crosshatch"):
        ET.SubElement(
            tile,
            "path",
            {"d": "M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4", "stroke": fill.ink, "stroke-width": "1.5"},
        )
    if fill.pattern == "crosshatch":
        ET.SubElement(
            tile,
            "path",
            {"d": "M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4", "stroke": fill.ink, "stroke-width": "1.5"},
        )
    if fill.pattern == "dots":
        ET.SubElement(tile, "circle", {"cx": "4", "cy": "4", "r": "1.5", "fill": fill.ink})


def paint(parent: ET.Element, chart_id: str, key: str, fill: Fill) -> str:
    """The `fill` attribute for `key`: a pattern defined in `parent`'s defs, or the colour."""
    if fill.pattern == "solid":
        return fill.colour
    pattern_id = f"{chart_id}-{key}"
    pattern(parent, pattern_id, fill)
    return f"url(#{pattern_id})"


def root(chart_id: str, height: float, title: str, summary: str) -> ET.Element:
    """A chart's `<svg>`, `WIDTH` wide, an image named by its `<title>` and `<desc>`."""
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {number(height)}",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "chart",
            "font-size": FONT_SIZE,
            "fill": TEXT_COLOUR,
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = summary
    return svg


def rect(
    parent: ET.Element,
    x: float,
    y: float,
    width: float,
    height: float,
    fill: str,
    tooltip: str | None = None,
    **extra: str,
) -> ET.Element:
    """A `<rect>` (its `<title>` a tooltip), with any other attributes in `extra`."""
    box = ET.SubElement(
        parent,
        "rect",
        {
            "x": number(x),
            "y": number(y),
            "width": number(width),
            "height": number(height),
            "fill": fill,
            **extra,
        },
    )
    if tooltip:
        ET.SubElement(box, "title").text = tooltip
    return box


def outline(parent: ET.Element, top: float, height: float) -> None:
    """A frame around a whole bar, drawn over its parts, inside the viewBox."""
    rect(parent, 0.5, top + 0.5, WIDTH - 1, height - 1, "none", stroke=OUTLINE_COLOUR)


def text(parent: ET.Element, x: float, y: float, words: str, **extra: str) -> None:
    """A `<text>` at (x, y)."""
    ET.SubElement(parent, "text", {"x": number(x), "y": number(y), **extra}).text = words


def markup(svg: ET.Element) -> Markup:
    """The drawing, safe to put in a page: ElementTree escapes every text and attribute
    value it writes."""
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704


def swatch(chart_id: str, key: str, fill: Fill) -> Markup:
    """A small square painted like `key`'s part of the chart, for the table's legend."""
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": "0 0 16 16",
            "width": "16",
            "height": "16",
            "aria-hidden": "true",
            "class": "swatch",
        },
    )
    painted = paint(ET.SubElement(svg, "defs"), f"{chart_id}-swatch", key, fill)
    rect(svg, 0.5, 0.5, 15, 15, painted, stroke=OUTLINE_COLOUR)
    return markup(svg)
