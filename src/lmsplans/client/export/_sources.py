"""Where an export's learners and rows come from: the plan rosters, a learners file, or the
change feed (the learners whose progress changed since a cursor)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

from lmsplans.client._endpoints import Page
from lmsplans.client._models import PlanInfo, RosterMember
from lmsplans.client._sync.client import Client
from lmsplans.client._wire import to_int

__all__ = [
    "PROGRESS_EVENTS",
    "RosterReader",
    "changed_learners",
    "learners_from_rosters",
    "read_learners_file",
]

ROSTER_PAGE = 100  # learners a roster call returns, the most the API allows


class RosterReader:
    """The organisation's plans and their rosters, read once: what the export probes is kept
    and read no second time."""

    def __init__(self, client: Client, *, listed: Callable[[int], None] | None = None) -> None:
        self._client = client
        self._listed = listed  # told how many learners `learner_ids` has found, page by page
        self._plans: list[PlanInfo] | None = None
        self._first: dict[str, Page[RosterMember]] = {}  # the first page of a plan, if read
        self._sizes: dict[str, int] = {}  # plan -> learners on its roster, once known
        self.members_read = 0

    def plans(self) -> list[PlanInfo]:
        """Every plan the caller can see (admins: drafts too), in the API's order."""
        if self._plans is None:
            self._plans = self._client.learning_plans.list().to_list()
        return self._plans

    def published(self) -> list[PlanInfo]:
        """The plans the reference endpoint reports progress in."""
        return [plan for plan in self.plans() if plan.is_published]

    def roster(self, plan: PlanInfo) -> Iterator[list[RosterMember]]:
        """The plan's roster, page after page (the first from the probe, if it was read)."""
        first = self._first.pop(plan.plan_id, None)
        if first is not None:
            yield first.items
            if first.is_next_available:
                rest = self._client.learning_plans.learners(
                    plan.plan_id, start_index=first.start_index + len(first.items)
                )
                for page in rest.pages():
                    yield self._count(page.items)
            return
        for index, page in enumerate(self._client.learning_plans.learners(plan.plan_id).pages()):
            if index == 0:
                self._note_size(plan, page.raw)
            yield self._count(page.items)

    def first_page(self, plan: PlanInfo) -> list[RosterMember]:
        """The first page of the plan's roster, kept for `roster` (read once)."""
        kept = self._first.get(plan.plan_id)
        if kept is not None:
            return kept.items
        page = self._client.learning_plans.learners(plan.plan_id).first_page()
        self._note_size(plan, page.raw)
        self._count(page.items)
        self._first[plan.plan_id] = page
        return page.items

    def calls_left(self, plans: list[PlanInfo]) -> int:
        """Roster calls still to make for `plans` (one for a plan whose size is not known)."""
        return sum(math.ceil(self._sizes.get(p.plan_id, 1) / ROSTER_PAGE) or 1 for p in plans)

    def learner_ids(self) -> list[str]:
        """Every learner on the roster of a plan, once each, in roster order (the count read
        so far told to `listed` page by page)."""
        seen: dict[str, None] = {}
        for plan in self.plans():
            for members in self.roster(plan):
                for member in members:
                    if member.user_id:
                        seen.setdefault(member.user_id)
                if self._listed is not None:
                    self._listed(len(seen))
        return list(seen)

    def _count(self, members: list[RosterMember]) -> list[RosterMember]:
        self.members_read += len(members)
        return members

    def _note_size(self, plan: PlanInfo, raw: dict[str, object]) -> None:
        summary = raw.get("summary")
        total = to_int(summary.get("matchingCount")) if isinstance(summary, dict) else None
        if total is not None:
            self._sizes[plan.plan_id] = total


def learners_from_rosters(client: Client) -> list[str]:
    """Every learner on the roster of a plan the caller can see, once each, in roster order
    (this server only: Zoho has no roster API; give Zoho a learners file)."""
    return RosterReader(client).learner_ids()


def read_learners_file(path: Path) -> list[str]:
    """Learner ids (userId, zuid or email), one a line; blank lines and `#` comments skipped,
    repeats dropped."""
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        learner = line.split("#", 1)[0].strip()
        if learner:
            seen.setdefault(learner)
    return list(seen)


# The events that say a learner's progress in a plan changed.
PROGRESS_EVENTS = "plan.enrollment.*,course.progress.*"


def changed_learners(client: Client, since: str | None) -> tuple[list[str], str]:
    """The learners whose progress changed after the feed cursor `since` (None: in the whole
    kept history), in the order they first changed, and the cursor the next run goes on
    from. Read from the change feed (`client.events`), which this server has and Zoho does
    not."""
    feed = client.events.iter(after=since, types=PROGRESS_EVENTS, follow=False)
    changed: dict[str, None] = {}
    for event in feed:
        if event.learner_id:
            changed.setdefault(event.learner_id)
    assert feed.cursor is not None  # an answer always carries one
    return list(changed), feed.cursor
