"""`lmsplans import plans FILE --org ORG`: the example catalogue in docs/examples (YAML, and
the same as JSON), imported, imported again, changed, refused with every problem on its
line; then enrolling and recording progress through the API on what it made."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager

from lmsplans.server.app import create_app
from lmsplans.server.settings import Settings
from tests.cli.conftest import Run, json_of
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "docs" / "examples"
PLANS = EXAMPLES / "plans.yaml"
LEARNERS = EXAMPLES / "learners.csv"
ORG = "Newbie Ltd"


@pytest.fixture
def newbie(lmsplans: Run) -> dict[str, Any]:
    """The organisation of the examples, with the example's people in it."""
    created = json_of(
        lmsplans("org", "create", "--name", ORG, "--admin-email", "hr@newbie.example", "--json")
    )
    assert lmsplans("import", "learners", str(LEARNERS), "--org", ORG).exit_code == 0
    return dict(created)


def import_plans(lmsplans: Run, file: Path, *extra: str) -> dict[str, Any]:
    report: dict[str, Any] = json_of(
        lmsplans("import", "plans", str(file), "--org", ORG, "--json", *extra)
    )
    return report


def changes_of(report: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["change"] for item in report["items"]}


def test_the_example_catalogue_then_again(
    lmsplans: Run, newbie: dict[str, Any], query: Any, snapshot: Any
) -> None:
    report = import_plans(lmsplans, PLANS)
    assert changes_of(report) == {
        "Code of Conduct": "created",
        "Information Security Basics": "created",
        "Tools of the Trade": "created",
        "Team Workshop": "created",
        "New Joiner Onboarding": "created",
        "Sales Foundations": "created",
    }
    enrolled = {i["name"]: i["enrolled"] for i in report["items"] if i["kind"] == "plan"}
    # Everyone active (7 of the 8 people: one has left), and three named ones.
    assert enrolled == {"New Joiner Onboarding": 7, "Sales Foundations": 3}
    plans = query(
        "SELECT id, name, publish_state, duration, duration_type, owner_id FROM learning_plans"
        " ORDER BY id"
    )
    assert [(p["name"], p["publish_state"], p["duration"], p["duration_type"]) for p in plans] == [
        ("New Joiner Onboarding", 1, 1, 2),
        ("Sales Foundations", 1, 6, 1),
    ]
    assert {p["owner_id"] for p in plans} == {int(newbie["admin"]["userId"])}
    onboarding = query(
        """SELECT c.name, c.course_type, pc.level, pc.is_mandatory, pc.is_locked
             FROM plan_courses pc JOIN courses c ON c.id = pc.course_id
            WHERE pc.plan_id = :plan ORDER BY pc.position""",
        plan=plans[0]["id"],
    )
    assert [tuple(row.values()) for row in onboarding] == [
        ("Code of Conduct", 3, 1, True, False),
        ("Information Security Basics", 1, 1, True, False),
        ("Tools of the Trade", 1, 2, True, True),
        ("Team Workshop", 2, 2, False, False),
    ]
    admins = query("SELECT learner_id FROM plan_admins WHERE plan_id = :p", p=plans[0]["id"])
    assert admins == [{"learner_id": int(newbie["admin"]["userId"])}]

    before = snapshot()
    again = import_plans(lmsplans, PLANS)
    assert set(changes_of(again).values()) == {"unchanged"}
    assert snapshot() == before


def test_the_same_catalogue_as_json(lmsplans: Run, newbie: dict[str, Any], tmp_path: Path) -> None:
    as_json = tmp_path / "plans.json"
    as_json.write_text(json.dumps(yaml.safe_load(PLANS.read_text())))
    assert set(changes_of(import_plans(lmsplans, as_json)).values()) == {"created"}
    assert set(changes_of(import_plans(lmsplans, PLANS)).values()) == {"unchanged"}


