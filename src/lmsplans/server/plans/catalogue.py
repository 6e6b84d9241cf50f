"""Setting a catalogue (`catalogue_schema`) in an organisation: its courses and plans created
or updated by name, the plans' courses and lifecycle, and enrolments; all or nothing.

Everything that can be checked before writing is (names that are ambiguous or unknown,
courses twice, learners no one has, a published plan without a mandatory course, a plan
asked to go back to draft), every problem at once (`BatchRefused`). The writes go through
the course, plan and enrolment services, so their rules and events apply: a rule they
refuse on is a problem like any other, and the whole catalogue is refused. Applying the
same catalogue again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lmsplans.server.courses import service as courses
from lmsplans.server.courses.queries import live_courses
from lmsplans.server.courses.schemas import CoursePatch
from lmsplans.server.db import Connection, Row, lock_key
from lmsplans.server.errors import (
    ApiError,
    BatchRefused,
    Conflict,
    InvalidParameter,
    NoSuchLearner,
    NoSuchRecord,
    Problem,
)
from lmsplans.server.learners.queries import org_learners
from lmsplans.server.plans import enrolments, service
from lmsplans.server.plans.catalogue_schema import Catalogue, CourseSpec, PlanSpec
from lmsplans.server.plans.queries import org_plans, plan_admin_ids, plan_course_list
from lmsplans.server.plans.schemas import PlanIn, PlanPatch
from lmsplans.server.plans.service import PlanCourse
from lmsplans.server.writes import WriteContext

Change = Literal["created", "updated", "unchanged"]
Path = tuple[str | int, ...]
ENROL_CHUNK = 50  # learners enrolled per service call: the progress moves between calls


@dataclass(slots=True)
class Applied:
    """What became of one course or plan of the catalogue."""

    path: Path  # ("courses", 0) or ("plans", 2)
    name: str
    record_id: int
    change: Change = "unchanged"
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    enrolled: int = 0  # learners enrolled now
    already_enrolled: int = 0


async def apply_catalogue(
    conn: Connection,
    *,
    write: WriteContext,
    catalogue: Catalogue,
    progress: Callable[[int, int], None] | None = None,
) -> list[Applied]:
    """Create or update the catalogue's courses, then its plans, as the writer (an admin:
    the owner of new plans); answers what became of each, courses first. `progress(done,
    total)` is told as courses, plans and enrolments are written."""
    assert write.actor_id is not None, "new plans need an owner"
    await conn.lock(lock_key("catalogue", write.org_id))  # one catalogue at a time
    run = _Run(conn, write, catalogue, progress or (lambda done, total: None))
    await run.load()
    run.check()
    if run.problems:
        raise BatchRefused(run.problems, payload="", what="the catalogue")
    for index, course in enumerate(catalogue.courses):
        await run.course(index, course)
    for index, plan in enumerate(catalogue.plans):
        await run.plan(index, plan)
    if run.problems:
        raise BatchRefused(run.problems, payload="", what="the catalogue")
    return run.applied


def _by_name(rows: Sequence[Row]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for row in rows:
        found.setdefault(row["name"].lower(), []).append(row)
    return found


class _Run:
    def __init__(
        self,
        conn: Connection,
        write: WriteContext,
        catalogue: Catalogue,
        progress: Callable[[int, int], None],
    ) -> None:
        self.conn, self.write, self.catalogue, self.progress = conn, write, catalogue, progress
        self.done = 0
        self.total = len(catalogue.courses) + len(catalogue.plans)
        self.problems: list[Problem] = []
        self.applied: list[Applied] = []
        self.course_ids: dict[str, int] = {}  # lower-case name -> id, as written

    def advance(self, steps: int) -> None:
        self.done += steps
        self.progress(self.done, self.total)

    def problem(self, path: Path, message: str, kind: type[ApiError] = InvalidParameter) -> None:
        self.problems.append(Problem(path, message, kind))

    async def load(self) -> None:
        org_id = self.write.org_id
        self.db_courses = _by_name(await live_courses(self.conn, org_id=org_id))
        self.db_plans = _by_name(await org_plans(self.conn, org_id=org_id))
        people = await org_learners(self.conn, org_id=org_id)
        self.active = [p.id for p in people if p.status == "active"]
        self.people: dict[str, int] = {}
        for p in people:  # userIds and zuids, then employee ids, then emails: the last wins
            self.people.update({str(p.id): p.id, str(p.zuid): p.id})
        self.people.update({p.employee_id: p.id for p in people})
        self.people.update({p.email: p.id for p in people})
        self.plan_courses: dict[int, list[tuple[int, int, bool, bool]]] = {}
        for plan in self.catalogue.plans:
            self.total += len(self._to_enrol(plan))
        for plan in self.catalogue.plans:
            row = self._one(self.db_plans, plan.name)
            if row is not None:
                self.plan_courses[row["id"]] = await plan_course_list(self.conn, plan_id=row["id"])

    @staticmethod
    def _one(rows: dict[str, list[Row]], name: str) -> Row | None:
        found = rows.get(name.lower(), [])
        return found[0] if len(found) == 1 else None

    def _learner(self, ref: str) -> int | None:
        return self.people.get(ref) or self.people.get(ref.lower())

    # --- checks before writing -----------------------------------------------------------

    def check(self) -> None:
        self._unique("courses", [c.name for c in self.catalogue.courses], self.db_courses)
        self._unique("plans", [p.name for p in self.catalogue.plans], self.db_plans)
        file_courses = {c.name.lower() for c in self.catalogue.courses}
        for index, plan in enumerate(self.catalogue.plans):
            self._check_plan(("plans", index), plan, file_courses)

    def _unique(self, kind: str, names: list[str], stored: dict[str, list[Row]]) -> None:
        seen: dict[str, int] = {}
        for index, name in enumerate(names):
            first = seen.setdefault(name.lower(), index)
            if first != index:
                self.problem((kind, index, "name"), f"{name!r} is named at {kind}.{first} too")
            if len(stored.get(name.lower(), [])) > 1:
                count = len(stored[name.lower()])
                what = "courses" if kind == "courses" else "learning plans"
                self.problem(
                    (kind, index, "name"),
                    f"{count} {what} of the organisation are named {name!r}: rename all but one",
                    Conflict,
                )

    def _check_plan(self, at: Path, plan: PlanSpec, file_courses: set[str]) -> None:
        given = plan.model_fields_set
        stored = self._one(self.db_plans, plan.name)
        seen: set[str] = set()
        for j, item in enumerate(plan.courses):
            name = item.course.lower()
            if name in seen:
                self.problem((*at, "courses", j, "course"), f"{item.course!r} is in the plan twice")
            seen.add(name)
            same_name = len(self.db_courses.get(name, []))
            if name not in file_courses and same_name != 1:
                self.problem(
                    (*at, "courses", j, "course"),
                    f"{same_name} courses of the organisation are named {item.course!r}: rename "
                    "all but one"
                    if same_name
                    else f"no course named {item.course!r} in the file or the organisation",
                    Conflict if same_name else NoSuchRecord,
                )
        if stored is not None and "courses" not in given:
            mandatory = any(c[2] for c in self.plan_courses[stored["id"]])
        else:
            mandatory = any(c.mandatory for c in plan.courses)
        was_published = stored is not None and stored["publish_state"] == 1
        published = plan.published if "published" in given or stored is None else was_published
        disabled = plan.disabled if "disabled" in given or stored is None else stored["disabled"]
        if published and not mandatory:
            self.problem(
                (*at, "courses"),
                "a published plan needs a mandatory course (or say `published: false`)",
                Conflict,
            )
        if was_published and not published:
            self.problem(
                (*at, "published"),
                "a published plan cannot go back to draft: say `disabled: true` instead",
                Conflict,
            )
        for k, ref in enumerate(plan.admins):
            if self._learner(ref) is None:
                self.problem((*at, "admins", k), f"no learner {ref!r}", NoSuchLearner)
        if plan.enrol is None:
            return
        if not published or disabled:
            self.problem((*at, "enrol"), "only a published, enabled plan takes learners", Conflict)
        for k, ref in enumerate([] if plan.enrol == "all" else plan.enrol):
            if self._learner(ref) is None:
                self.problem((*at, "enrol", k), f"no learner {ref!r}", NoSuchLearner)

    # --- the writes ----------------------------------------------------------------------

    async def _attempt(self, at: Path, write: Any) -> Any:
        """Run one service write; a refusal is a problem at `at` (and its field)."""
        try:
            return await write
        except ApiError as error:
            named = (error.errors or [{}])[0].get("field")
            parts = tuple(int(p) if p.isdigit() else p for p in named.split(".")) if named else ()
            self.problems.append(Problem((*at, *parts), error.message, type(error)))
            return None

    async def course(self, index: int, spec: CourseSpec) -> None:
        at: Path = ("courses", index)
        stored = self._one(self.db_courses, spec.name)
        if stored is None:
            course_id = await courses.create_course(
                self.conn,
                write=self.write,
                name=spec.name,
                course_type=spec.type,
                duration_minutes=spec.duration,
            )
            self.applied.append(Applied(at, spec.name, course_id, "created"))
        else:
            course_id = stored["id"]
            done = Applied(at, spec.name, course_id)
            given = spec.model_fields_set
            for name, column, value, asked in (
                ("courseName", "name", spec.name, True),
                ("courseType", "course_type", spec.type, "type" in given),
                ("duration", "duration_minutes", spec.duration, "duration" in given),
            ):
                if asked and stored[column] != value:
                    done.changes[name] = (stored[column], value)
            if done.changes:
                patch = CoursePatch.model_validate({k: v[1] for k, v in done.changes.items()})
                await self._attempt(
                    at,
                    courses.update_course(
                        self.conn, write=self.write, course_id=course_id, patch=patch
                    ),
                )
                done.change = "updated"
            self.applied.append(done)
        self.course_ids[spec.name.lower()] = course_id
        self.advance(1)

    def _course_list(self, spec: PlanSpec) -> list[PlanCourse]:
        listed = []
        for item in spec.courses:
            course_id = self.course_ids.get(item.course.lower())
            if course_id is None:  # not in the file: the organisation's (checked)
                stored = self._one(self.db_courses, item.course)
                assert stored is not None
                course_id = stored["id"]
            listed.append(PlanCourse(course_id, item.level, item.mandatory, item.locked))
        return listed

    async def plan(self, index: int, spec: PlanSpec) -> None:
        at: Path = ("plans", index)
        given = spec.model_fields_set
        stored = self._one(self.db_plans, spec.name)
        admins = [str(self._learner(ref)) for ref in spec.admins]
        wanted = self._course_list(spec)
        if stored is None:
            data = PlanIn(
                planName=spec.name,
                description=spec.description,
                duration=spec.duration,
                durationType=spec.durationType,
                image=spec.image,
                planAdmins=admins,
            )
            plan_id = await self._attempt(
                at, service.create_draft(self.conn, write=self.write, data=data)
            )
            if plan_id is None:
                return
            done = Applied(at, spec.name, plan_id, "created")
            published, disabled, current = False, False, []
        else:
            plan_id = stored["id"]
            done = Applied(at, spec.name, plan_id)
            published, disabled = stored["publish_state"] == 1, bool(stored["disabled"])
            current = self.plan_courses[plan_id]
            await self._update_fields(at, done, stored, spec, admins)
        new_list = [(c.course_id, c.level, c.is_mandatory, c.is_locked) for c in wanted]
        if ("courses" in given or stored is None) and new_list != current:
            if stored is not None:
                done.changes["courses"] = (len(current), len(new_list))
            await self._attempt(
                at,
                service.replace_plan_courses(
                    self.conn, write=self.write, plan_id=plan_id, courses=wanted
                ),
            )
        if spec.published and not published and ("published" in given or stored is None):
            if stored is not None:
                done.changes["published"] = (False, True)
            await self._attempt(
                (*at, "published"),
                service.publish_plan(self.conn, write=self.write, plan_id=plan_id),
            )
        if spec.disabled and not disabled and "disabled" in given:
            if stored is not None:
                done.changes["disabled"] = (False, True)
            await self._attempt(
                (*at, "disabled"),
                service.disable_plan(self.conn, write=self.write, plan_id=plan_id),
            )
        if done.changes and done.change == "unchanged":
            done.change = "updated"
        await self._enrol(at, done, spec)
        self.applied.append(done)
        self.advance(1)

    async def _update_fields(
        self, at: Path, done: Applied, stored: Row, spec: PlanSpec, admins: list[str]
    ) -> None:
        given = spec.model_fields_set
        patch: dict[str, Any] = {}
        if stored["name"] != spec.name:
            patch["planName"] = spec.name
            done.changes["planName"] = (stored["name"], spec.name)
        for name, column in (
            ("description", "description"),
            ("duration", "duration"),
            ("durationType", "duration_type"),
            ("image", "image"),
        ):
            value = getattr(spec, name)
            if name in given and stored[column] != value:
                patch[name] = value
                done.changes[name] = (stored[column], value)
        if "admins" in given:
            before = sorted(await plan_admin_ids(self.conn, plan_id=stored["id"]))
            after = sorted({int(a) for a in admins})
            if before != after:
                patch["planAdmins"] = admins
                done.changes["admins"] = (len(before), len(after))
        if "disabled" in given and not spec.disabled and stored["disabled"]:
            patch["disabled"] = False
            done.changes["disabled"] = (True, False)
        if patch:
            await self._attempt(
                at,
                service.update_plan(
                    self.conn,
                    write=self.write,
                    plan_id=stored["id"],
                    patch=PlanPatch.model_validate(patch),
                ),
            )

    def _to_enrol(self, spec: PlanSpec) -> list[int]:
        if spec.enrol is None:
            return []
        if spec.enrol == "all":
            return list(self.active)
        return list(dict.fromkeys(p for p in map(self._learner, spec.enrol) if p is not None))

    async def _enrol(self, at: Path, done: Applied, spec: PlanSpec) -> None:
        ids = self._to_enrol(spec)
        for start in range(0, len(ids), ENROL_CHUNK):
            chunk = ids[start : start + ENROL_CHUNK]
            answer = await self._attempt(
                (*at, "enrol"),
                enrolments.enrol_learners(
                    self.conn, write=self.write, plan_id=done.record_id, refs=list(map(str, chunk))
                ),
            )
            if answer is None:
                return
            done.enrolled += len(answer[0])
            done.already_enrolled += len(answer[1])
            self.advance(len(chunk))
        if done.enrolled and done.change == "unchanged":
            done.change = "updated"
