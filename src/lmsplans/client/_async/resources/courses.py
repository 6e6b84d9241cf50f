"""`client.courses`: progress in courses, recording it, and managing courses
(`/api/v1/courses/...`)."""

from __future__ import annotations

from datetime import datetime

from lmsplans.client._async.pager import AsyncPager, AsyncResource
from lmsplans.client._endpoints import (
    COURSE,
    COURSE_CREATE,
    COURSE_DELETE,
    COURSE_LEARNER_PROGRESS,
    COURSE_PROGRESS,
    COURSE_UPDATE,
    COURSES,
    RECORD_PROGRESS,
)
from lmsplans.client._errors import LmsPlansError
from lmsplans.client._models import Course, CourseProgress
from lmsplans.client._requests import fields, progress_payload

__all__ = ["AsyncCourses"]


class AsyncCourses(AsyncResource):
    """Courses: progress in them, recording it, and managing them (`/api/v1/courses/...`)."""

    def progress(
        self, course_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> AsyncPager[CourseProgress]:
        """Every visible learner's progress in the course, GET
        /api/v1/courses/{courseId}/course-progress."""
        return self._pager(
            COURSE_PROGRESS,
            CourseProgress,
            page_size=page_size,
            start_index=start_index,
            courseId=course_id,
        )

    async def learner_progress(self, course_id: str | int, learner_id: str | int) -> CourseProgress:
        """One learner's progress in one course, GET
        /api/v1/courses/{courseId}/learners/{learnerId}/course-progress."""
        e = COURSE_LEARNER_PROGRESS
        body = await self._client._call(e, e.path(courseId=course_id, learnerId=learner_id))
        record = body.get("courseProgress")
        if isinstance(record, list):
            record = record[0] if record else None
        if not isinstance(record, dict):
            raise LmsPlansError("unexpected answer: no courseProgress record")
        return CourseProgress.from_raw(record)

    async def record_progress(
        self,
        course_id: str | int,
        learner_id: str | int,
        *,
        percentage: int | None = None,
        status: str | None = None,
        completion_time: datetime | int | None = None,
        reset: bool = False,
        idempotency_key: str | None = None,
    ) -> CourseProgress:
        """Record a learner's progress in a course, PUT
        /api/v1/courses/{courseId}/learners/{learnerId}/course-progress: a `percentage`, a
        `status` (notStarted, inProgress, completed) or both, dated `completion_time`
        (default now); or `reset=True`, the only way back from completed."""
        return await self._record(
            RECORD_PROGRESS,
            CourseProgress,
            json=progress_payload(percentage, status, completion_time, reset),
            idempotency_key=idempotency_key,
            courseId=course_id,
            learnerId=learner_id,
        )

    # --- management (this product's own endpoints) ---

    async def create(
        self,
        name: str,
        *,
        course_type: int | None = None,
        duration: int | None = None,
        idempotency_key: str | None = None,
    ) -> Course:
        """Create a course (admins only), POST /api/v1/courses; `course_type` 1 self-paced
        (the default), 2 blended, 3 e-material; `duration` in minutes."""
        data = fields(courseName=name, courseType=course_type, duration=duration)
        return await self._record(COURSE_CREATE, Course, json=data, idempotency_key=idempotency_key)

    def list(
        self, *, page_size: int | None = None, start_index: int | None = None
    ) -> AsyncPager[Course]:
        """The organisation's courses, oldest first, GET /api/v1/courses."""
        return self._pager(COURSES, Course, page_size=page_size, start_index=start_index)

    async def get(self, course_id: str | int) -> Course:
        """One course, GET /api/v1/courses/{courseId}."""
        return await self._record(COURSE, Course, courseId=course_id)

    async def update(
        self,
        course_id: str | int,
        *,
        name: str | None = None,
        course_type: int | None = None,
        duration: int | None = None,
        clear_duration: bool = False,
        idempotency_key: str | None = None,
    ) -> Course:
        """Change a course (admins only), PATCH /api/v1/courses/{courseId}; arguments left as
        None stay as they are, `clear_duration=True` removes the duration."""
        data = fields(courseName=name, courseType=course_type, duration=duration)
        if clear_duration:
            data["duration"] = None
        return await self._record(
            COURSE_UPDATE, Course, json=data, idempotency_key=idempotency_key, courseId=course_id
        )

    async def delete(self, course_id: str | int, *, idempotency_key: str | None = None) -> Course:
        """Delete a course (refused while a published plan uses it), DELETE
        /api/v1/courses/{courseId}; returns the course as it was."""
        return await self._record(
            COURSE_DELETE, Course, idempotency_key=idempotency_key, courseId=course_id
        )
