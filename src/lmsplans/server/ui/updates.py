"""What the live pages ask every few seconds (`ui.live`): whether the plans list or a plan
report changed since the state they show, answered with as little as the change needs."""

from __future__ import annotations

from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.routing import PageTable
from lmsplans.server.ui import live
from lmsplans.server.ui.http import Visit
from lmsplans.server.ui.plans import (
    LIST_UPDATES,
    plan_cards,
    readable_roster,
    report_figures,
    report_updates_path,
    roster_fingerprint,
)

pages = PageTable()
# What the report's lists listen to (`hx-trigger="report-changed from:body"`).
REPORT_CHANGED = "report-changed"
# The plans list counts every plan's roster: after a write, with the tallies no longer in
# the cache, that is a statement over every enrolment of the organisation (about half a
# second for 10,000, bench/RESULTS-plan-report.md), and each person's list reads its own.
# So an open list is drawn again at most this often, whatever is written meanwhile.
LIST_REDRAW_MS = 15_000


@pages.poll(LIST_UPDATES, role=Role.MANAGER)
async def plans_updates(visit: Visit) -> Response:
    """The plans list's counts and bars, when they changed since `since` (drawn again at
    most every `LIST_REDRAW_MS`)."""
    since = live.Since.parse(visit.query("since"))
    version = await live.position(visit)
    if since is not None and since.holds(version, visit.now_ms, redraw_ms=LIST_REDRAW_MS):
        return live.unchanged()
    cards = await plan_cards(visit)
    part = live.draw(visit, "_plan_cards.html", {"plans": cards.plans, "more": cards.more})
    return live.update(
        visit,
        since,
        part,
        version=version,
        region="plans-live",
        poller="plans-poll",
        path=LIST_UPDATES,
        until_ms=cards.until_ms,
    )


@pages.poll("/ui/plans/{planId}/updates")
async def report_updates(visit: Visit) -> Response:
    """A plan report's counts and charts, when they changed since `since`; the roster and
    the overdue list then fetch themselves again (`REPORT_CHANGED`). The same roles and
    organisation as the report: another organisation's plan is 404, a learner 403."""
    plan_id = visit.id_param("planId", "learning plan")
    since = live.Since.parse(visit.query("since"))
    version = await live.position(visit)
    if since is not None and since.holds(version, visit.now_ms):
        return live.unchanged()
    async with visit.db.read() as conn:
        roster = await readable_roster(visit, conn, plan_id)
    part = live.draw(
        visit,
        "_report_live.html",
        report_figures(roster, visit.now_ms),
        beside=roster_fingerprint(roster),
    )
    return live.update(
        visit,
        since,
        part,
        version=version,
        region="report-live",
        poller="report-poll",
        path=report_updates_path(plan_id),
        until_ms=live.next_change(roster.tally.dues, visit.now_ms),
        event=REPORT_CHANGED,
    )
