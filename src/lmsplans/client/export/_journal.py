"""The export's journal (`<out>.state`): what is in the output, so a rerun resumes exactly.

One JSON line per entry: the header (format, columns, where the rows start; once chosen, which
way the export reads, `via`, and the learners it will export when they came from the rosters,
so a resume does not list them again), then one line per unit written (a learner, or a plan's
whole roster) with the output's length after its rows. A half-written last line is ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lmsplans.client.export._format import COLUMN_NAMES, ExportError, header

__all__ = ["Files", "Journal"]

JOURNAL_VERSION = 1


@dataclass(frozen=True, slots=True)
class Files:
    """The output, where its rows are appended (Parquet: a JSON-lines part file), the journal."""

    out: Path
    fmt: str

    @property
    def data(self) -> Path:
        if self.fmt == "parquet":
            return self.out.with_name(self.out.name + ".part.jsonl")
        return self.out

    @property
    def state(self) -> Path:
        return self.out.with_name(self.out.name + ".state")


@dataclass(slots=True)
class Journal:
    """What an export has written so far."""

    files: Files
    fsync: bool
    start: int  # where the rows start in the data file (after the CSV header)
    end: int  # the data file's length after the last recorded unit
    via: str | None = None
    learners: list[str] | None = None  # the learners to export, once listed
    done: dict[str, int] = field(default_factory=dict)  # learner -> rows
    plans: dict[str, int] = field(default_factory=dict)  # plan -> rows (the roster path)
    seen: set[str] = field(default_factory=set)  # learners in the plans done
    complete: bool = False

    @classmethod
    def open(cls, files: Files, *, overwrite: bool, fsync: bool) -> Journal:
        """The journal of an unfinished export of `files` (its data cut back to the last
        recorded unit), or a new one; an existing output without a journal is an error."""
        if overwrite:
            for path in {files.out, files.data, files.state}:
                path.unlink(missing_ok=True)
        if files.state.exists():
            journal = cls._load(files, fsync)
            journal._cut_back()
            return journal
        if files.out.exists() or files.data.exists():
            raise ExportError(f"{files.out} already exists: pass --overwrite to replace it")
        first = header(files.fmt)
        journal = cls(files, fsync, len(first), len(first))
        with files.state.open("wb") as handle:  # the journal first: a data file never lacks one
            _append(handle, journal._header(), fsync)
        files.data.write_bytes(first)
        return journal

    def amend(self, **fields: Any) -> None:
        """Add `fields` to the header (`via`, `learners`), before any unit is recorded."""
        assert not (self.done or self.plans), "the header is amended before the first unit"
        if "via" in fields:
            self.via = str(fields["via"])
        if "learners" in fields:
            self.learners = [str(learner) for learner in fields["learners"]]
        tmp = self.files.state.with_name(self.files.state.name + ".tmp")
        with tmp.open("wb") as handle:
            _append(handle, self._header(), self.fsync)
        os.replace(tmp, self.files.state)

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry (the caller has flushed the rows it speaks of)."""
        with self.files.state.open("ab") as handle:
            _append(handle, entry, self.fsync)
        self._apply(entry)

    def _header(self) -> dict[str, Any]:
        first: dict[str, Any] = {
            "lmsplans_export": JOURNAL_VERSION,
            "format": self.files.fmt,
            "columns": COLUMN_NAMES,
            "start": self.start,
        }
        if self.via is not None:
            first["via"] = self.via
        if self.learners is not None:
            first["learners"] = self.learners
        return first

    def _apply(self, entry: dict[str, Any]) -> None:
        if entry.get("complete"):
            self.complete = True
        elif "plan" in entry:
            self.plans[str(entry["plan"])] = int(entry["rows"])
            self.seen.update(str(learner) for learner in entry.get("learners", []))
        elif "learner" in entry:
            self.done[str(entry["learner"])] = int(entry["rows"])
        self.end = int(entry.get("end", self.end))

    @classmethod
    def _load(cls, files: Files, fsync: bool) -> Journal:
        path = files.state
        raw = path.read_bytes()
        cut = raw.rfind(b"\n") + 1  # a half-written last line is dropped
        if cut < len(raw):
            with path.open("r+b") as handle:
                handle.truncate(cut)
        try:
            entries = [json.loads(line) for line in raw[:cut].splitlines()]
        except json.JSONDecodeError as exc:
            raise ExportError(f"{path} is damaged ({exc}); rerun with --overwrite") from None
        if not entries or entries[0].get("lmsplans_export") != JOURNAL_VERSION:
            raise ExportError(f"{path} is not an lmsplans export journal")
        first = entries[0]
        if first.get("format") != files.fmt:
            raise ExportError(
                f"an unfinished {first.get('format')} export to {files.out} exists: rerun with "
                f"--format {first.get('format')}, or pass --overwrite"
            )
        journal = cls(files, fsync, int(first["start"]), int(first["start"]))
        journal.via = str(first["via"]) if "via" in first else None
        if "learners" in first:
            journal.learners = [str(learner) for learner in first["learners"]]
        for entry in entries[1:]:
            journal._apply(entry)
        if journal.via is None and journal.done:
            journal.via = "learners"  # a journal of before there was a choice
        return journal

    def _cut_back(self) -> None:
        """Drop the rows of a unit that was being written when the last run died."""
        if self.complete:
            return
        data = self.files.data
        size = data.stat().st_size if data.exists() else 0
        if size < self.end and (self.done or self.plans):
            raise ExportError(
                f"{data} is shorter than its journal says ({size} < {self.end} bytes): "
                "rows were lost outside this program; rerun with --overwrite"
            )
        if size < self.end or not data.exists():  # died before the header was written
            data.write_bytes(header(self.files.fmt))
        with data.open("r+b") as handle:
            handle.truncate(self.end)


def _append(handle: IO[bytes], entry: dict[str, Any], fsync: bool) -> None:
    handle.write((json.dumps(entry) + "\n").encode())
    handle.flush()
    if fsync:
        os.fsync(handle.fileno())
