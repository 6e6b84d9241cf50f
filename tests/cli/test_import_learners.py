"""`lmsplans import learners FILE.csv --org ORG`: an HR system's export of 2,000 people with
their managers, imported, imported again, changed, dry-run, and refused with every error."""

from __future__ import annotations

import csv
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, json_of

PEOPLE = 2000
HEADER = [
    "Employee Number", "Full Name", "Work Email", "Reports To", "Role", "Employment Status",
    "Location",
]  # fmt: skip
SUMMARY = re.compile(r"(\d+) created, (\d+) updated, (\d+) unchanged \((\d+\.\d+) s\)")


def people(count: int = PEOPLE, seed: int = 11) -> list[list[str]]:
    """An export: one head, 40 managers reporting to them, the rest spread over the
    managers (named by employee id, or by email for every third), a few who have left;
    shuffled, so reportees often come before their managers."""
    rng = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        if n == 1:
            manager, role = "", "Admin"
        elif n <= 41:
            manager, role = "E00001", "Manager"
        else:
            boss = rng.randint(2, 41)
            manager = f"p{boss}@bulk.example" if n % 3 == 0 else f"E{boss:05d}"
            role = ""
        status = "Terminated" if n % 250 == 0 else "Active"
        rows.append([f"E{n:05d}", f"Person {n}", f"p{n}@bulk.example", manager, role, status, "HQ"])
    rng.shuffle(rows)
    return rows


def write_csv(
    path: Path, rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ","
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def summary(result: Any) -> tuple[int, int, int, float]:
    assert result.exit_code == 0, result.output
    found = SUMMARY.search(result.stdout.strip().splitlines()[-1])
    assert found, result.stdout
    created, updated, unchanged, seconds = found.groups()
    return int(created), int(updated), int(unchanged), float(seconds)


@pytest.fixture
def org(lmsplans: Run) -> str:
    json_of(
        lmsplans("org", "create", "--name", "Bulk", "--admin-email", "p1@bulk.example", "--json")
    )
    return "Bulk"


def stored(query: Any) -> dict[str, dict[str, Any]]:
    rows = query(
        """SELECT l.employee_id, l.email, l.display_name, l.role, l.status, m.employee_id AS boss
             FROM learners l LEFT JOIN learners m ON m.id = l.manager_id"""
    )
    return {row["employee_id"]: row for row in rows}


def test_two_thousand_learners_with_managers_then_again_then_two_changed(
    lmsplans: Run, org: str, query: Any, snapshot: Any, tmp_path: Path, backend: str
) -> None:
    rows = people()
    file = write_csv(tmp_path / "people.csv", rows)
    started = time.perf_counter()
    result = lmsplans("import", "learners", str(file), "--org", org)
    wall = time.perf_counter() - started
    # The admin made by `org create` (p1@bulk.example) is matched by email and updated.
    created, updated, unchanged, seconds = summary(result)
    assert (created, updated, unchanged) == (PEOPLE - 1, 1, 0)
    print(f"\n{backend}: {PEOPLE} learners imported in {seconds:.2f} s ({wall:.2f} s in all)")
    assert seconds < 30, "an import of 2,000 learners takes seconds"
    assert "Columns left aside: 'Location'." in result.stdout

    learners = stored(query)
    assert len(learners) == PEOPLE
    expected_boss = {}
    for employee_id, _, _, manager, _, _, _ in rows:
        expected_boss[employee_id] = (
            None if not manager else f"E{int(manager[1:].split('@')[0]):05d}"
        )
    assert {e: learner["boss"] for e, learner in learners.items()} == expected_boss
    assert (
        learners["E00001"]["role"] == "admin" and learners["E00001"]["display_name"] == "Person 1"
    )
    assert sum(learner["role"] == "manager" for learner in learners.values()) == 40
    assert sum(learner["status"] == "inactive" for learner in learners.values()) == PEOPLE // 250

    # Again: nothing changes, and nothing is written.
    before = snapshot()
    assert summary(lmsplans("import", "learners", str(file), "--org", org))[:3] == (0, 0, PEOPLE)
    assert snapshot() == before

    # Two rows change in the HR system: a new name, and a new manager.
    by_id = {row[0]: row for row in rows}
    by_id["E00500"][1] = "Person 500 (renamed)"
    by_id["E00777"][3] = "E00002"
    write_csv(file, rows)
    result = lmsplans("import", "learners", str(file), "--org", org, "--json")
    report = json_of(result)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 2, PEOPLE - 2)
    changed = {r["employeeId"]: r["changes"] for r in report["rows"] if r["change"] == "updated"}
    old_boss = expected_boss["E00777"]
    assert changed == {
        "E00500": {"displayName": ["Person 500", "Person 500 (renamed)"]},
        "E00777": {"manager": [old_boss, "E00002"]},
    }
    after = stored(query)
    assert after["E00500"]["display_name"] == "Person 500 (renamed)"
    assert after["E00777"]["boss"] == "E00002"
    assert {e: r for e, r in after.items() if e not in changed} == {
        e: r for e, r in learners.items() if e not in changed
    }


