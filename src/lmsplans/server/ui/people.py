"""A learner's page (`/ui/learners/{learnerId}`), a manager's team (`/ui/team`) and a
learner's own view (`/ui/me`), with joining a plan and recording one's own progress.

A learner's plans are the reference endpoint's answer, the very entries it keeps in the
cache (`progress.routes.ProgressPage`), read back; their courses and history are the
API's queries, and who may read whom is the API's rule (`learners.service.ensure_can_read`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.courses.schemas import SELF_RECORDED_TYPES
from lmsplans.server.db import Connection, Page
from lmsplans.server.learners import queries as learner_queries
from lmsplans.server.learners.queries import Learner, Visibility, resolve_learner
from lmsplans.server.learners.service import ensure_can_read
from lmsplans.server.params import validate
from lmsplans.server.plans import enrolments
from lmsplans.server.plans import queries as plan_queries
from lmsplans.server.progress import queries as progress_queries
from lmsplans.server.progress import service as progress
from lmsplans.server.progress.routes import ProgressPage, progress_page_key, progress_page_tags
from lmsplans.server.progress.schemas import ProgressIn
from lmsplans.server.routing import PageTable
from lmsplans.server.ui.http import Visit, WriteVisit, see_other
from lmsplans.server.ui.timeline import TimelineEvent, timeline
from lmsplans.server.ui.views import (
    COURSE_TYPES,
    STATUS_LABELS,
    notice,
    number,
    shown_status,
)

pages = PageTable()

PLANS_READ = Page(0, 100)  # a learner's plans, as the reference endpoint pages them at most
COURSES_READ = Page(0, 500)  # a plan's courses (a plan holds at most 500)
HISTORY_READ = Page(0, 1000)  # an enrolment's events shown (its first thousand)
TEAM_SHOWN = 200


async def learner_plans(visit: Visit, conn: Connection, learner_id: int) -> list[dict[str, Any]]:
    """The learner's plans as the reference endpoint answers them (`learningPlans`), from
    the entries it keeps (`progress_page_tags`)."""
    key = progress_page_key(learner_id, PLANS_READ)
    answer: ProgressPage | None = visit.cached(key)
    if answer is None:
        plans, more = await plan_queries.learner_plans(conn, learner_id=learner_id, page=PLANS_READ)
        answer = ProgressPage(plans, more=more)
        visit.keep(key, answer, tags=progress_page_tags(learner_id, visit.principal.org_id))
    found: list[dict[str, Any]] = orjson.loads(answer.body(visit.now_ms))["learningPlans"]
    return found


@dataclass(frozen=True, slots=True)
class CourseView:
    course_id: int
    name: str
    kind: str
    level: int
    mandatory: bool
    locked: bool
    status: str
    percentage: int
    enrolled_ms: int | None
    completed_ms: int | None
    self_recorded: bool  # its type lets a learner record their own progress

    @property
    def open(self) -> bool:
        return not self.locked and self.status != "completed"


@dataclass(slots=True)
class PlanView:
    """One of a learner's plans: the reference endpoint's entry, its courses, its history."""

    plan_id: int
    name: str
    status: str  # overdue over the others
    progress: int
    all_courses: int
    completed_mandatory: int
    mandatory: int
    completed_courses: int
    courses_count: int
    joined: bool
    disabled: bool
    enrolled_ms: int | None
    due_ms: int | None
    completed_ms: int | None
    courses: list[CourseView] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    more_events: bool = False

    @property
    def next_course(self) -> CourseView | None:
        """What to do next: the first open course, mandatory ones first, by level."""
        open_courses = [course for course in self.courses if course.open]
        open_courses.sort(key=lambda course: (not course.mandatory, course.level))
        return open_courses[0] if open_courses else None


def plan_view(entry: dict[str, Any]) -> PlanView:
    """A reference endpoint entry (`userInfo`, `planInfo`, `progressInfo`), as numbers."""
    user, info, progress_info = entry["userInfo"], entry["planInfo"], entry["progressInfo"]
    return PlanView(
        plan_id=int(entry["planId"]),
        name=info["planName"],
        status=shown_status(progress_info),
        progress=int(progress_info["progressPercentage"]),
        all_courses=int(progress_info["allCoursesPercentage"]),
        completed_mandatory=int(progress_info["completedMandatoryCourseCount"]),
        mandatory=int(progress_info["mandatoryCourseCount"]),
        completed_courses=int(progress_info["completedCourseCount"]),
        courses_count=int(progress_info["courseCount"]),
        joined=user["isUserJoinedPlan"],
        disabled=info["disabled"] == "true",
        enrolled_ms=number(user["enrolledTime"]),
        due_ms=number(progress_info["dueTime"]),
        completed_ms=number(progress_info["completedTime"]),
    )


def course_view(course: dict[str, Any]) -> CourseView:
    kind = int(course["courseType"])
    return CourseView(
        course_id=int(course["courseId"]),
        name=course["courseName"],
        kind=COURSE_TYPES.get(kind, "Course"),
        level=int(course["level"]),
        mandatory=course["isMandatory"],
        locked=course["isLocked"],
        status=course["completionStatus"],
        percentage=int(course["completionPercentage"]),
        enrolled_ms=number(course["enrolledDate"]),
        completed_ms=number(course["completionDate"]),
        self_recorded=kind in SELF_RECORDED_TYPES,
    )


async def _plans_with_courses(
    visit: Visit, conn: Connection, learner: Learner, *, history: bool
) -> list[PlanView]:
    views = [plan_view(entry) for entry in await learner_plans(visit, conn, learner.id)]
    org_id = visit.principal.org_id
    for view in views:
        courses, _ = await progress_queries.plan_courses_progress(
            conn, org_id=org_id, plan_id=view.plan_id, learner_id=learner.id, page=COURSES_READ
        )
        view.courses = [course_view(course) for course in courses]
        if history:
            events, view.more_events = await progress_queries.plan_history(
                conn, org_id=org_id, plan_id=view.plan_id, learner_id=learner.id, page=HISTORY_READ
            )
            view.events = await timeline(
                conn, org_id=org_id, learner=learner, events=events, courses=courses
            )
    return views


@pages.get("/ui/learners/{learnerId}")
async def learner_page(visit: Visit) -> Response:
    """A learner's plans with their progress, each plan's courses and the enrolment's
    history, for whoever may read the learner (404 7048 in another organisation)."""
    principal = visit.principal
    async with visit.db.read() as conn:
        learner = await resolve_learner(
            conn, org_id=principal.org_id, learner_ref=visit.path_param("learnerId")
        )
        ensure_can_read(learner, viewer_id=principal.user_id, role=principal.role)
        plans = await _plans_with_courses(visit, conn, learner, history=True)
        manager = None
        if learner.manager_id is not None:
            names = await learner_queries.display_names(
                conn, org_id=principal.org_id, learner_ids=[learner.manager_id]
            )
            manager = names.get(learner.manager_id)
    return visit.render(
        "learner.html",
        {
            "title": learner.display_name,
            "learner": learner,
            "manager": manager,
            "plans": plans,
            "statuses": STATUS_LABELS,
        },
    )


@dataclass(frozen=True, slots=True)
class TeamRow:
    learner_id: int
    name: str
    email: str
    cells: dict[int, PlanView]


@pages.get("/ui/team", role=Role.MANAGER)
async def team(visit: Visit) -> Response:
    """The person's direct reportees against their plans: a matrix of statuses."""
    principal = visit.principal
    rows: list[TeamRow] = []
    plan_names: dict[int, str] = {}
    async with visit.db.read() as conn:
        reportees, more = await learner_queries.list_learners(
            conn,
            org_id=principal.org_id,
            visibility=Visibility(principal.user_id, reportees=True),
            page=Page(0, TEAM_SHOWN + 1),
            status="active",
        )
        for record in reportees:
            learner_id = int(record["userId"])
            if learner_id == principal.user_id:
                continue
            views = [plan_view(entry) for entry in await learner_plans(visit, conn, learner_id)]
            plan_names.update((view.plan_id, view.name) for view in views)
            cells = {view.plan_id: view for view in views}
            rows.append(TeamRow(learner_id, record["displayName"], record["emailId"], cells))
    columns = sorted(plan_names.items(), key=lambda item: (item[1].lower(), item[0]))
    return visit.render(
        "team.html",
        {
            "title": "Team",
            "rows": rows[:TEAM_SHOWN],
            "more": more or len(rows) > TEAM_SHOWN,
            "columns": columns,
            "statuses": STATUS_LABELS,
        },
    )


