# Generated from src/lmsplans/client/_async/resources/learners.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""`client.learners`: a learner's progress (`/api/v1/learners/{learnerId}/...`), and managing
learners."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from lmsplans.client._answers import first_record_of, records_of
from lmsplans.client._endpoints import (
    LEARNER,
    LEARNER_COURSE_PROGRESS,
    LEARNER_DEACTIVATE,
    LEARNER_PLAN_COURSES_PROGRESS,
    LEARNER_PLANS_PROGRESS,
    LEARNER_UPDATE,
    LEARNERS,
    LEARNERS_CREATE,
    LEARNERS_UPSERT,
    PLAN_HISTORY,
)
from lmsplans.client._models import (
    CourseInPlanProgress,
    CourseProgress,
    HistoryEvent,
    Learner,
    LearnerUpsert,
    LearningPlanProgress,
)
from lmsplans.client._requests import learner_filters, learner_payload
from lmsplans.client._sync.pager import Resource, SyncPager

__all__ = ["Learners"]


class Learners(Resource):
    """Learners: their progress (`/api/v1/learners/{learnerId}/...`), and managing them.

    A `learner_id` is the learner's userId (erecno), zuid or email address.
    """

    def learning_plans_progress(
        self, learner_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[LearningPlanProgress]:
        """The learner's progress in every plan they are enrolled in: the reference endpoint,
        GET /api/v1/learners/{learnerId}/learning-plans/progress (`startIndex` from 0).

        No `limit` is sent unless `page_size` is given, so it pages as Zoho does (25)."""
        return self._pager(
            LEARNER_PLANS_PROGRESS,
            LearningPlanProgress,
            page_size=page_size,
            start_index=start_index,
            learnerId=learner_id,
        )

    def plan_courses_progress(
        self,
        learner_id: str | int,
        plan_id: str | int,
        *,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[CourseInPlanProgress]:
        """The plan's courses with the learner's progress in each (level, mandatory, locked),
        GET /api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress."""
        return self._pager(
            LEARNER_PLAN_COURSES_PROGRESS,
            CourseInPlanProgress,
            page_size=page_size,
            start_index=start_index,
            learnerId=learner_id,
            planId=plan_id,
        )

    def course_progress(
        self, learner_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[CourseProgress]:
        """The learner's progress in every course,
        GET /api/v1/learners/{learnerId}/course-progress."""
        return self._pager(
            LEARNER_COURSE_PROGRESS,
            CourseProgress,
            page_size=page_size,
            start_index=start_index,
            learnerId=learner_id,
        )

    # --- management (this product's own endpoints) ---

    def create(
        self,
        *,
        email_id: str,
        display_name: str,
        employee_id: str,
        role: str | None = None,
        manager_id: str | int | None = None,
        zuid: int | None = None,
        idempotency_key: str | None = None,
    ) -> Learner:
        """Create one learner (admins only), POST /api/v1/learners. `role` is admin, manager
        or learner (the default); `manager_id` a userId, zuid or email of the organisation."""
        data = learner_payload(email_id, display_name, employee_id, role, manager_id, zuid=zuid)
        e = LEARNERS_CREATE
        body = self._client._call(e, e.path(), json=data, idempotency_key=idempotency_key)
        return Learner.from_raw(first_record_of(body, e.key))

    def create_many(
        self, learners: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> builtins.list[Learner]:
        """Create up to 200 learners at once, all or none (admins only); each a mapping in the
        API's field names (`emailId`, `displayName`, `employeeId`, `role`, `managerId`,
        `zuid`). A learner may name an earlier one of the batch as its manager."""
        e = LEARNERS_CREATE
        body = self._client._call(
            e, e.path(), json=[dict(item) for item in learners], idempotency_key=idempotency_key
        )
        return [Learner.from_raw(r) for r in records_of(body, e.key)]

    def upsert_many(
        self, learners: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> LearnerUpsert:
        """Create or update up to 200 learners at once, all or none (admins only), PUT
        /api/v1/learners. Each is matched on `employeeId`, else `emailId`, and a mapping in
        the API's field names (`employeeId`, `emailId`, `displayName`, `role`, `managerId` or
        `managerEmployeeId`, `status`); absent fields keep their value. Managers may be
        anywhere in the batch. Sending the same list again changes nothing."""
        e = LEARNERS_UPSERT
        body = self._client._call(
            e, e.path(), json=[dict(item) for item in learners], idempotency_key=idempotency_key
        )
        return LearnerUpsert.from_raw(body)

    def list(
        self,
        *,
        search: str | None = None,
        role: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[Learner]:
        """The learners the caller may see, GET /api/v1/learners; `search` matches a part of
        the name, email or employee id, `role` and `status` (active, inactive) filter."""
        return self._pager(
            LEARNERS,
            Learner,
            params=learner_filters(search, role, status),
            page_size=page_size,
            start_index=start_index,
        )

    def get(self, learner_id: str | int) -> Learner:
        """One learner, GET /api/v1/learners/{learnerId}."""
        return self._record(LEARNER, Learner, learnerId=learner_id)

    def update(
        self,
        learner_id: str | int,
        *,
        email_id: str | None = None,
        display_name: str | None = None,
        employee_id: str | None = None,
        role: str | None = None,
        manager_id: str | int | None = None,
        remove_manager: bool = False,
        status: str | None = None,
        idempotency_key: str | None = None,
    ) -> Learner:
        """Change a learner (admins only), PATCH /api/v1/learners/{learnerId}; arguments left
        as None stay as they are, `remove_manager=True` removes the manager."""
        data = learner_payload(email_id, display_name, employee_id, role, manager_id, status=status)
        if remove_manager:
            data["managerId"] = None
        return self._record(
            LEARNER_UPDATE,
            Learner,
            json=data,
            idempotency_key=idempotency_key,
            learnerId=learner_id,
        )

    def deactivate(self, learner_id: str | int, *, idempotency_key: str | None = None) -> Learner:
        """Deactivate a learner (admins only; records and history are kept),
        DELETE /api/v1/learners/{learnerId}."""
        return self._record(
            LEARNER_DEACTIVATE, Learner, idempotency_key=idempotency_key, learnerId=learner_id
        )

    def plan_history(
        self,
        learner_id: str | int,
        plan_id: str | int,
        *,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[HistoryEvent]:
        """Every event of the learner in the plan, oldest first, GET
        /api/v1/learners/{learnerId}/learning-plans/{planId}/history."""
        return self._pager(
            PLAN_HISTORY,
            HistoryEvent,
            page_size=page_size,
            start_index=start_index,
            learnerId=learner_id,
            planId=plan_id,
        )
