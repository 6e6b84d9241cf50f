"""The plan of a learner upsert: which learner each item is, what it changes, and every
problem, decided without writing anything (pure, so it is tested alone).

Each item is matched on its employee id, else on its email address. The batch is checked
against the organisation as it will be once applied: emails and employee ids stay unique,
each named manager is a learner of the batch or the organisation (in any order), and no
reporting loop is made. The writes' order comes from the same picture: managers before
their reportees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lmsplans.server.errors import ApiError, Conflict, InvalidParameter, NoSuchLearner, Problem
from lmsplans.server.learners.queries import Learner
from lmsplans.server.learners.schemas import LearnerUpsertIn

Change = Literal["created", "updated", "unchanged"]
# A learner of the organisation as it will be: an item's index (>= 0), or the negated id
# of a learner no item names (< 0).
Key = int
_MAX_ID = 2**63 - 1


@dataclass(slots=True)
class Final:
    """One item's learner as it will be once the batch is applied."""

    index: int
    match: Learner | None  # the learner it updates; None: a new one
    employee_id: str
    email: str
    display_name: str
    role: str
    status: str
    manager: Key | None
    manager_changes: bool = False
    # What changes, by the API's field names: (before, after); managers by employee id.
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def change(self) -> Change:
        if self.match is None:
            return "created"
        return "updated" if self.changes else "unchanged"


@dataclass(slots=True)
class UpsertPlan:
    items: list[Final]
    problems: list[Problem]
    depth: dict[Key, int]  # steps from the top of the reporting line: managers first


def plan_upsert(
    existing: Sequence[Learner],
    items: Sequence[LearnerUpsertIn],
    *,
    name_item: Callable[[int], str] = lambda index: f"item {index}",
) -> UpsertPlan:
    """What applying `items` to the organisation's learners `existing` does, and every
    problem it has (`name_item` names another item in a message: "line 7")."""
    return _Planner(existing, items, name_item).plan()