@pages.get("/ui/me")
async def my_learning(visit: Visit) -> Response:
    """The person's own plans: what to do next in each, due dates, progress to record,
    and the published plans they may join."""
    principal = visit.principal
    async with visit.db.read() as conn:
        me = await resolve_learner(
            conn, org_id=principal.org_id, learner_ref=str(principal.user_id)
        )
        plans = await _plans_with_courses(visit, conn, me, history=False)
        published, _ = await plan_queries.list_plans(
            conn, org_id=principal.org_id, drafts=False, viewer_id=me.id, page=Page(0, 200)
        )
    mine = {view.plan_id for view in plans}
    joinable = [
        plan
        for plan in published
        if int(plan["planId"]) not in mine and plan["disabled"] == "false"
    ]
    return visit.render(
        "me.html",
        {
            "title": "My learning",
            "plans": plans,
            "joinable": joinable,
            "statuses": STATUS_LABELS,
            "notice": notice(visit.request),
        },
    )


@pages.post("/ui/plans/{planId}/join")
async def join(visit: WriteVisit) -> Response:
    """The person joins a plan (enrolling themself if needed), as the API's join does."""
    await enrolments.join_plan(
        visit.conn,
        write=visit.write,
        plan_id=visit.id_param("planId", "learning plan"),
        learner_ref=str(visit.principal.user_id),
    )
    return see_other("/ui/me?notice=joined")


@pages.post("/ui/courses/{courseId}/progress")
async def record_progress(visit: WriteVisit) -> Response:
    """The person records their own progress in a course (`percentage`, or `complete`),
    where the course allows it, as the API's progress write does."""
    document: dict[str, Any]
    if visit.form.get("complete"):
        document = {"completionStatus": "completed"}
    else:
        raw = visit.form.get("percentage", "").strip()
        document = {"completionPercentage": int(raw) if raw.isdigit() else raw}
    data = validate(ProgressIn, document, "progressData")
    await progress.record_progress(
        visit.conn,
        write=visit.write,
        learner_ref=str(visit.principal.user_id),
        course_id=visit.id_param("courseId", "course"),
        data=data,
    )
    return see_other("/ui/me?notice=recorded")
