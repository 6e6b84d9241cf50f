"""The reference endpoint's kept answer: re-encoded exactly when an `isOverdue` changes."""

from __future__ import annotations

import orjson

from lmsplans.server.plans.queries import PlanProgress
from lmsplans.server.progress.routes import ProgressPage


def plan(name: str, *, due_ms: int | None, completed: bool = False) -> PlanProgress:
    encoded = tuple(
        orjson.Fragment(orjson.dumps({"plan": name, "isOverdue": overdue}))
        for overdue in (False, True)
    )
    return PlanProgress(due_ms=due_ms, is_completed=completed, encoded=(encoded[0], encoded[1]))


def overdue_at(page: ProgressPage, now_ms: int) -> dict[str, bool]:
    answer = orjson.loads(page.body(now_ms))
    assert answer["status"] == 200 and answer["isNextAvailable"] is True
    return {p["plan"]: p["isOverdue"] for p in answer["learningPlans"]}


def test_the_answer_follows_the_clock_across_each_due_time() -> None:
    page = ProgressPage(
        [
            plan("a", due_ms=1_000),
            plan("b", due_ms=5_000),
            plan("done", due_ms=10, completed=True),
            plan("open", due_ms=None),
        ],
        more=True,
    )
    never = {"done": False, "open": False}
    assert overdue_at(page, 0) == {"a": False, "b": False} | never
    assert overdue_at(page, 1_000) == {"a": False, "b": False} | never  # due, not yet over
    assert overdue_at(page, 1_001) == {"a": True, "b": False} | never
    assert overdue_at(page, 5_000) == {"a": True, "b": False} | never
    assert overdue_at(page, 5_001) == {"a": True, "b": True} | never
    # A clock set back (tests, or a host's clock corrected) is followed too.
    assert overdue_at(page, 999) == {"a": False, "b": False} | never


def test_within_a_span_the_same_encoded_answer_is_served() -> None:
    page = ProgressPage([plan("a", due_ms=1_000)], more=True)
    first = page.body(10)
    assert page.body(900) is first  # nothing changed in between: not encoded again
    assert page.body(1_001) is not first