def test_a_changed_catalogue_updates_what_changed(
    lmsplans: Run, newbie: dict[str, Any], query: Any, snapshot: Any, tmp_path: Path
) -> None:
    import_plans(lmsplans, PLANS)
    catalogue = yaml.safe_load(PLANS.read_text())
    catalogue["courses"].append({"name": "Negotiation", "duration": 90})
    catalogue["courses"][0]["duration"] = 35
    sales = catalogue["plans"][1]
    sales["courses"].append({"course": "negotiation", "level": 2, "mandatory": True})
    sales["duration"] = 8
    sales["enrol"].append("ana.lima@newbie.example")
    changed = tmp_path / "plans.yaml"
    changed.write_text(yaml.safe_dump(catalogue))

    before = snapshot()
    dry = import_plans(lmsplans, changed, "--dry-run")
    assert dry["dryRun"] is True and snapshot() == before
    report = import_plans(lmsplans, changed)
    # The same, but the new course's id (PostgreSQL's sequences do not roll back).
    assert [{**i, "id": ""} for i in dry["items"]] == [{**i, "id": ""} for i in report["items"]]
    items = {item["name"]: item for item in report["items"]}
    assert {name: item["change"] for name, item in items.items()} == {
        "Code of Conduct": "updated",
        "Information Security Basics": "unchanged",
        "Tools of the Trade": "unchanged",
        "Team Workshop": "unchanged",
        "Negotiation": "created",
        "New Joiner Onboarding": "unchanged",
        "Sales Foundations": "updated",
    }
    assert items["Code of Conduct"]["changes"] == {"duration": [30, 35]}
    assert items["Sales Foundations"]["changes"] == {"duration": [6, 8], "courses": [1, 2]}
    assert (
        items["Sales Foundations"]["enrolled"],
        items["Sales Foundations"]["alreadyEnrolled"],
    ) == (1, 3)
    # The enrolled learners were enrolled in the plan's new course too (the plan service's rule).
    rows = query(
        """SELECT count(*) AS n FROM course_progress cp JOIN courses c ON c.id = cp.course_id
            WHERE c.name = 'Negotiation'"""
    )
    assert rows[0]["n"] == 4


BAD_PLANS = """\
courses:
  - name: Alpha
  - name: alpha
  - name: Beta
    type: online
plans:
  - name: Broken
    durationType: fortnights
    courses:
      - course: Alpha
      - course: Alpha
        mandatory: true
      - course: Gamma
    enrol: [nobody@newbie.example, NB-1004]
  - name: Draft and enrolled
    published: false
    courses:
      - {course: Beta, mandatory: true}
    enrol: all
  - name: No mandatory course
    courses:
      - {course: Beta}
    admins: [ghost@newbie.example]
"""


