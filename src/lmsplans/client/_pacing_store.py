"""Where the pacing governor keeps the calls it made: SQLite, in memory or in a file.

In a file (by default `pacing.sqlite3` in the user's cache directory), every process of the
same user on this machine shares it: a restarted export, a second export and the client of a
script all see the calls the others made, per scope (the base URL and a hash of the
credentials) and API. SQLite locks the file for the length of each short transaction
(`BEGIN IMMEDIATE`), so a reservation is atomic across processes. Times in a file are wall-
clock seconds (processes share no monotonic clock).

A call is written as a reservation before it is sent (`ticket` set, stamped when reserved)
and settled when its answer arrives (`ticket` cleared, stamped then). A reservation whose
process died is still counted until `window + STALE_SECONDS` after it was made.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PacingStore", "default_state_path", "open_store", "scope_of", "state_path"]

log = logging.getLogger("lmsplans.client")

STATE_ENV = "LMSPLANS_PACING_STATE"  # a file, or "off" for memory only
STALE_SECONDS = 60.0  # a reservation older than window + this is a call that never answered
FORGET_SECONDS = 86_400.0  # rows older than this are dropped when a file is opened
BUSY_SECONDS = 30.0  # how long a transaction waits for another process's

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    scope TEXT NOT NULL, api TEXT NOT NULL, stamp REAL NOT NULL, ticket TEXT
);
CREATE INDEX IF NOT EXISTS calls_by_api ON calls (scope, api, stamp);
CREATE TABLE IF NOT EXISTS apis (
    scope TEXT NOT NULL, api TEXT NOT NULL,
    threshold INTEGER, window REAL, locked_until REAL NOT NULL DEFAULT 0, seen REAL NOT NULL,
    PRIMARY KEY (scope, api)
);
"""


def default_state_path() -> Path | None:
    """`LMSPLANS_PACING_STATE` (a file, or `off`), else `pacing.sqlite3` in the user's cache
    directory; None means memory only."""
    setting = os.environ.get(STATE_ENV, "").strip()
    if setting.lower() in ("off", "memory", "none", "0", "false"):
        return None
    if setting:
        return Path(setting).expanduser()
    import platformdirs  # only when a file is wanted

    return Path(platformdirs.user_cache_dir("lmsplans", appauthor=False)) / "pacing.sqlite3"


def state_path(setting: str | os.PathLike[str] | bool | None) -> Path | None:
    """The file a client's `pacing_state=` names: None or True, the default; False, none
    (memory only); else that file."""
    if setting is None or setting is True:
        return default_state_path()
    if setting is False:
        return None
    return Path(setting).expanduser()


def scope_of(base_url: str, credential: str | None) -> str:
    """The scope of a client's calls: its base URL and a hash of what identifies its user
    (the refresh token, else the access token), so no secret is written to the file."""
    digest = hashlib.sha256((credential or "").encode()).hexdigest()[:16]
    return f"{base_url.rstrip('/')} {digest}"


