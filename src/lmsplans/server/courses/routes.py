"""Managing courses: create, list, read, update, delete."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from lmsplans.server.auth.schemas import Operation
from lmsplans.server.courses import queries, service
from lmsplans.server.courses.schemas import (
    CourseIn,
    CourseOne,
    CoursePatch,
    CoursesPage,
)
from lmsplans.server.errors import (
    Conflict,
    InvalidParameter,
    MissingParameter,
    NoSuchRecord,
    PermissionDenied,
)
from lmsplans.server.http import Call, WriteCall, api_route, write_route
from lmsplans.server.learners.service import ensure_admin
from lmsplans.server.openapi import PAGING_ERRORS, OperationDoc, paging
from lmsplans.server.params import page_of, payload
from lmsplans.server.wire import ok


async def create_course(call: WriteCall) -> Response:
    """POST /api/v1/courses — admins only."""
    ensure_admin(call.principal)
    course = await payload(call.request, "courseData", CourseIn)
    course_id = await service.create_course(
        call.conn,
        write=call.write,
        name=course.courseName,
        course_type=course.courseType,
        duration_minutes=course.duration,
    )
    row = await queries.course_row(call.conn, org_id=call.principal.org_id, course_id=course_id)
    return ok({"course": queries.course_record(row)}, "Course created successfully")


async def list_courses(call: Call) -> Response:
    """GET /api/v1/courses — the organisation's courses, oldest first."""
    page = page_of(call.request, first_index=1)
    async with call.db.read() as conn:
        courses, more = await queries.list_courses(conn, org_id=call.principal.org_id, page=page)
    return ok({"courses": courses, "isNextAvailable": more}, "Courses fetched successfully")


async def read_course(call: Call) -> Response:
    """GET /api/v1/courses/{courseId}"""
    async with call.db.read() as conn:
        row = await queries.course_row(
            conn, org_id=call.principal.org_id, course_id=call.id_param("courseId", "course")
        )
    return ok({"course": queries.course_record(row)}, "Course fetched successfully")


async def update_course(call: WriteCall) -> Response:
    """PATCH /api/v1/courses/{courseId} — admins only."""
    ensure_admin(call.principal)
    patch = await payload(call.request, "courseData", CoursePatch)
    course_id = call.id_param("courseId", "course")
    await service.update_course(call.conn, write=call.write, course_id=course_id, patch=patch)
    row = await queries.course_row(call.conn, org_id=call.principal.org_id, course_id=course_id)
    return ok({"course": queries.course_record(row)}, "Course updated successfully")


async def delete_course(call: WriteCall) -> Response:
    """DELETE /api/v1/courses/{courseId} — refused (409) while a published plan uses it."""
    ensure_admin(call.principal)
    row = await service.delete_course(
        call.conn, write=call.write, course_id=call.id_param("courseId", "course")
    )
    return ok({"course": queries.course_record(row)}, "Course deleted successfully")


_TAGS = ("Courses",)
_BAD_PAYLOAD = (MissingParameter, InvalidParameter)

routes: list[Route] = [
    write_route(
        "/api/v1/courses",
        create_course,
        method="POST",
        operation=Operation.CREATE,
        doc=OperationDoc(
            "Create a course",
            CourseOne,
            description="Admins only.",
            tags=_TAGS,
            body=CourseIn,
            payload="courseData",
            errors=(*_BAD_PAYLOAD, PermissionDenied),
        ),
    ),
    api_route(
        "/api/v1/courses",
        list_courses,
        doc=OperationDoc(
            "The organisation's courses",
            CoursesPage,
            description="Oldest first; deleted courses are not listed.",
            tags=_TAGS,
            params=paging(1),
            errors=PAGING_ERRORS,
        ),
    ),
    api_route(
        "/api/v1/courses/{courseId}",
        read_course,
        doc=OperationDoc("One course", CourseOne, tags=_TAGS, errors=(NoSuchRecord,)),
    ),
    write_route(
        "/api/v1/courses/{courseId}",
        update_course,
        method="PATCH",
        operation=Operation.UPDATE,
        doc=OperationDoc(
            "Update a course",
            CourseOne,
            description="Admins only. Absent fields stay as they are; `duration: null` "
            "clears the duration.",
            tags=_TAGS,
            body=CoursePatch,
            payload="courseData",
            errors=(*_BAD_PAYLOAD, PermissionDenied, NoSuchRecord),
        ),
    ),
    write_route(
        "/api/v1/courses/{courseId}",
        delete_course,
        method="DELETE",
        operation=Operation.DELETE,
        doc=OperationDoc(
            "Delete a course",
            CourseOne,
            description="Admins only; answers the course as it was. Refused (409 7052) while "
            "a published plan uses it; it leaves the draft plans that had it. Learners' "
            "progress in it is kept.",
            tags=_TAGS,
            errors=(PermissionDenied, NoSuchRecord, Conflict),
        ),
    ),
]