def test_every_problem_of_a_catalogue_with_its_line_and_nothing_written(
    lmsplans: Run, newbie: dict[str, Any], snapshot: Any, tmp_path: Path
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(BAD_PLANS)
    before = snapshot()
    result = lmsplans("import", "plans", str(file), "--org", ORG)
    assert result.exit_code == 65, result.output
    said = result.stderr.strip().splitlines()
    # The file's own shape first: its bad values.
    assert said[:-1] == [
        "line 5, courses.2.type: 'online' (input should be 1, 2 or 3)",
        "line 8, plans.0.durationType: 'fortnights' (input should be 0, 1 or 2)",
    ]
    file.write_text(BAD_PLANS.replace("    type: online\n", "").replace("fortnights", "weeks"))
    result = lmsplans("import", "plans", str(file), "--org", ORG)
    assert result.exit_code == 65, result.output
    said = result.stderr.strip().splitlines()
    assert said[:-1] == [
        "line 3, courses.1.name: 'alpha' is named at courses.0 too",
        "line 10, plans.0.courses.1.course: 'Alpha' is in the plan twice",
        "line 12, plans.0.courses.2.course: no course named 'Gamma' in the file or the "
        "organisation",
        "line 13, plans.0.enrol.0: no learner 'nobody@newbie.example'",
        "line 18, plans.1.enrol: only a published, enabled plan takes learners",
        "line 20, plans.2.courses: a published plan needs a mandatory course (or say "
        "`published: false`)",
        "line 22, plans.2.admins.0: no learner 'ghost@newbie.example'",
    ]
    assert said[-1] == f"7 problems in {file}: nothing was written."
    assert snapshot() == before
    file.write_text("plans: [unclosed\n")
    broken = lmsplans("import", "plans", str(file), "--org", ORG)
    assert broken.exit_code == 65 and "not valid YAML at line 2" in broken.stderr


def test_a_published_plan_does_not_go_back_to_draft(
    lmsplans: Run, newbie: dict[str, Any], tmp_path: Path, snapshot: Any
) -> None:
    import_plans(lmsplans, PLANS)
    catalogue = yaml.safe_load(PLANS.read_text())
    catalogue["plans"][1]["published"] = False
    file = tmp_path / "plans.yaml"
    file.write_text(yaml.safe_dump(catalogue, sort_keys=False))
    before = snapshot()
    result = lmsplans("import", "plans", str(file), "--org", ORG)
    assert result.exit_code == 65
    assert "plans.1.published: a published plan cannot go back to draft" in result.stderr
    assert snapshot() == before
    catalogue["plans"][1].update(published=True, disabled=True)
    del catalogue["plans"][1]["enrol"]
    file.write_text(yaml.safe_dump(catalogue, sort_keys=False))
    report = import_plans(lmsplans, file)
    sales = [i for i in report["items"] if i["name"] == "Sales Foundations"]
    assert sales[0]["changes"] == {"disabled": [False, True]}


@asynccontextmanager
async def api(database_url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(Settings(database_url=database_url))
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t/api/v1", headers=headers
        ) as http:
            yield http


def test_then_enrol_and_record_progress_through_the_api(
    lmsplans: Run, newbie: dict[str, Any], query: Any, database_url: str
) -> None:
    import_plans(lmsplans, PLANS)
    [sales] = query("SELECT id FROM learning_plans WHERE name = 'Sales Foundations'")
    [course] = query("SELECT id FROM courses WHERE name = 'Information Security Basics'")
    token = newbie["client"]["access_token"]

    async def scenario() -> dict[str, Any]:
        async with api(database_url, token) as http:
            enrol = await http.put(
                f"/learning-plans/{sales['id']}/learners",
                json=["ana.lima@newbie.example"],
            )
            assert enrol.status_code == 200, enrol.text
            done = await http.put(
                f"/courses/{course['id']}/learners/ana.lima@newbie.example/course-progress",
                json={"completionStatus": "completed"},
            )
            assert done.status_code == 200, done.text
            progress = await http.get("/learners/ana.lima@newbie.example/learning-plans/progress")
            assert progress.status_code == 200, progress.text
            body: dict[str, Any] = progress.json()
            return body

    body = asyncio.run(scenario())
    by_plan = {p["planInfo"]["planName"]: p["progressInfo"] for p in body["learningPlans"]}
    assert by_plan["Sales Foundations"]["status"] == "completed"
    assert by_plan["Sales Foundations"]["progressPercentage"] == "100"
    # Onboarding: one of its three mandatory courses.
    assert by_plan["New Joiner Onboarding"]["progressPercentage"] == "33"


def test_a_name_two_courses_have_is_refused(
    lmsplans: Run, newbie: dict[str, Any], database_url: str, snapshot: Any, tmp_path: Path
) -> None:
    """Courses made through the API may share a name; a catalogue cannot tell them apart."""

    async def two_courses() -> None:
        async with api(database_url, newbie["client"]["access_token"]) as http:
            for _ in range(2):
                made = await http.post("/courses", json={"courseName": "Shared Name"})
                assert made.status_code == 200, made.text

    asyncio.run(two_courses())
    file = tmp_path / "plans.yaml"
    file.write_text(
        "courses:\n  - name: shared name\n"
        "plans:\n  - name: P\n    courses: [{course: Shared Name, mandatory: true}]\n"
    )
    before = snapshot()
    result = lmsplans("import", "plans", str(file), "--org", ORG)
    assert result.exit_code == 65, result.output
    assert result.stderr.strip().splitlines()[:-1] == [
        "line 2, courses.0.name: 2 courses of the organisation are named 'shared name': rename "
        "all but one",
    ]
    file.write_text("plans:\n  - name: P\n    courses: [{course: Shared Name, mandatory: true}]\n")
    result = lmsplans("import", "plans", str(file), "--org", ORG)
    assert result.exit_code == 65, result.output
    assert "line 3, plans.0.courses.0.course: 2 courses of the organisation are named" in (
        result.stderr
    )
    assert snapshot() == before
