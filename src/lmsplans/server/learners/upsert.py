"""The learner upsert: create or update many learners at once, matched on employee id, else
on email address (`PUT /api/v1/learners`, `lmsplans import learners`).

Everything is planned first (`upsert_plan`): every problem of the batch is reported at once
(`BatchRefused`) and nothing is written. Then the writes go through the learner service, in
the caller's one transaction, in an order where each step holds: the updates without their
managers (so values they give up are free), the new learners (all in one batched statement:
an import of thousands takes seconds, not a round trip each), their managers (another),
then the updated learners' new managers, managers first. A rule the service enforces (no one
deactivates themself, ...) that refuses a write is a problem of its item like any other;
the batch is still refused whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lmsplans.server.auth.schemas import Role
from lmsplans.server.db import Connection, lock_key
from lmsplans.server.errors import ApiError, BatchRefused, Problem
from lmsplans.server.learners import queries, service
from lmsplans.server.learners.schemas import LearnerPatch, LearnerUpsertIn
from lmsplans.server.learners.upsert_plan import Change, Final, Key, plan_upsert
from lmsplans.server.writes import WriteContext

_FIELD_COLUMNS = ("employeeId", "emailId", "displayName", "role", "status")


@dataclass(frozen=True, slots=True)
class Upserted:
    """What became of one item."""

    index: int
    learner_id: int
    change: Change
    changes: dict[str, tuple[Any, Any]]  # field: (before, after); managers by employee id


async def upsert_learners(
    conn: Connection,
    *,
    write: WriteContext,
    items: Sequence[LearnerUpsertIn],
    payload: str = "learnerData",
    name_item: Callable[[int], str] | None = None,
    advance: Callable[[int], None] | None = None,
) -> list[Upserted]:
    """Create or update `items` in the writer's organisation, all or none; answers each
    item's learner and change, in order. `BatchRefused` names every problem, under
    `payload` (`learnerData.3.emailId`); `name_item` names another item in a message
    (default: `learnerData.3`), and `advance(n)` is told as items are done."""
    await conn.lock(lock_key(service.NEW_LEARNERS, write.org_id))  # one batch at a time
    existing = await queries.org_learners(conn, org_id=write.org_id)
    plan = plan_upsert(existing, items, name_item=name_item or (lambda i: f"{payload}.{i}"))
    if plan.problems:
        raise BatchRefused(plan.problems, payload=payload, what="the learners")
    run = _Run(conn, write, plan.items, advance or (lambda n: None))
    run.tick(sum(1 for final in plan.items if final.change == "unchanged"))
    by_depth = sorted(plan.items, key=lambda final: plan.depth.get(final.index, 0))
    for final in plan.items:
        await run.update_fields(final)
    await run.create_all(plan.items)
    for final in by_depth:
        await run.update_manager(final)
    if run.problems:
        raise BatchRefused(run.problems, payload=payload, what="the learners")
    return [
        Upserted(final.index, run.ids[final.index], final.change, final.changes)
        for final in plan.items
    ]


class _Run:
    """The writes of a planned upsert, through the learner service."""

    def __init__(
        self,
        conn: Connection,
        write: WriteContext,
        finals: list[Final],
        tick: Callable[[int], None],
    ) -> None:
        self.conn, self.write, self.tick = conn, write, tick
        self.finals = finals
        self.ids = {f.index: f.match.id for f in finals if f.match is not None}
        self.problems: list[Problem] = []

    def _id_of(self, key: Key | None) -> int | None:
        if key is None:
            return None
        return -key if key < 0 else self.ids.get(key)

    def _refused(self, final: Final, field: str, error: ApiError) -> None:
        named = (error.errors or [{}])[0].get("field", field)
        self.problems.append(Problem((final.index, named), error.message, type(error)))

    async def update_fields(self, final: Final) -> None:
        """Phase 1: what changes of a matched learner, but its manager."""
        if final.match is None or final.change == "unchanged":
            return
        values = {
            "employeeId": final.employee_id,
            "emailId": final.email,
            "displayName": final.display_name,
            "role": final.role,
            "status": final.status,
        }
        changed = {name: values[name] for name in _FIELD_COLUMNS if name in final.changes}
        try:
            if changed:
                patch = LearnerPatch.model_validate(changed)
                await service.update_learner(
                    self.conn, write=self.write, learner_ref=str(final.match.id), patch=patch
                )
        except ApiError as error:
            self._refused(final, next(iter(changed)), error)
        if not final.manager_changes:
            self.tick(1)

    async def create_all(self, finals: list[Final]) -> None:
        """Phase 2: the new learners, in one batch, then their managers in another."""
        new = [final for final in finals if final.match is None]
        if not new:
            return
        first_zuid = await queries.next_zuid(self.conn, org_id=self.write.org_id)
        ids = await service.insert_learners(
            self.conn,
            write=self.write,
            learners=[
                service.NewLearner(
                    zuid=first_zuid + n,
                    employee_id=final.employee_id,
                    email=final.email,
                    display_name=final.display_name,
                    role=Role(final.role),
                    status=final.status,
                )
                for n, final in enumerate(new)
            ],
        )
        self.ids.update(
            (final.index, learner_id) for final, learner_id in zip(new, ids, strict=True)
        )
        managers = [
            (self.ids[final.index], manager_id)
            for final in new
            if (manager_id := self._id_of(final.manager)) is not None
        ]
        await service.set_managers(self.conn, write=self.write, managers=managers)
        self.tick(len(new))

    async def update_manager(self, final: Final) -> None:
        """Phase 3: a matched learner's new manager, after the manager's own."""
        if final.match is None or not final.manager_changes:
            return
        manager_id = self._id_of(final.manager)
        if final.manager is not None and manager_id is None:
            return  # their manager was refused
        patch = LearnerPatch(managerId=None if manager_id is None else str(manager_id))
        try:
            await service.update_learner(
                self.conn, write=self.write, learner_ref=str(final.match.id), patch=patch
            )
        except ApiError as error:
            self._refused(final, "managerId", error)
        self.tick(1)
