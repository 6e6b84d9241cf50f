"""The learner upsert's plan (pure): matching, the organisation as it will be, every problem."""

from __future__ import annotations

from typing import Any

from lmsplans.server.errors import Conflict, InvalidParameter, NoSuchLearner
from lmsplans.server.learners.queries import Learner
from lmsplans.server.learners.schemas import LearnerUpsertIn
from lmsplans.server.learners.upsert_plan import plan_upsert


def learner(n: int, manager: int | None = None, **extra: Any) -> Learner:
    values: dict[str, Any] = {
        "id": n,
        "org_id": 1,
        "zuid": 60_000_000 + n,
        "employee_id": f"E{n}",
        "email": f"p{n}@x.example",
        "display_name": f"P{n}",
        "role": "learner",
        "manager_id": manager,
        "status": "active",
        **extra,
    }
    return Learner(**values)


def item(n: int, **extra: Any) -> LearnerUpsertIn:
    values = {"employeeId": f"E{n}", "emailId": f"p{n}@x.example", "displayName": f"P{n}"}
    return LearnerUpsertIn.model_validate({**values, **extra})


def problems(plan: Any) -> list[tuple[tuple[Any, ...], type]]:
    return [(p.path, p.kind) for p in plan.problems]


def test_a_chain_given_backwards_is_written_managers_first() -> None:
    items = [item(4, managerEmployeeId="E3"), item(3, managerEmployeeId="E2"), item(2)]
    plan = plan_upsert([], items)
    assert plan.problems == []
    assert [f.change for f in plan.items] == ["created"] * 3
    assert plan.depth[2] < plan.depth[1] < plan.depth[0]
    assert [f.manager for f in plan.items] == [1, 2, None]


def test_matching_on_employee_id_then_email_and_what_changes() -> None:
    existing = [learner(1), learner(2, manager=1), learner(3)]
    items = [
        item(2, displayName="P2 renamed"),  # by employee id
        item(9, emailId="p3@x.example", displayName="P3", role="manager"),  # by email: E3 is E9
        item(1),  # as it is
    ]
    plan = plan_upsert(existing, items)
    assert plan.problems == []
    first, second, third = plan.items
    assert first.match is not None and first.match.id == 2
    assert first.changes == {"displayName": ("P2", "P2 renamed")}
    assert second.match is not None and second.match.id == 3
    assert second.changes == {"employeeId": ("E3", "E9"), "role": ("learner", "manager")}
    assert (third.change, third.changes) == ("unchanged", {})
    assert first.manager == 2  # the kept manager is item 2 (learner 1) in the picture


def test_a_manager_named_by_userid_zuid_or_email() -> None:
    existing = [learner(1), learner(2)]
    for ref in ("1", str(60_000_001), "P1@X.example"):
        plan = plan_upsert(existing, [item(2, managerId=ref)])
        assert plan.problems == [] and plan.items[0].changes == {"manager": (None, "E1")}, ref


def test_every_problem_is_found() -> None:
    existing = [learner(1), learner(2, manager=1)]
    items = [
        item(5),
        item(6, employeeId="E5"),  # E5 twice
        item(7, emailId="p2@x.example", employeeId="E1"),  # matches 1, takes 2's email
        item(8, managerEmployeeId="E404"),
        item(9, managerEmployeeId="E9"),  # themself
        item(10, managerId="1", managerEmployeeId="E1"),  # both
        item(11, emailId="new@x.example", employeeId=None),  # new, without an id
        item(12, emailId="P5@x.example"),  # item 0's email
    ]
    plan = plan_upsert(existing, items, name_item=lambda i: f"line {i + 2}")
    assert problems(plan) == [
        ((1, "employeeId"), Conflict),
        ((2, "emailId"), Conflict),
        ((3, "managerEmployeeId"), NoSuchLearner),
        ((4, "managerEmployeeId"), Conflict),
        ((5, "managerId"), InvalidParameter),
        ((6, "employeeId"), InvalidParameter),
        ((7, "emailId"), Conflict),
    ]
    assert "line 2" in plan.problems[0].message
    assert "employee id 'E2'" in plan.problems[1].message


def test_two_items_naming_one_learner() -> None:
    plan = plan_upsert([learner(1)], [item(1), item(1, displayName="Again")])
    assert problems(plan) == [((1, "employeeId"), Conflict)]


def test_loops_through_the_batch_and_the_organisation() -> None:
    # 1 manages 2, who manages 3 (stored); the batch makes 1 report to 3.
    existing = [learner(1), learner(2, manager=1), learner(3, manager=2)]
    plan = plan_upsert(existing, [item(1, managerEmployeeId="E3")])
    assert problems(plan) == [((0, "managerEmployeeId"), Conflict)]
    assert "E1 -> E3 -> E2 -> E1" in plan.problems[0].message
    # A loop made within the batch alone is reported once, on its last item.
    plan = plan_upsert([], [item(1, managerId="p2@x.example"), item(2, managerEmployeeId="E1")])
    assert problems(plan) == [((1, "managerEmployeeId"), Conflict)]
    # Swapping two people's places is no loop once both are written.
    plan = plan_upsert(
        [learner(1), learner(2, manager=1)],
        [item(1, managerEmployeeId="E2"), item(2, managerId=None)],
    )
    assert plan.problems == []
    assert plan.depth[1] < plan.depth[0]


def test_a_removed_manager_and_an_absent_one() -> None:
    existing = [learner(1), learner(2, manager=1)]
    kept = plan_upsert(existing, [item(2)])
    assert kept.items[0].change == "unchanged" and not kept.items[0].manager_changes
    removed = plan_upsert(existing, [item(2, managerId=None)])
    assert removed.items[0].changes == {"manager": ("E1", None)}