class _Planner:
    def __init__(
        self,
        existing: Sequence[Learner],
        items: Sequence[LearnerUpsertIn],
        name_item: Callable[[int], str],
    ) -> None:
        self.items = items
        self.name_item = name_item
        self.by_id = {learner.id: learner for learner in existing}
        self.by_zuid = {learner.zuid: learner for learner in existing}
        self.by_employee_id = {learner.employee_id: learner for learner in existing}
        self.by_email = {learner.email: learner for learner in existing}
        self.problems: list[Problem] = []
        self.finals: list[Final] = []
        self.key_of: dict[int, Key] = {}  # learner id -> its key in the picture
        self.twice: set[int] = set()  # items naming a learner an earlier item names

    def problem(
        self, index: int, field: str, message: str, kind: type[ApiError] = InvalidParameter
    ) -> None:
        self.problems.append(Problem((index, field), message, kind))

    def plan(self) -> UpsertPlan:
        self._match()
        employee_ids, emails = self._unique()
        managers = {key: self._manager_of_existing(learner) for key, learner in self._others()}
        for final, item in zip(self.finals, self.items, strict=True):
            final.manager = self._manager(final, item, employee_ids, emails)
            managers[final.index] = final.manager
        depth = self._depths(managers)
        for final in self.finals:
            self._changes(final, managers)
        self.problems.sort(key=lambda p: p.path[0])
        return UpsertPlan(self.finals, self.problems, depth)

    # --- which learner each item is ------------------------------------------------------

    def _match(self) -> None:
        claimed: dict[int, int] = {}
        for index, item in enumerate(self.items):
            email = item.emailId.lower()
            match = self.by_employee_id.get(item.employeeId) if item.employeeId else None
            match = match or self.by_email.get(email)
            if match is not None and match.id in claimed:
                other = self.name_item(claimed[match.id])
                self.problem(index, "employeeId", f"names the same learner as {other}", Conflict)
                self.twice.add(index)
                match = None
            elif match is not None:
                claimed[match.id] = index
            if match is None and item.employeeId is None and index not in self.twice:
                self.problem(
                    index, "employeeId", "is needed for a new learner (no learner has this email)"
                )
            self.finals.append(
                Final(
                    index=index,
                    match=match,
                    employee_id=item.employeeId or (match.employee_id if match else ""),
                    email=email,
                    display_name=item.displayName,
                    role=item.role or (match.role if match else "learner"),
                    status=item.status or (match.status if match else "active"),
                    manager=None,
                )
            )
        for final in self.finals:
            if final.match is not None and claimed.get(final.match.id) == final.index:
                self.key_of[final.match.id] = final.index
        for learner in self.by_id.values():
            self.key_of.setdefault(learner.id, -learner.id)

    def _others(self) -> list[tuple[Key, Learner]]:
        """The organisation's learners no item names, with their keys."""
        return [(key, self.by_id[-key]) for key in self.key_of.values() if key < 0]

    def _unique(self) -> tuple[dict[str, Key], dict[str, Key]]:
        """The employee ids and emails as they will be, each with its learner; an item that
        takes another's is a problem."""
        employee_ids: dict[str, Key] = {}
        emails: dict[str, Key] = {}
        for key, learner in self._others():
            employee_ids[learner.employee_id] = key
            emails[learner.email] = key
        for final in self.finals:
            if final.index in self.twice:
                continue
            for field_name, value, taken in (
                ("employeeId", final.employee_id, employee_ids),
                ("emailId", final.email, emails),
            ):
                if not value:
                    continue
                holder = taken.setdefault(value, final.index)
                if holder != final.index:
                    self.problem(final.index, field_name, self._taken(value, holder), Conflict)
        return employee_ids, emails

    def _taken(self, value: str, holder: Key) -> str:
        if holder >= 0:
            return f"{value!r} is given to {self.name_item(holder)} too"
        other = self.by_id[-holder]
        return f"{value!r} belongs to another learner (employee id {other.employee_id!r})"

    # --- managers ------------------------------------------------------------------------

    def _manager_of_existing(self, learner: Learner) -> Key | None:
        return None if learner.manager_id is None else self.key_of.get(learner.manager_id)

    def _manager(
        self,
        final: Final,
        item: LearnerUpsertIn,
        employee_ids: dict[str, Key],
        emails: dict[str, Key],
    ) -> Key | None:
        given = item.model_fields_set & {"managerId", "managerEmployeeId"}
        if not given:  # kept as it is (a new learner: none)
            return None if final.match is None else self._manager_of_existing(final.match)
        if len(given) == 2 and item.managerId is not None and item.managerEmployeeId is not None:
            self.problem(final.index, "managerId", "give managerId or managerEmployeeId, not both")
            return None
        final.manager_changes = True
        if item.managerEmployeeId is not None:
            field_name, ref = "managerEmployeeId", item.managerEmployeeId
            key = employee_ids.get(ref)
        elif item.managerId is not None:
            field_name, ref = "managerId", item.managerId.strip()
            key = self._manager_by_id(ref, emails)
        else:
            return None  # null: no manager
        if key is None:
            what = "employee id" if field_name == "managerEmployeeId" else "userId, zuid or email"
            self.problem(
                final.index,
                field_name,
                f"no learner has the {what} {ref!r}, in these rows or the organisation",
                NoSuchLearner,
            )
        elif key == final.index:
            self.problem(final.index, field_name, "a learner cannot be their own manager", Conflict)
            return None
        return key

    def _manager_by_id(self, ref: str, emails: dict[str, Key]) -> Key | None:
        if "@" in ref:
            return emails.get(ref.lower())
        if ref.isascii() and ref.isdigit() and int(ref) <= _MAX_ID:
            learner = self.by_id.get(int(ref)) or self.by_zuid.get(int(ref))
            return None if learner is None else self.key_of[learner.id]
        return None

    def _depths(self, managers: dict[Key, Key | None]) -> dict[Key, int]:
        """Each learner's distance from the top of their reporting line; a loop through an
        item is a problem (reported once, on the loop's last item)."""
        depth: dict[Key, int] = {}
        for start in range(len(self.finals)):
            path: list[Key] = []
            on_path: set[Key] = set()
            key: Key | None = start
            while key is not None and key not in depth and key not in on_path:
                path.append(key)
                on_path.add(key)
                key = managers.get(key)
            if key is not None and key in on_path:  # a loop: key ... back to key
                loop = path[path.index(key) :]
                self._loop(loop)
                base = 0
                for k in loop:
                    depth[k] = 0
                path = path[: path.index(key)]
            else:
                base = -1 if key is None else depth[key]
            for k in reversed(path):
                base += 1
                depth[k] = base
        return depth

    def _loop(self, loop: list[Key]) -> None:
        in_batch = [k for k in loop if k >= 0]
        if not in_batch:  # the organisation's own (no write makes one)
            return
        last = max(in_batch)
        at = loop.index(last)
        loop = loop[at:] + loop[:at]  # told from the item it is reported on
        names = " -> ".join(self._label(k) for k in [*loop, last])
        given = "managerEmployeeId" if self.items[last].managerEmployeeId else "managerId"
        self.problem(last, given, f"would make a reporting loop: {names}", Conflict)

    def _label(self, key: Key) -> str:
        if key >= 0:
            return self.finals[key].employee_id or self.finals[key].email
        return self.by_id[-key].employee_id

    # --- what changes --------------------------------------------------------------------

    def _changes(self, final: Final, managers: dict[Key, Key | None]) -> None:
        learner = final.match
        if learner is None:
            return
        for name, before, after in (
            ("employeeId", learner.employee_id, final.employee_id),
            ("emailId", learner.email, final.email),
            ("displayName", learner.display_name, final.display_name),
            ("role", learner.role, final.role),
            ("status", learner.status, final.status),
        ):
            if before != after:
                final.changes[name] = (before, after)
        current = self._manager_of_existing(learner)
        if final.manager_changes and final.manager != current:
            final.changes["manager"] = (
                None if current is None else self._label(current),
                None if final.manager is None else self._label(final.manager),
            )
        else:
            final.manager_changes = False
