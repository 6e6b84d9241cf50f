"""What the pages show, made from what the queries answer: statuses and their words, plans'
durations, pages of a list and their links, and the notices after a form.

The API's answers are Zoho's strings (`"50"`, `"null"`, `"true"`); the pages read them
once, here, into numbers and dates the templates print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from lmsplans.server.progress.schemas import EnrolmentStatus

STATUS_LABELS = {
    "completed": "Completed",
    "inProgress": "In progress",
    "notStarted": "Not started",
    "overdue": "Overdue",
}
# How often a live page asks whether it changed (`ui.live`).
LIVE_SECONDS = 5
COURSE_TYPES = {1: "Self-paced", 2: "Blended", 3: "E-material"}
_DURATION_UNITS = {0: "day", 1: "week", 2: "month"}

# What a page says after a form sent the browser back to it (`?notice=...`): fixed texts,
# so nothing from the address is ever shown.
NOTICES = {
    "enrolled": "Enrolled {count}.",
    "already": "Already enrolled: nobody new.",
    "unenrolled": "Unenrolled; the enrolment and its history are kept.",
    "published": "The plan is published: learners can be enrolled and join it.",
    "disabled": "The plan is disabled: no new enrolments.",
    "joined": "You joined the plan.",
    "recorded": "Your progress is recorded.",
}


def number(value: str | int | None) -> int | None:
    """A count, id or time the API writes as a string (`"null"`: None)."""
    if value is None or value == "null":
        return None
    return int(value)


def duration_text(duration: int, duration_type: int) -> str:
    """ "90 days", "1 week", "No due date"."""
    if duration <= 0:
        return "No due date"
    unit = _DURATION_UNITS.get(duration_type, "day")
    return f"{duration} {unit}{'' if duration == 1 else 's'}"


def learners_text(count: int) -> str:
    return f"{count} learner{'' if count == 1 else 's'}"


def notice(request: Request) -> str | None:
    """The notice a form asked the page to show, if it is one of `NOTICES`."""
    text = NOTICES.get(request.query_params.get("notice", ""))
    if text is None:
        return None
    count = request.query_params.get("count", "")
    learners = learners_text(int(count)) if count.isdigit() else "the learners"
    return text.format(count=learners)


def url_with(request: Request, **changes: Any) -> str:
    """This page's address with `changes` to its query (None or "": left out)."""
    params = {key: value for key, value in request.query_params.items()}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def page_number(request: Request, name: str = "page") -> int:
    """The 1-based page asked for (anything that is not a positive number: the first)."""
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**9 else 1


@dataclass(frozen=True, slots=True)
class Pager:
    """One page of a list shown `per_page` at a time, and the links to its neighbours."""

    number: int  # 1-based, within the list
    per_page: int
    total: int
    previous_url: str | None
    next_url: str | None

    @property
    def first(self) -> int:
        """The 1-based position of the page's first item (0 for an empty list)."""
        return min(self.total, (self.number - 1) * self.per_page + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.number * self.per_page)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def pager(request: Request, items: int, *, per_page: int, name: str = "page") -> Pager:
    """The page of `items` the request asks for (`?<name>=`, past the end: the last)."""
    last_page = max(1, -(-items // per_page))
    current = min(page_number(request, name), last_page)
    return Pager(
        number=current,
        per_page=per_page,
        total=items,
        previous_url=url_with(request, **{name: current - 1}) if current > 1 else None,
        next_url=url_with(request, **{name: current + 1}) if current < last_page else None,
    )


def shown_status(progress: Mapping[str, Any]) -> str:
    """The one status a page shows for a `progressInfo`: overdue over the others."""
    return EnrolmentStatus.OVERDUE.value if progress["isOverdue"] else str(progress["status"])


# An error page's heading, by status (the page then says what the API's error says).
ERROR_TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not here",
    409: "Not possible now",
    413: "Too much at once",
    422: "That did not work",
    429: "Too many attempts",
    503: "Unavailable for a moment",
}