def test_a_dry_run_says_what_would_change_and_writes_nothing(
    lmsplans: Run, org: str, snapshot: Any, tmp_path: Path
) -> None:
    rows = people(30)
    file = write_csv(tmp_path / "people.csv", rows)
    before = snapshot()
    result = lmsplans("import", "learners", str(file), "--org", org, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == (
        "Dry run, 30 learners in people.csv: 29 would be created, 1 would be updated, "
        "0 unchanged. Nothing was written."
    )
    lines = [line for line in result.stdout.splitlines() if "@bulk.example" in line]
    assert len(lines) == 30  # every row that would change, with its line
    assert snapshot() == before
    report = json_of(lmsplans("import", "learners", str(file), "--org", org, "--dry-run", "--json"))
    assert report["dryRun"] is True and report["written"] is False
    assert {r["line"] for r in report["rows"]} == set(range(2, 32))
    assert snapshot() == before


BAD = [
    # line 2: fine, and a manager for line 4
    ["X1", "X One", "x1@bulk.example", "", "", ""],
    ["X2", "X Two", "not-an-email", "", "boss", ""],
    ["X3", "X Three", "x3@bulk.example", "X1", "", ""],
    ["X4", "", "x4@bulk.example", "NOPE", "", "gone"],
    ["X1", "X Five", "x5@bulk.example", "", "", ""],
    ["", "X Six", "x6@bulk.example", "", "", ""],
    ["X7", "X Seven", "x3@bulk.example", "", "", ""],
    ["X8", "X Eight", "x8@bulk.example", "X9", "", ""],
    ["X9", "X Nine", "x9@bulk.example", "X8", "", ""],
    ["X10", "X Ten", "x10@bulk.example", "X2", "", ""],  # its manager's row is bad: no error
]


def test_every_error_of_a_file_with_its_line_and_nothing_written(
    lmsplans: Run, org: str, snapshot: Any, tmp_path: Path
) -> None:
    header = ["employee_id", "name", "email", "manager", "role", "status"]
    file = write_csv(tmp_path / "bad.csv", BAD, header, delimiter=";")
    with file.open("a", encoding="utf-8") as out:
        out.write('X11;"Multi\nLine";x11@bulk.example;;;\n')  # a quoted cell over two lines
        out.write("X12;X Twelve;x12@bulk.example;;;;one too many\n")
    before = snapshot()
    result = lmsplans("import", "learners", str(file), "--org", org)
    assert result.exit_code == 65, result.output
    said = result.stderr.strip().splitlines()
    assert said[:-1] == [
        "line 3, column 'email': 'not-an-email' is not an email address",
        "line 3, column 'role': 'boss' is not one of admin, learner, manager",
        "line 5, column 'manager': no learner has the employee id 'NOPE', in these rows or the "
        "organisation",
        "line 5, column 'name': may not be empty",
        "line 5, column 'status': 'gone' is not one of active, inactive",
        "line 6, column 'employee_id': 'X1' is given to line 2 too",
        "line 7, column 'employee_id': is needed for a new learner (no learner has this email)",
        "line 8, column 'email': 'x3@bulk.example' is given to line 4 too",
        "line 10, column 'manager': would make a reporting loop: X9 -> X8 -> X9",
        "line 14: has 7 cells, the header 6",
    ]
    assert said[-1] == f"10 problems in {file}: nothing was written."
    assert result.stdout == "" and "Traceback" not in result.output
    assert snapshot() == before
    report = lmsplans("import", "learners", str(file), "--org", org, "--json")
    assert report.exit_code == 65
    problems = json.loads(report.stdout)["problems"]
    assert [p["line"] for p in problems] == [3, 3, 5, 5, 5, 6, 7, 8, 10, 14]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"Employee ID,Name\nE1,Someone\n", "line 1: needs an email column"),
        (b"Email,Employee ID\nx@bulk.example,E1\n", "line 1: needs a name column"),
        (b"Email,E-mail,Name\n", "columns 'Email' and 'E-mail' are the same column"),
        (b"Email,Name\n\xff\xfe,x\n", "is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read(
    lmsplans: Run, org: str, snapshot: Any, tmp_path: Path, content: bytes, said: str
) -> None:
    file = tmp_path / "people.csv"
    file.write_bytes(content)
    before = snapshot()
    result = lmsplans("import", "learners", str(file), "--org", org)
    assert result.exit_code == 65, result.output
    assert said in result.stderr and "Traceback" not in result.output
    assert snapshot() == before


def test_spellings_first_and_last_names_and_an_unknown_org(
    lmsplans: Run, org: str, query: Any, tmp_path: Path
) -> None:
    header = [
        "EMPLOYEE_ID", "First Name", "Surname", "E-Mail Address", "Manager Email", "LMS Role",
        "Status",
    ]  # fmt: skip
    rows = [
        ["A1", "Ada", "Lovelace", "ADA@bulk.example", "", "manager", "active"],
        ["A2", "Alan", "Turing", "alan@bulk.example", "ada@bulk.example", "Learner", "Left"],
    ]
    file = write_csv(tmp_path / "people.csv", rows, header, delimiter="\t")
    assert summary(lmsplans("import", "learners", str(file), "--org", "bulk"))[:3] == (2, 0, 0)
    learners = stored(query)
    assert learners["A1"]["display_name"] == "Ada Lovelace" and learners["A1"]["role"] == "manager"
    assert learners["A2"]["boss"] == "A1" and learners["A2"]["status"] == "inactive"
    missing = lmsplans("import", "learners", str(file), "--org", "Nowhere")
    assert missing.exit_code == 1 and "No organisation named 'Nowhere'" in missing.stderr
    gone = lmsplans("import", "learners", str(tmp_path / "none.csv"), "--org", org)
    assert gone.exit_code == 65 and "No such file" in gone.stderr
