# Generated from src/lmsplans/client/_async/resources/learning_plans.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""`client.learning_plans`: plans, their rosters, and managing them
(`/api/v1/learning-plans/...`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lmsplans.client._endpoints import (
    LEARNING_PLANS,
    PLAN,
    PLAN_COURSES,
    PLAN_CREATE,
    PLAN_DELETE,
    PLAN_DISABLE,
    PLAN_ENROL,
    PLAN_JOIN,
    PLAN_LEARNERS,
    PLAN_PUBLISH,
    PLAN_UNENROL,
    PLAN_UPDATE,
)
from lmsplans.client._models import (
    Enrolment,
    PlanCourseSpec,
    PlanDetail,
    PlanInfo,
    RosterMember,
    RosterSummary,
)
from lmsplans.client._requests import fields, plan_courses_payload, plan_payload
from lmsplans.client._sync.pager import Resource, SyncPager

__all__ = ["LearningPlans"]


class LearningPlans(Resource):
    """Learning plans: their rosters, and managing them (`/api/v1/learning-plans/...`)."""

    def list(
        self, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[PlanInfo]:
        """The organisation's plans (admins also see drafts), GET /api/v1/learning-plans."""
        return self._pager(LEARNING_PLANS, PlanInfo, page_size=page_size, start_index=start_index)

    def learners(
        self,
        plan_id: str | int,
        *,
        status: str | None = None,
        search: str | None = None,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[RosterMember]:
        """The plan's roster with each learner's progress, GET
        /api/v1/learning-plans/{planId}/learners; `status` is one of completed, inProgress,
        notStarted, overdue; `search` keeps the learners whose name, email address or
        employee id holds it (case-insensitive). Each page's `raw["summary"]` holds counts
        for the whole roster, and `matchingCount` how many the filters keep."""
        return self._pager(
            PLAN_LEARNERS,
            RosterMember,
            params=fields(status=status or None, search=search or None) or None,
            page_size=page_size,
            start_index=start_index,
            planId=plan_id,
        )

    def roster_summary(
        self, plan_id: str | int, *, status: str | None = None, search: str | None = None
    ) -> RosterSummary:
        """Counts over the plan's whole roster (total, completed, in progress, not started,
        overdue, and how many match `status` and `search`), in one call."""
        page = self.learners(plan_id, status=status, search=search, page_size=1).first_page()
        summary = page.raw.get("summary")
        return RosterSummary.from_raw(summary if isinstance(summary, dict) else {})

    # --- management (this product's own endpoints) ---

    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        duration: int | None = None,
        duration_type: int | None = None,
        image: str | None = None,
        plan_admins: Sequence[str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> PlanDetail:
        """Create a draft plan (admins only), POST /api/v1/learning-plans. `duration` 0 (the
        default) means no due date; `duration_type` 0 days, 1 weeks, 2 months."""
        data = plan_payload(name, description, duration, duration_type, image, plan_admins)
        return self._record(PLAN_CREATE, PlanDetail, json=data, idempotency_key=idempotency_key)

    def get(self, plan_id: str | int) -> PlanDetail:
        """One plan with its courses and admins, GET /api/v1/learning-plans/{planId}."""
        return self._record(PLAN, PlanDetail, planId=plan_id)

    def update(
        self,
        plan_id: str | int,
        *,
        name: str | None = None,
        description: str | None = None,
        duration: int | None = None,
        duration_type: int | None = None,
        image: str | None = None,
        plan_admins: Sequence[str | int] | None = None,
        disabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> PlanDetail:
        """Change a plan, PATCH /api/v1/learning-plans/{planId}; arguments left as None stay
        as they are, `plan_admins` replaces the plan's admins."""
        data = plan_payload(name, description, duration, duration_type, image, plan_admins)
        data.update(fields(disabled=disabled))
        return self._record(
            PLAN_UPDATE, PlanDetail, json=data, idempotency_key=idempotency_key, planId=plan_id
        )

    def delete(self, plan_id: str | int, *, idempotency_key: str | None = None) -> str:
        """Delete a draft plan (a published one is a ConflictError: disable it), DELETE
        /api/v1/learning-plans/{planId}; returns its id."""
        e = PLAN_DELETE
        body = self._client._call(e, e.path(planId=plan_id), idempotency_key=idempotency_key)
        return str(body.get("planId", plan_id))

    def publish(self, plan_id: str | int, *, idempotency_key: str | None = None) -> PlanDetail:
        """Publish a plan (it needs a mandatory course), POST .../{planId}/publish."""
        return self._record(
            PLAN_PUBLISH, PlanDetail, idempotency_key=idempotency_key, planId=plan_id
        )

    def disable(self, plan_id: str | int, *, idempotency_key: str | None = None) -> PlanDetail:
        """Disable a plan (no new enrolments; history stays), POST .../{planId}/disable."""
        return self._record(
            PLAN_DISABLE, PlanDetail, idempotency_key=idempotency_key, planId=plan_id
        )

    def set_courses(
        self,
        plan_id: str | int,
        courses: Sequence[PlanCourseSpec | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> PlanDetail:
        """Replace the plan's whole course list, PUT /api/v1/learning-plans/{planId}/courses;
        each course a `PlanCourseSpec` or a mapping in the API's field names."""
        return self._record(
            PLAN_COURSES,
            PlanDetail,
            json={"courses": plan_courses_payload(courses)},
            idempotency_key=idempotency_key,
            planId=plan_id,
        )

    def enrol(
        self,
        plan_id: str | int,
        learners: Sequence[str | int],
        *,
        idempotency_key: str | None = None,
    ) -> Enrolment:
        """Enrol up to 200 learners (userIds/erecnos, zuids or emails), PUT
        /api/v1/learning-plans/{planId}/learners; those already enrolled are left as they are."""
        e = PLAN_ENROL
        body = self._client._call(
            e,
            e.path(planId=plan_id),
            json=[str(learner) for learner in learners],
            idempotency_key=idempotency_key,
        )
        return Enrolment.from_raw(body)

    def unenrol(
        self, plan_id: str | int, learner_id: str | int, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Unenrol a learner (the enrolment and its history are kept), DELETE
        /api/v1/learning-plans/{planId}/learners/{learnerId}; returns the answer."""
        e = PLAN_UNENROL
        return self._client._call(
            e, e.path(planId=plan_id, learnerId=learner_id), idempotency_key=idempotency_key
        )

    def join(
        self, plan_id: str | int, learner_id: str | int, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """The learner joins a published plan (enrolling if needed), POST
        /api/v1/learners/{learnerId}/learning-plans/{planId}/join; returns the answer
        (`planId`, `userId`, `planuserId`)."""
        e = PLAN_JOIN
        return self._client._call(
            e, e.path(learnerId=learner_id, planId=plan_id), idempotency_key=idempotency_key
        )
