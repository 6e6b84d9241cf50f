"""Backups of a SQLite database, consistent while servers write to it.

Both ways go through SQLite's online backup API (`sqlite3.Connection.backup`), which copies
the pages of one committed state: a backup taken while a server writes holds every write
committed before it started and none after. A restore copies the backup *into* the
database through SQLite's own locking, so a server that has it open sees either the old
state or the restored one, and ends with a change that names everything (`*`, numbered
after every change either file holds), so every server's cache lets go of the old data.

PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`); see `docs/running.md`.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from alembic.config import Config
from alembic.script import ScriptDirectory

from lmsplans.migrations import MIGRATIONS_DIR
from lmsplans.server.changes.log import EVERYTHING

# The "dead man switch" byte of a WAL index (`-shm` file): every connection to the database,
# in any process, holds a shared lock on it while it is open (SQLite's os_unix.c, UNIX_SHM_DMS).
_SHM_DMS_OFFSET = 128
_BUSY_TIMEOUT_MS = 5000


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What a database file holds, in a few numbers a person can check."""

    path: Path
    size_bytes: int
    revision: str
    last_change: int  # the id of the newest row of the change log (0: none)
    learners: int
    progress_events: int

    def describe(self) -> str:
        return (
            f"{self.learners} learners, {self.progress_events} progress events, "
            f"schema revision {self.revision}, last change {self.last_change}, "
            f"{self.size_bytes:,} bytes"
        )


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    target = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    conn = sqlite3.connect(target, uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    return conn


def summary(path: Path) -> Summary:
    """The summary of a database or backup file (a `BackupError` if it is not one of ours)."""
    if not path.is_file():
        raise BackupError(f"No such file: {path}")
    try:
        with closing(_connect(path, read_only=True)) as conn:
            (check,) = conn.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise BackupError(f"{path} is damaged: {check}")
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            last_change = _last_change(conn) or 0
            (learners,) = conn.execute("SELECT count(*) FROM learners").fetchone()
            (events,) = conn.execute("SELECT count(*) FROM progress_events").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an lmsplans database ({exc})") from exc
    return Summary(path, path.stat().st_size, str(revision), last_change, learners, events)


def in_use(database: Path) -> bool:
    """Whether another process (a server, say) has the database open right now."""
    shm = database.with_name(database.name + "-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:  # no WAL index: nobody has it open in WAL mode
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_OFFSET)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_OFFSET)
        return False
    finally:
        os.close(fd)


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """One consistent copy of `source` into a new self-contained file `target` (no WAL)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(partial, isolation_level=None)) as copy:
        source.backup(copy)  # all pages in one step: one read transaction, one state
        copy.execute("PRAGMA journal_mode=DELETE")
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    partial.replace(target)


def backup(database: Path, target: Path, *, overwrite: bool = False) -> Summary:
    """Copy the database to `target`, consistently even while servers write to it."""
    if not database.is_file():
        raise BackupError(f"No database at {database}: nothing to back up")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists: choose another file, or pass --force to replace it")
    if target.resolve() == database.resolve():
        raise BackupError("The backup file cannot be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(_connect(database)) as source:
        _copy(source, target)
    return summary(target)


def _known_revision(revision: str) -> bool:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown or partial ids
        return False


@dataclass(frozen=True, slots=True)
class Restored:
    backup: Summary
    previous: Path | None  # where the database it replaced was saved, if there was one
    # The newest change id the replaced database held; None once the restore was announced
    # (a backup of a schema before the change log is announced after its migration).
    announce_after: int | None


def restore(backup_file: Path, database: Path) -> Restored:
    """Replace the database's content with the backup's. The database as it was is saved
    beside it first (`<name>.before-restore-<UTC time>`), and a change naming everything is
    written with an id above both the old database's and the backup's: every server,
    following the change log by id, drops its whole cache."""
    restored = summary(backup_file)
    if not _known_revision(restored.revision):
        raise BackupError(
            f"{backup_file} has schema revision {restored.revision}, unknown to this lmsplans "
            "(made by a newer version?): restore it with that version"
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    previous: Path | None = None
    with closing(_connect(database)) as target:
        target.execute("PRAGMA journal_mode=WAL")
        old_last = _last_change(target) or 0
        if _holds_schema(target):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            previous = database.with_name(f"{database.name}.before-restore-{stamp}")
            _copy(target, previous)
        with closing(_connect(backup_file, read_only=True)) as source:
            source.backup(target)
        if _last_change(target) is None:  # a backup from before the change log (0008)
            return Restored(restored, previous, announce_after=old_last)
    announce_restore(database, after=old_last)
    return Restored(restored, previous, announce_after=None)


def announce_restore(database: Path, *, after: int) -> None:
    """Write the change that names everything (`*`), numbered after `after` and after every
    change the database holds: every server following the log by id drops its cache."""
    with closing(_connect(database)) as target:
        newest = _last_change(target) or 0
        target.execute(
            "INSERT INTO changes (id, tags, occurred_time) VALUES (?, ?, ?)",
            (max(after, newest) + 1, orjson.dumps([EVERYTHING]).decode(), int(time.time() * 1000)),
        )


def _holds_schema(conn: sqlite3.Connection) -> bool:
    """Whether the database holds an lmsplans schema (of any revision), not a new file."""
    found = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    return bool(found[0])


def _last_change(conn: sqlite3.Connection) -> int | None:
    """The id of the database's newest change (0: none yet), or None when it holds no
    lmsplans schema yet."""
    try:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()
    except sqlite3.OperationalError:  # no such table: a new, empty file
        return None
    return int(row[0])
