"""Managing courses: create, list, read, update, delete."""

from __future__ import annotations

from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.courses import queries, service
from lmsplans.server.courses.schemas import (
    BatchesPage,
    CourseIn,
    CourseOne,
    CoursePatch,
    CoursesPage,
)
from lmsplans.server.db import Row
from lmsplans.server.errors import Conflict, NoSuchLearner, NoSuchRecord
from lmsplans.server.http import Call, WriteCall
from lmsplans.server.learners.service import visibility
from lmsplans.server.params import payload
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import ok, ok_page

routes = RouteTable(tags=("Courses",))


def _course_id(call: Call) -> int:
    return call.id_param("courseId", "course")


def _course(row: Row, message: str) -> Response:
    return ok({"course": queries.course_record(row)}, message)


@routes.post(
    "/api/v1/courses",
    role=Role.ADMIN,
    response=CourseOne,
    body=CourseIn,
    payload="courseData",
    errors=(NoSuchLearner,),
)
async def create_course(call: WriteCall) -> Response:
    """Create a course

    Admins only. `courseData` in this product's fields (`courseName`, `courseType`,
    `duration` in minutes) or in Zoho's, as its Create Course API documents them (`name`,
    `type`, `description`, `aboutCourse`, `duration` with `durationUnit`, `courseCode`,
    `courseAdmins`, `categories`, `permissionSettings`); the answer echoes them. A course
    admin who is not a learner of the organisation is 404 7048.
    """
    course = await payload(call.request, "courseData", CourseIn)
    course_id = await service.create_from_payload(call.conn, write=call.write, data=course)
    row = await queries.course_row(call.conn, org_id=call.write.org_id, course_id=course_id)
    return _course(row, "Course created successfully")


@routes.get("/api/v1/courses", response=CoursesPage, paging=1)
async def list_courses(call: Call) -> Response:
    """The organisation's courses

    Oldest first; deleted courses are not listed.
    """
    page = call.page()
    async with call.db.read() as conn:
        courses, more = await queries.list_courses(conn, org_id=call.principal.org_id, page=page)
    return ok_page("courses", courses, more, "Courses fetched successfully")


@routes.get("/api/v1/courses/{courseId}", response=CourseOne, errors=(NoSuchRecord,))
async def read_course(call: Call) -> Response:
    """One course"""
    async with call.db.read() as conn:
        row = await queries.course_row(
            conn, org_id=call.principal.org_id, course_id=_course_id(call)
        )
    return _course(row, "Course fetched successfully")


@routes.patch(
    "/api/v1/courses/{courseId}",
    role=Role.ADMIN,
    response=CourseOne,
    body=CoursePatch,
    payload="courseData",
    errors=(NoSuchRecord, NoSuchLearner),
)
async def update_course(call: WriteCall) -> Response:
    """Update a course

    Admins only, in this product's fields or Zoho's (as Zoho's Update Course API documents
    `courseData`). Absent fields stay as they are; `duration: null` clears the duration. A
    `duration` without `durationUnit` is in the course's present unit.
    """
    patch = await payload(call.request, "courseData", CoursePatch)
    course_id = _course_id(call)
    await service.update_course(call.conn, write=call.write, course_id=course_id, patch=patch)
    row = await queries.course_row(call.conn, org_id=call.write.org_id, course_id=course_id)
    return _course(row, "Course updated successfully")


@routes.delete(
    "/api/v1/courses/{courseId}",
    role=Role.ADMIN,
    response=CourseOne,
    errors=(NoSuchRecord, Conflict),
)
async def delete_course(call: WriteCall) -> Response:
    """Delete a course

    Admins only; answers the course as it was. Refused (409 7052) while a published plan
    uses it; it leaves the draft plans that had it. Learners' progress in it is kept.
    """
    row = await service.delete_course(call.conn, write=call.write, course_id=_course_id(call))
    return _course(row, "Course deleted successfully")


@routes.get(
    "/api/v1/courses/{courseId}/batches",
    response=BatchesPage,
    paging=0,
    errors=(NoSuchRecord,),
)
async def list_batches(call: Call) -> Response:
    """A course's batches

    As Zoho's Fetch Course Batch List API answers for a blended course. lmsplans keeps no
    schedules, so a blended course has one batch, the course itself (`batchId` is the
    `courseId`); other course types have none. `learnersCount` counts the learners in the
    course the caller may see.
    """
    page = call.page()
    async with call.db.read() as conn:
        row = await queries.course_row(
            conn, org_id=call.principal.org_id, course_id=_course_id(call)
        )
        batches, more = await queries.course_batches(
            conn, row=row, visibility=visibility(call.principal), page=page
        )
    return ok_page("batches", batches, more, "Batches fetched successfully")
