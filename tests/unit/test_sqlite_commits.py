"""SQLite's data version: asked of the database only after something committed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lmsplans.migrations import migrate
from lmsplans.server.db import BUMP_DATA_VERSION
from lmsplans.server.db.sqlite import SqliteDatabase, WalCommitWatch


def _commit_elsewhere(path: Path, sql: str) -> None:
    """A write through a connection of its own, as another process would make it."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute(sql)
    other.close()


async def test_a_commit_by_another_connection_is_seen_and_nothing_else_is(tmp_path: Path) -> None:
    path = tmp_path / "lms.db"
    migrate(f"sqlite:///{path}")
    db = await SqliteDatabase.connect(f"sqlite:///{path}")
    keep_open = sqlite3.connect(path)  # so the WAL index outlives `other`
    try:
        first = await db.data_version()
        assert await db.data_version() == first
        _commit_elsewhere(path, BUMP_DATA_VERSION)
        assert await db.data_version() == first + 1
        _commit_elsewhere(path, BUMP_DATA_VERSION)
        _commit_elsewhere(path, BUMP_DATA_VERSION)
        assert await db.data_version() == first + 3
        async with db.transaction() as conn:  # this process's own writer
            await conn.execute("UPDATE learners SET status = status WHERE id = -1")
        assert await db.data_version() == first + 4
    finally:
        keep_open.close()
        await db.close()


async def test_the_watch_sees_every_commit_and_no_reads(tmp_path: Path) -> None:
    path = tmp_path / "lms.db"
    migrate(f"sqlite:///{path}")
    db = await SqliteDatabase.connect(f"sqlite:///{path}")  # holds the WAL index open
    watch = WalCommitWatch(path.with_name(path.name + "-shm"))
    try:
        header = watch.header()
        assert header is not None
        watch.seen(header)
        reader = sqlite3.connect(path)
        reader.execute("SELECT count(*) FROM learners").fetchone()
        reader.close()
        assert watch.unchanged(watch.header())  # a read commits nothing
        _commit_elsewhere(path, "UPDATE learners SET status = status WHERE id = -1")
        assert watch.unchanged(watch.header())  # nor does a write that changed no row
        _commit_elsewhere(path, "UPDATE data_version SET version = version + 1")
        assert not watch.unchanged(watch.header())
    finally:
        watch.close()
        await db.close()


def test_without_a_wal_index_every_look_says_changed(tmp_path: Path) -> None:
    watch = WalCommitWatch(tmp_path / "missing.db-shm")
    header = watch.header()
    watch.seen(header)
    assert header is None and not watch.unchanged(watch.header())
