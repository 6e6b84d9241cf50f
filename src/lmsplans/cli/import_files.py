"""Reading what `lmsplans import` loads: an HR system's CSV of people, and a catalogue of
courses and plans in YAML or JSON, each problem with its line.

A CSV's columns are found by their header, case and punctuation ignored ("Employee ID",
"employee_id" and "EmployeeId" are one column); `LEARNER_COLUMNS` lists the spellings, and
docs/importing.md documents them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmsplans.cli.runtime import ExitStatus, Failure, why_invalid

if TYPE_CHECKING:
    from lmsplans.server.learners.schemas import LearnerUpsertIn
    from lmsplans.server.plans.catalogue_schema import Catalogue

# Each column a learners file may have, by every header it may go by (normalised: lower
# case, letters and digits only).
LEARNER_COLUMNS: dict[str, tuple[str, ...]] = {
    "employeeId": (
        "employeeid", "employeenumber", "employeeno", "employeecode", "empid", "empno",
        "staffid", "staffnumber", "personnelnumber", "workerid",
    ),
    "emailId": (
        "email", "emailid", "emailaddress", "mail", "workemail", "workemailaddress",
        "businessemail", "officeemail", "officialemail",
    ),
    "displayName": ("name", "displayname", "fullname", "employeename", "preferredname"),
    "firstName": ("firstname", "givenname", "forename"),
    "lastName": ("lastname", "surname", "familyname"),
    # The manager by email address or employee id: a value with "@" is an email address.
    "manager": (
        "manager", "managerid", "reportsto", "reportingto", "reportingmanager",
        "reportingmanagerid", "linemanager", "linemanagerid", "supervisor", "supervisorid",
    ),
    "managerEmail": (
        "manageremail", "manageremailid", "manageremailaddress", "reportingmanageremail",
        "linemanageremail", "supervisoremail",
    ),
    "managerEmployeeId": (
        "manageremployeeid", "manageremployeenumber", "managerempid", "managerempno",
        "reportingmanageremployeeid", "supervisoremployeeid",
    ),
    "role": ("role", "lmsrole", "userrole", "accessrole"),
    "status": ("status", "employeestatus", "employmentstatus", "userstatus"),
}  # fmt: skip
ROLES = {
    "admin": "admin", "administrator": "admin", "manager": "manager",
    "learner": "learner", "employee": "learner", "user": "learner",
}  # fmt: skip
STATUSES = {
    "active": "active", "inactive": "inactive", "terminated": "inactive",
    "resigned": "inactive", "left": "inactive", "exited": "inactive",
    "deactivated": "inactive", "disabled": "inactive",
}  # fmt: skip
_MANAGER_FIELDS = ("managerEmployeeId", "managerEmail", "manager")


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One problem of a file: its line (None: the whole file), where on it, and why."""

    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}" if self.line is not None else "the file"
        return f"{at}, {self.where}: {self.message}" if self.where else f"{at}: {self.message}"


