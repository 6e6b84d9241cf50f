"""SQLite follows the change log: asked of the database only after something committed,
and then only for the rows after the last one seen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lmsplans.migrations import migrate
from lmsplans.server.changes.log import tag
from lmsplans.server.db.sqlite import SqliteDatabase, WalCommitWatch

_CHANGE = "INSERT INTO changes (tags, occurred_time) VALUES ('[\"{tag}\"]', 0)"


def _commit_elsewhere(path: Path, sql: str) -> None:
    """A write through a connection of its own, as another process would make it."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute(sql)
    other.close()


async def test_a_commit_by_another_connection_is_followed_once(tmp_path: Path) -> None:
    path = tmp_path / "lms.db"
    migrate(f"sqlite:///{path}")
    db = await SqliteDatabase.connect(f"sqlite:///{path}")
    followed: list[list[str]] = []
    db.follow(lambda tags: followed.append(list(tags)))
    keep_open = sqlite3.connect(path)  # so the WAL index outlives `other`
    try:
        await db.catch_up()
        await db.catch_up()
        assert followed == []
        _commit_elsewhere(path, _CHANGE.format(tag="learner:1"))
        await db.catch_up()
        assert followed == [["learner:1"]]
        _commit_elsewhere(path, _CHANGE.format(tag="plan:2"))
        _commit_elsewhere(path, _CHANGE.format(tag="plan:3"))
        await db.catch_up()
        await db.catch_up()
        assert followed == [["learner:1"], ["plan:2", "plan:3"]]
        async with db.transaction() as conn:  # this process's own writer
            await conn.execute("UPDATE learners SET status = status WHERE id = -1")
            conn.changes.touch(None, tag("learner", 4))
        await db.catch_up()
        assert followed[-1] == ["learner:4"]
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
        _commit_elsewhere(path, _CHANGE.format(tag="learner:1"))
        assert not watch.unchanged(watch.header())
    finally:
        watch.close()
        await db.close()


def test_without_a_wal_index_every_look_says_changed(tmp_path: Path) -> None:
    watch = WalCommitWatch(tmp_path / "missing.db-shm")
    header = watch.header()
    watch.seen(header)
    assert header is None and not watch.unchanged(watch.header())