class PacingStore:
    """The calls of every API, per scope, in SQLite (`path`: a file, or None: memory).

    `transaction(scope, api)` yields a `Window` to read and change under one lock. Thread-safe;
    one store per governor (each opens its own connection).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._conn = self._open()

    @property
    def shared(self) -> bool:
        """Whether other processes may see (and add to) these calls."""
        return self.path is not None

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            with contextlib.suppress(sqlite3.OperationalError):  # e.g. a network file system
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    @contextlib.contextmanager
    def transaction(self, scope: str, api: str) -> Iterator[Window]:
        """One atomic read-and-change of the calls of `api` in `scope`."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Window(self._conn, scope, api)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def forget_old(self, now: float) -> None:
        """Drop what no window can still hold (every row older than a day)."""
        with self._lock:
            self._conn.execute("DELETE FROM calls WHERE stamp < ?", (now - FORGET_SECONDS,))
            self._conn.execute("DELETE FROM apis WHERE seen < ?", (now - FORGET_SECONDS,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_store(path: Path | None) -> PacingStore:
    """A store in the file `path`, or in memory if None or if the file cannot be opened (then
    said once on the `lmsplans.client` logger)."""
    if path is None:
        return PacingStore()
    try:
        return PacingStore(path)
    except (OSError, sqlite3.Error) as error:
        log.warning("pacing state %s cannot be used (%s): pacing in memory only", path, error)
        return PacingStore()


class Window:
    """The calls of one API in one scope, inside a transaction."""

    def __init__(self, conn: sqlite3.Connection, scope: str, api: str) -> None:
        self._conn = conn
        self._key = (scope, api)

    def _one(self, sql: str, *params: object) -> object:
        row = self._conn.execute(sql, (*self._key, *params)).fetchone()
        return row[0] if row else None

    # --- the API's policy and lock ------------------------------------------------------

    def policy(self) -> tuple[int, float] | None:
        """The threshold and window learned from the server, if any process learned them."""
        row = self._conn.execute(
            "SELECT threshold, window FROM apis WHERE scope = ? AND api = ?", self._key
        ).fetchone()
        return (int(row[0]), float(row[1])) if row and row[0] is not None else None

    def save_policy(self, threshold: int, window: float, now: float) -> None:
        self._conn.execute(
            """INSERT INTO apis (scope, api, threshold, window, seen) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (scope, api) DO UPDATE SET threshold = excluded.threshold,
                   window = excluded.window, seen = excluded.seen""",
            (*self._key, threshold, window, now),
        )

    def locked_until(self) -> float:
        value = self._one("SELECT locked_until FROM apis WHERE scope = ? AND api = ?")
        return float(value) if isinstance(value, int | float) else 0.0

    def set_locked_until(self, until: float, now: float) -> None:
        self._conn.execute(
            """INSERT INTO apis (scope, api, locked_until, seen) VALUES (?, ?, ?, ?)
               ON CONFLICT (scope, api) DO UPDATE SET locked_until = excluded.locked_until,
                   seen = excluded.seen""",
            (*self._key, until, now),
        )

    # --- calls --------------------------------------------------------------------------

    def expire(self, horizon: float, stale: float) -> None:
        """Forget settled calls stamped at or before `horizon`, reservations before `stale`."""
        self._conn.execute(
            """DELETE FROM calls WHERE scope = ? AND api = ?
                AND ((ticket IS NULL AND stamp <= ?) OR (ticket IS NOT NULL AND stamp < ?))""",
            (*self._key, horizon, stale),
        )

    def counts(self) -> tuple[int, int]:
        """(settled, reserved) calls held."""
        row = self._conn.execute(
            """SELECT count(*) - count(ticket), count(ticket) FROM calls
                WHERE scope = ? AND api = ?""",
            self._key,
        ).fetchone()
        return int(row[0]), int(row[1])

    def settled_after(self, horizon: float) -> int:
        value = self._one(
            """SELECT count(*) FROM calls WHERE scope = ? AND api = ?
                AND ticket IS NULL AND stamp > ?""",
            horizon,
        )
        return int(value) if isinstance(value, int) else 0

    def nth_settled(self, n: int) -> float:
        """The stamp of the `n`-th oldest settled call (from 0)."""
        value = self._one(
            """SELECT stamp FROM calls WHERE scope = ? AND api = ? AND ticket IS NULL
                ORDER BY stamp LIMIT 1 OFFSET ?""",
            n,
        )
        assert isinstance(value, float)
        return value

    def settled_stamps(self) -> list[float]:
        rows = self._conn.execute(
            """SELECT stamp FROM calls WHERE scope = ? AND api = ? AND ticket IS NULL
                ORDER BY stamp""",
            self._key,
        ).fetchall()
        return [float(row[0]) for row in rows]

    def reserve(self, ticket: str, now: float) -> None:
        self._conn.execute(
            "INSERT INTO calls (scope, api, stamp, ticket) VALUES (?, ?, ?, ?)",
            (*self._key, now, ticket),
        )

    def unreserve(self, ticket: str) -> None:
        self._conn.execute(
            "DELETE FROM calls WHERE scope = ? AND api = ? AND ticket = ?", (*self._key, ticket)
        )

    def add_settled(self, stamp: float, count: int = 1) -> None:
        self._conn.executemany(
            "INSERT INTO calls (scope, api, stamp, ticket) VALUES (?, ?, ?, NULL)",
            [(*self._key, stamp)] * count,
        )

    def clear_settled(self) -> None:
        self._conn.execute(
            "DELETE FROM calls WHERE scope = ? AND api = ? AND ticket IS NULL", self._key
        )