@dataclass
class LearnerRows:
    """A learners file, read: its items (as the upsert takes them) with their lines."""

    items: list[LearnerUpsertIn] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # column: the file's header
    problems: list[FileProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # headers of no known column

    def where(self, name: str) -> str:
        """The file's own name of an upsert field (a problem says where it is)."""
        column = {
            "emailId": "emailId",
            "employeeId": "employeeId",
            "displayName": "displayName" if "displayName" in self.headers else "firstName",
            "role": "role",
            "status": "status",
        }.get(name)
        if column is None:  # a manager field: the manager column(s) the file has
            names = [repr(self.headers[c]) for c in _MANAGER_FIELDS if c in self.headers]
            return ("columns " if len(names) > 1 else "column ") + " / ".join(names)
        header = self.headers.get(column)
        return f"column {header!r}" if header else name


def _normal(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


_BY_HEADER = {spelling: column for column, names in LEARNER_COLUMNS.items() for spelling in names}


def _text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except FileNotFoundError:
        raise Failure(f"No such file: {path}", ExitStatus.INVALID) from None
    except UnicodeDecodeError as exc:
        raise Failure(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8",
            ExitStatus.INVALID,
        ) from None


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    first_line = text.split("\n", 1)[0]
    try:
        dialect: Any = csv.Sniffer().sniff(first_line, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    line = 1
    for record in reader:
        yield line, record
        line = reader.line_num + 1


def read_learners(path: Path) -> LearnerRows:
    """The file's learners and every problem of its header and rows."""
    from pydantic import ValidationError

    from lmsplans.server.learners.schemas import LearnerUpsertIn

    read = LearnerRows()
    rows = _rows(_text_of(path))
    header_line, header = next(rows, (1, []))
    for header_text in header:
        column = _BY_HEADER.get(_normal(header_text))
        if column is None:
            read.ignored.append(header_text)
        elif column in read.headers:
            problem = f"columns {read.headers[column]!r} and {header_text!r} are the same column"
            read.problems.append(FileProblem(header_line, "", problem))
        else:
            read.headers[column] = header_text
    index = {column: header.index(text) for column, text in read.headers.items()}
    missing = [
        what
        for what, columns in (
            ("an email column", ("emailId",)),
            ("a name column", ("displayName", "firstName")),
        )
        if not any(c in index for c in columns)
    ]
    if missing:
        known = ", ".join(repr(h) for h in header) or "none"
        read.problems.append(
            FileProblem(header_line, "", f"needs {' and '.join(missing)} (its headers: {known})")
        )
        return read
    for line, record in rows:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            read.problems.append(
                FileProblem(line, "", f"has {len(record)} cells, the header {len(header)}")
            )
            continue
        cells = {c: record[i].strip() if i < len(record) else "" for c, i in index.items()}
        values, problems = _learner(cells, read)
        read.problems.extend(FileProblem(line, where, why) for where, why in problems)
        try:
            item = LearnerUpsertIn.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = read.where(str(error["loc"][0]))
                read.problems.append(FileProblem(line, where, why_invalid(error)))
            item = _stand_in(values, exc, line)
        # A row with a problem stays in, so the others' checks see it (as a manager, an
        # employee id taken): the file is refused all the same.
        read.items.append(item)
        read.lines.append(line)
    return read


def _stand_in(values: dict[str, Any], exc: Any, line: int) -> LearnerUpsertIn:
    """A row whose values are not all valid, with each bad one replaced by one that takes
    nothing from anyone, for the checks across rows."""
    from lmsplans.server.learners.schemas import LearnerUpsertIn

    stand_ins = {
        "emailId": f"line-{line}@stand-in.invalid",
        "displayName": f"line {line}",
        "employeeId": f"(line {line})",
    }
    fixed = dict(values)
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0])
        if name in stand_ins:
            fixed[name] = stand_ins[name]
        else:
            fixed.pop(name, None)
    return LearnerUpsertIn.model_construct(**fixed)


def _learner(
    cells: dict[str, str], read: LearnerRows
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A row's cells as the upsert's fields, and the problems of the cells it maps."""
    problems: list[tuple[str, str]] = []
    name = cells.get("displayName") or " ".join(
        part for part in (cells.get("firstName", ""), cells.get("lastName", "")) if part
    )
    values: dict[str, Any] = {"emailId": cells["emailId"], "displayName": name}
    if cells.get("employeeId"):
        values["employeeId"] = cells["employeeId"]
    for column, known in (("role", ROLES), ("status", STATUSES)):
        given = cells.get(column, "")
        if given and given.lower() not in known:
            choices = ", ".join(sorted(set(known.values())))
            problems.append((read.where(column), f"{given!r} is not one of {choices}"))
        elif given:
            values[column] = known[given.lower()]
    if any(c in read.headers for c in _MANAGER_FIELDS):
        by_id, by_email, either = (cells.get(c, "") for c in _MANAGER_FIELDS)
        if by_id or (either and "@" not in either):
            values["managerEmployeeId"] = by_id or either
        elif by_email or either:
            values["managerId"] = by_email or either
        else:
            values["managerId"] = None  # an empty cell: no manager
    return values, problems


# --- catalogues ----------------------------------------------------------------------------


Lines = dict[tuple[Any, ...], int]


def read_catalogue(path: Path) -> tuple[Catalogue | None, Lines, list[FileProblem]]:
    """The catalogue in a YAML or JSON file (by its suffix; YAML otherwise) with the line of
    each of its values, or its problems, each with its line where the file says it."""
    from pydantic import ValidationError

    from lmsplans.server.plans.catalogue_schema import Catalogue

    text = _text_of(path)
    lines = catalogue_lines(text)
    try:
        document = _load(path, text)
    except ValueError as exc:
        return None, lines, [FileProblem(None, "", str(exc))]
    try:
        return Catalogue.model_validate(document), lines, []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            at = tuple(error["loc"])
            problems.append(FileProblem(line_of(lines, at), dotted(at), why_invalid(error)))
        return None, lines, problems


def _load(path: Path, text: str) -> Any:
    import yaml

    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON at line {exc.lineno}: {exc.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"not valid YAML{where}: {problem}") from None


def dotted(path: tuple[Any, ...]) -> str:
    """`("plans", 2, "courses")` -> "plans.2.courses" (the catalogue's own field names)."""
    return ".".join(str(part) for part in path)


def catalogue_lines(text: str) -> Lines:
    """The line of each value of a YAML (or JSON) document, by its path; empty when the
    text is not YAML (JSON that YAML cannot read keeps no lines)."""
    import yaml

    lines: Lines = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)  # a key's own line first
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, (*path, i))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if root is not None:
        walk(root, ())
    return lines


def line_of(lines: Lines, path: tuple[Any, ...]) -> int | None:
    """The line of `path`, else of the nearest thing holding it."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
