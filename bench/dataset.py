"""Benchmark datasets: a fast bulk generator of the lmsplans schema, cached under bench/out/.

Building a million learners through the domain services (as `lmsplans demo` does) would
take hours, so this module writes the same tables directly, after the ordinary migrations,
in the schema's own columns (the SQLAlchemy tables of every domain's `models.py`). What the
data holds, the rules it follows and how it is cached: `bench/README.md`, "Datasets".

Stand-alone use (from the repository root):

    .venv/bin/python bench/dataset.py --backend sqlite --size 1000000 [--regenerate]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing
import random
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from multiprocessing.queues import Queue
from pathlib import Path
from queue import Empty
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from backends import first_row, on_postgres, rows_for_ids, sqlite_path
from harness import (
    BACKENDS,
    DEFAULT_PG_ADMIN_URL,
    HOST,
    OUT_DIR,
    REPO,
    http_get,
    label,
    mean,
    read_pairs,
    write_pairs,
)

MIGRATIONS = REPO / "src" / "lmsplans" / "migrations" / "versions"

# Bump when the generated data changes: cached datasets are then rebuilt.
GENERATOR_VERSION = "3"  # 3: progress events (the history)

ORG_SIZE = 100_000
COURSES_PER_ORG = 120
PLANS_PER_ORG = 40
COURSES_PER_PLAN = 8
ENROLMENTS_PER_LEARNER = (3, 7)  # uniform: 5 on average
MANAGER_EVERY = 25
# How an enrolment's courses stand (weights): no progress, some progress, every mandatory
# course completed. Tuned so about a third of the enrolled courses have a progress row.
PROFILE_WEIGHTS = (34, 38, 28)
_PROFILE_CUTS = (
    PROFILE_WEIGHTS[0] / sum(PROFILE_WEIGHTS),
    (PROFILE_WEIGHTS[0] + PROFILE_WEIGHTS[1]) / sum(PROFILE_WEIGHTS),
)
BATCH_LEARNERS = 5_000  # about 250,000 events a batch
TOKEN_SCOPES = "ZOHOPEOPLE.training.ALL"  # noqa: S105 (a scope, not a secret)
TOKEN_TTL_MS = 10 * 365 * 86_400_000
DAY_MS = 86_400_000

# Id ranges: Zoho-like 18-digit ids, one range per table.
ORG_BASE = 100_002_000_000_001_000
LEARNER_BASE = 100_002_000_000_100_000
COURSE_BASE = 100_002_000_010_000_000
PLAN_BASE = 100_002_000_020_000_000
ENROLMENT_BASE = 100_002_000_100_000_000
EVENT_BASE = 100_002_001_000_000_000
EVENTS_PER_LEARNER = 256  # at most: 7 enrolments x 3 events + 56 courses x 4 events
# Progress events after a course's enrolment (uniform): the last one is its state now.
PROGRESS_EVENTS_PER_COURSE = (1, 3)

# Tables whose secondary indexes are dropped during the load and built after it.
BULK_TABLES = ("learners", "plan_enrolments", "course_progress", "progress_events")

Row = tuple[Any, ...]

# The events' JSON, as `orjson.dumps` writes the services' dicts (`progress.service`,
# `plans.service`): course states, then enrolments' flags.
_COURSE_STATE = '{"status":"%s","percentage":%d,"enrolledTime":%d,"completedTime":%s}'
_ENROLLED = (
    '{"planuserId":%d,"enrolledTime":%d,"isJoined":false,"joinedTime":null,'
    '"isCompleted":false,"completedTime":null}'
)
_NOT_JOINED, _JOINED = '{"isJoined":false}', '{"isJoined":true,"joinedTime":%d}'
_NOT_COMPLETED = '{"isCompleted":false,"completedTime":null}'
_COMPLETED = '{"isCompleted":true,"completedTime":%d}'


@cache
def schema() -> Any:
    """The schema's tables (SQLAlchemy `MetaData`, every domain's `models.py`)."""
    from lmsplans.server.models import metadata

    return metadata


def columns(table: str) -> tuple[str, ...]:
    """A table's columns in the schema's order: the order of the generator's rows."""
    return tuple(column.name for column in schema().tables[table].columns)


def identity_tables() -> list[str]:
    """Tables whose `id` the database generates (PostgreSQL sequences are moved past the
    loaded ids)."""
    return [
        table.name
        for table in schema().sorted_tables
        if "id" in table.c and table.c.id.identity is not None
    ]


def fitted(table: str, rows: Sequence[Row]) -> tuple[str, ...]:
    """The table's columns, once the rows are known to fill each of them in order."""
    names = columns(table)
    if rows and len(rows[0]) != len(names):
        raise RuntimeError(
            f"bench/dataset.py makes rows of {len(rows[0])} values for {table}, whose schema "
            f"has {len(names)} columns ({', '.join(names)}): update the generator"
        )
    return names


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    courses: tuple[int, ...]  # in position order
    mandatory: frozenset[int]


@dataclass(frozen=True, slots=True)
class Org:
    id: int
    first: int  # index of its first learner
    size: int
    courses: tuple[int, ...]
    plans: tuple[Plan, ...]

    @property
    def admin_id(self) -> int:
        return LEARNER_BASE + self.first


@dataclass(slots=True)
class Batch:
    """The rows of a run of consecutive learners."""

    learners: list[Row]
    enrolments: list[Row]
    progress: list[Row]
    events: list[Row]
    enrolled_courses: int  # distinct (learner, course) pairs over their enrolments


class Generator:
    """Deterministic rows (for one seed) of a dataset of `size` learners."""

    def __init__(self, size: int, *, seed: int, now_ms: int) -> None:
        from lmsplans.demo.data import COURSES, FIRST_NAMES, LAST_NAMES

        self.size = size
        self.seed = seed
        self.now_ms = now_ms
        self.first_names = FIRST_NAMES
        self.last_names = LAST_NAMES
        self.course_names = COURSES
        self.orgs = [self._org(index) for index in range(math.ceil(size / ORG_SIZE))]

    def _org(self, index: int) -> Org:
        rng = random.Random(f"{self.seed}:org:{index}")
        courses = tuple(COURSE_BASE + index * COURSES_PER_ORG + c for c in range(COURSES_PER_ORG))
        plans = []
        for p in range(PLANS_PER_ORG):
            chosen = tuple(rng.sample(courses, COURSES_PER_PLAN))
            # The first course is always mandatory, the others one time in two.
            mandatory = frozenset(c for n, c in enumerate(chosen) if n == 0 or rng.random() < 0.5)
            plans.append(Plan(PLAN_BASE + index * PLANS_PER_ORG + p, chosen, mandatory))
        first = index * ORG_SIZE
        return Org(ORG_BASE + index, first, min(ORG_SIZE, self.size - first), courses, tuple(plans))

    def _created(self) -> int:
        return self.now_ms - 500 * DAY_MS

    def organisations(self) -> list[Row]:
        return [(org.id, f"Bench Org {n + 1}", self._created()) for n, org in enumerate(self.orgs)]

    def courses(self) -> list[Row]:
        rows = []
        for org in self.orgs:
            for n, course_id in enumerate(org.courses):
                name = f"{self.course_names[n % len(self.course_names)]} {n // 30 + 1}"
                created = self._created()
                minutes = 30 + (n * 17) % 150
                # Zoho's fields (revision 0005) at their defaults: description, about the
                # course, duration unit, course code, categories, permissions, admins.
                zoho = ("", "", "minute", "", "[]", "{}", "[]")
                rows.append(
                    (course_id, org.id, name, 1 + n % 3, minutes, created, created, None, *zoho)
                )
        return rows

    def plans(self) -> list[Row]:
        from lmsplans.server.plans.schemas import system_image_url

        rows = []
        for org in self.orgs:
            rng = random.Random(f"{self.seed}:plans:{org.id}")
            for n, plan in enumerate(org.plans):
                image = str(1 + n % 40)
                duration_type = n % 3  # days, weeks, months
                duration = (
                    0 if n % 7 == 0 else (rng.randint(7, 90), rng.randint(1, 12), 3)[duration_type]
                )
                created = self._created() + n * DAY_MS
                rows.append(
                    (
                        plan.id,
                        org.id,
                        f"{self.course_names[n % len(self.course_names)]} Path {n + 1}",
                        f"Learning plan {n + 1} of the benchmark organisation.",
                        True,
                        image,
                        system_image_url(image),
                        duration,
                        duration_type,
                        1,  # published
                        False,
                        org.admin_id,
                        created,
                        created,
                        created,
                    )
                )
        return rows

    def plan_courses(self) -> list[Row]:
        rows = []
        for org in self.orgs:
            rng = random.Random(f"{self.seed}:levels:{org.id}")
            for plan in org.plans:
                for position, course_id in enumerate(plan.courses):
                    level = 1 + position * 3 // COURSES_PER_PLAN
                    locked = level > 1 and rng.random() < 0.5
                    rows.append(
                        (plan.id, course_id, level, course_id in plan.mandatory, locked, position)
                    )
        return rows

    def plan_admins(self) -> list[Row]:
        return [(plan.id, org.admin_id) for org in self.orgs for plan in org.plans]

    def batches(self, learners_per_batch: int = BATCH_LEARNERS) -> Iterator[Batch]:
        """The learners' rows, a batch of consecutive learners at a time."""
        for index, org in enumerate(self.orgs):
            rng = random.Random(f"{self.seed}:learners:{org.id}")
            # The history has a random stream of its own: the other rows are the same with
            # or without it.
            history = random.Random(f"{self.seed}:history:{org.id}")
            enrolment_id = ENROLMENT_BASE + index * ORG_SIZE * ENROLMENTS_PER_LEARNER[1]
            event_id = EVENT_BASE + index * ORG_SIZE * EVENTS_PER_LEARNER
            for start in range(0, org.size, learners_per_batch):
                batch = Batch([], [], [], [], 0)
                for j in range(start, min(org.size, start + learners_per_batch)):
                    enrolment_id, event_id = self._learner(
                        org, j, rng, history, batch, enrolment_id, event_id
                    )
                yield batch

    def _learner(
        self,
        org: Org,
        j: int,
        rng: random.Random,
        history: random.Random,
        batch: Batch,
        next_id: int,
        next_event_id: int,
    ) -> tuple[int, int]:
        """One learner's rows, appended to `batch`; answers the next enrolment and event ids.

        The hot loop of the generator (tens of millions of rows): plain `random()` calls
        and local names only.
        """
        r = rng.random
        k = org.first + j
        learner_id = LEARNER_BASE + k
        managers = max(1, org.size // MANAGER_EVERY)
        if j == 0:
            role, manager_id = "admin", None
        elif j <= managers:
            role, manager_id = "manager", org.admin_id
        else:
            role, manager_id = "learner", org.admin_id + 1 + int(r() * managers)
        first = self.first_names[k % len(self.first_names)]
        last = self.last_names[(k // len(self.first_names)) % len(self.last_names)]
        created = self._created()
        batch.learners.append(
            (
                learner_id,
                org.id,
                60_000_000 + k,
                f"E{k:07d}",
                f"{first}.{last}.{k}@org{org.id - ORG_BASE + 1}.example".lower(),
                f"{first} {last}",
                role,
                manager_id,
                "active",
                created,
                created,
            )
        )

        now = self.now_ms
        low, high = ENROLMENTS_PER_LEARNER
        plans = rng.sample(org.plans, low + int(r() * (high - low + 1)))
        enrolled = sorted(now - DAY_MS - int(r() * 399 * DAY_MS) for _ in plans)
        # course id -> (status, percentage, enrolled time, completed time, modified time,
        # the plan whose enrolment enrolled the learner in it)
        states: dict[int, tuple[str, int, int, int | None, int, int]] = {}
        seen: set[int] = set()
        none_share, partial_share = _PROFILE_CUTS
        for plan, at in zip(plans, enrolled, strict=True):
            seen.update(plan.courses)
            span = now - at
            profile = r()
            if profile < none_share:
                continue
            if profile < partial_share:
                taken = plan.courses[: 1 + int(r() * 4)]
                for course_id in taken[:-1]:
                    if course_id not in states:
                        finished = at + int(r() * span)
                        states[course_id] = ("completed", 100, at, finished, finished, plan.id)
                course_id = taken[-1]
                if course_id not in states:
                    touched = at + int(r() * span)
                    pct = 5 + int(r() * 91)
                    states[course_id] = ("inProgress", pct, at, None, touched, plan.id)
                continue
            for course_id in plan.courses:
                if course_id not in states and (course_id in plan.mandatory or r() < 0.25):
                    finished = at + int(r() * span)
                    states[course_id] = ("completed", 100, at, finished, finished, plan.id)
        batch.enrolled_courses += len(seen)

        append = batch.enrolments.append
        admin_id, org_id = org.admin_id, org.id
        for plan, at in zip(plans, enrolled, strict=True):
            # Completed exactly when every mandatory course is, when the last of them was.
            done_times = [
                t for c in plan.mandatory if (s := states.get(c)) and (t := s[3]) is not None
            ]
            completed = len(done_times) == len(plan.mandatory)
            done_by = max(done_times) if completed else None
            joined = completed or any(c in states for c in plan.courses) or r() < 0.5
            append(
                (
                    next_id,
                    org_id,
                    plan.id,
                    learner_id,
                    1,
                    at,
                    admin_id,
                    joined,
                    at + 3_600_000 if joined else None,
                    completed,
                    done_by,
                    None,
                )
            )
            next_id += 1
        progress = batch.progress.append
        for course_id in sorted(states):
            status, pct, since, done_at, modified, _ = states[course_id]
            progress((learner_id, course_id, org_id, status, pct, since, done_at, modified))
        events = self._history(
            org, learner_id, batch.enrolments[-len(plans) :], states, history, next_event_id
        )
        batch.events += events
        return next_id, next_event_id + len(events)

    def _history(
        self,
        org: Org,
        learner_id: int,
        enrolments: list[Row],
        states: dict[int, tuple[str, int, int, int | None, int, int]],
        rng: random.Random,
        first_id: int,
    ) -> list[Row]:
        """The learner's `progress_events`, in the shapes the services write them
        (`lmsplans.server.progress.service`), oldest first: for each enrolment `enrolled`,
        then `joined` and `plan_completed` where it is; for each course progress row
        `course_enrolled` (not started), then 1 to 3 `course_progress` events, percentages
        rising to its state now. Replaying them gives the rows (`history_problems`).

        The JSON is written as `orjson.dumps` writes the services' dicts, the same bytes,
        from templates: tens of millions of events."""
        r = rng.random
        org_id, admin_id = org.id, org.admin_id
        found: list[tuple[int, int, int | None, int | None, str, int | None, str | None, str]]
        found = []
        add = found.append  # (time, order, plan, course, kind, actor, before, after)
        for row in enrolments:
            enrolment_id, plan_id, at = row[0], row[2], row[5]
            joined, joined_at, completed, done_by = row[7], row[8], row[9], row[10]
            after = _ENROLLED % (enrolment_id, at)
            add((at, len(found), plan_id, None, "enrolled", admin_id, None, after))
            if joined:
                after = _JOINED % joined_at
                add((joined_at, len(found), plan_id, None, "joined", learner_id,
                     _NOT_JOINED, after))  # fmt: skip
            if completed:
                # Completed by the write that completed its last mandatory course, or at the
                # enrolment when that course was completed before.
                after = _COMPLETED % done_by
                add((max(at, done_by), len(found), plan_id, None, "plan_completed", None,
                     _NOT_COMPLETED, after))  # fmt: skip
        low, high = PROGRESS_EVENTS_PER_COURSE
        for course_id in sorted(states):
            status, pct, since, done_at, modified, plan_id = states[course_id]
            # Blended courses (type 2) are recorded by an admin, the others by the learner.
            self_recorded = (course_id - COURSE_BASE) % COURSES_PER_ORG % 3 != 1
            actor = learner_id if self_recorded else admin_id
            state = _COURSE_STATE % ("notStarted", 0, since, "null")
            add((since, len(found), plan_id, course_id, "course_enrolled", admin_id, None, state))
            steps = low + int(r() * (high - low + 1))
            ceiling = 100 if status == "completed" else pct
            # Earlier percentages: distinct, rising, below the last one.
            earlier = sorted({1 + int(r() * (ceiling - 1)) for _ in range(steps - 1)})
            times = sorted(since + int(r() * (modified - since)) for _ in earlier)
            for at, step in zip(times, earlier, strict=True):
                before, state = state, _COURSE_STATE % ("inProgress", step, since, "null")
                add((at, len(found), None, course_id, "course_progress", actor, before, state))
            done = "null" if done_at is None else str(done_at)
            before, state = state, _COURSE_STATE % (status, pct, since, done)
            add((modified, len(found), None, course_id, "course_progress", actor, before, state))
        found.sort()
        return [
            (first_id + n, org_id, learner_id, plan_id, course_id, kind, actor, "api", None,
             before, after, at, None)
            for n, (at, _, plan_id, course_id, kind, actor, before, after) in enumerate(found)
        ]  # fmt: skip

    def token_learners(self, count: int) -> list[int]:
        """`count` learner ids sampled uniformly from the whole dataset (in random order)."""
        rng = random.Random(f"{self.seed}:tokens")
        return [LEARNER_BASE + k for k in rng.sample(range(self.size), min(count, self.size))]

    def org_of(self, learner_id: int) -> int:
        return self.orgs[(learner_id - LEARNER_BASE) // ORG_SIZE].id


def new_token() -> str:
    """A token in Zoho's shape (as `lmsplans.server.auth.service.new_token`)."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def token_rows(
    generator: Generator, count: int, now_ms: int
) -> tuple[list[Row], list[tuple[int, str]]]:
    """`access_tokens` rows and (learner id, token) pairs for `count` sampled learners."""
    rows, pairs = [], []
    for learner_id in generator.token_learners(count):
        token = new_token()
        rows.append(
            (
                hashlib.sha256(token.encode()).hexdigest(),
                None,
                None,
                generator.org_of(learner_id),
                learner_id,
                TOKEN_SCOPES,
                now_ms,
                now_ms + TOKEN_TTL_MS,
                None,
            )
        )
        pairs.append((learner_id, token))
    return rows, pairs


# --------------------------------------------------------------------------- loaders


class Loader(Protocol):
    async def insert(self, table: str, rows: Sequence[Row]) -> None: ...

    async def replace_tokens(self, rows: Sequence[Row]) -> None: ...


class SqliteLoader:
    """One connection, one transaction. For a whole build (`bulk`), unsafe and fast pragmas,
    and the secondary indexes of the big tables built after the rows are in."""

    def __init__(self, path: Path, *, bulk: bool = True) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.bulk = bulk
        self.indexes: list[tuple[str, str]] = []
        if bulk:
            for pragma in (
                "PRAGMA journal_mode=OFF",
                "PRAGMA synchronous=OFF",
                "PRAGMA locking_mode=EXCLUSIVE",
                "PRAGMA temp_store=MEMORY",
                "PRAGMA cache_size=-1048576",  # 1 GiB
                "PRAGMA foreign_keys=OFF",
            ):
                self.conn.execute(pragma)
            placeholders = ", ".join("?" for _ in range(len(BULK_TABLES)))
            self.indexes = self.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({placeholders})",
                BULK_TABLES,
            ).fetchall()
            for name, _ in self.indexes:
                self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.execute("BEGIN")

    async def insert(self, table: str, rows: Sequence[Row]) -> None:
        names = fitted(table, rows)
        self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            rows,
        )

    async def replace_tokens(self, rows: Sequence[Row]) -> None:
        self.conn.execute("DELETE FROM access_tokens")
        await self.insert("access_tokens", rows)

    def finish(self) -> None:
        self.conn.execute("COMMIT")
        for _, sql in self.indexes:
            self.conn.execute(sql)
        if self.bulk:
            self.conn.execute("PRAGMA locking_mode=NORMAL")
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


class PostgresLoader:
    """COPY on one connection in one transaction. For a whole build (`bulk`), foreign-key
    triggers off (the rows are consistent by construction), the big tables' secondary
    indexes and unique constraints built after the load, and the whole database frozen and
    analysed at the end."""

    def __init__(self, conn: Any, *, bulk: bool) -> None:
        self.conn = conn
        self.bulk = bulk
        self.rebuild: list[str] = []
        self.transaction: Any = None

    @classmethod
    async def open(cls, url: str, *, bulk: bool = True) -> PostgresLoader:
        import asyncpg

        conn = await asyncpg.connect(url, command_timeout=900)
        loader = cls(conn, bulk=bulk)
        if bulk:
            await conn.execute("SET session_replication_role = replica")
            await conn.execute("SET maintenance_work_mem = '512MB'")
            await conn.execute("SET synchronous_commit = off")
            await loader._drop_secondary_indexes()
        loader.transaction = conn.transaction()
        await loader.transaction.start()
        return loader

    async def _drop_secondary_indexes(self) -> None:
        conn = self.conn
        for table in BULK_TABLES:
            for name, definition in await conn.fetch(
                """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                    WHERE conrelid = $1::regclass AND contype = 'u'""",
                table,
            ):
                await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                self.rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for name, definition in await conn.fetch(
                """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
                     JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = $1::regclass AND NOT x.indisprimary
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)""",
                table,
            ):
                await conn.execute(f'DROP INDEX "{name}"')
                self.rebuild.append(definition)

    async def insert(self, table: str, rows: Sequence[Row]) -> None:
        names = fitted(table, rows)
        await self.conn.copy_records_to_table(table, records=rows, columns=list(names))

    async def replace_tokens(self, rows: Sequence[Row]) -> None:
        await self.conn.execute("DELETE FROM access_tokens")
        await self.insert("access_tokens", rows)

    async def finish(self) -> None:
        conn = self.conn
        for statement in self.rebuild:
            await conn.execute(statement)
        for table in identity_tables():
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
        await self.transaction.commit()
        if self.bulk:
            await conn.execute("SET session_replication_role = DEFAULT")
            # Frozen and analysed now, so autovacuum has nothing to do during the benchmark.
            await conn.execute("VACUUM (FREEZE, ANALYZE)")
            await conn.execute("CHECKPOINT")
        await conn.close()


def _produce(size: int, seed: int, now_ms: int, queue: Queue[Batch | str | None]) -> None:
    """Run in a child process: generate the learners' batches into `queue`."""
    try:
        for batch in Generator(size, seed=seed, now_ms=now_ms).batches():
            queue.put(batch)
        queue.put(None)
    except BaseException as exc:
        queue.put(f"{type(exc).__name__}: {exc}")
        raise


def learner_batches(generator: Generator, *, parallel: bool) -> Iterator[Batch]:
    """The generator's batches; with `parallel`, made by a child process while the caller
    loads the previous ones (generating and loading then take a core each)."""
    if not parallel:
        yield from generator.batches()
        return
    context = multiprocessing.get_context("fork")
    queue: Queue[Batch | str | None] = context.Queue(maxsize=4)
    producer = context.Process(
        target=_produce,
        args=(generator.size, generator.seed, generator.now_ms, queue),
        daemon=True,
    )
    producer.start()
    try:
        while True:
            try:
                item = queue.get(timeout=300)
            except Empty:
                raise RuntimeError("the dataset generator produced nothing for 300 s") from None
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"the dataset generator failed: {item}")
            yield item
        producer.join(timeout=60)
    finally:
        if producer.is_alive():
            producer.terminate()
            producer.join(timeout=10)


async def load(generator: Generator, loader: Loader, *, parallel: bool) -> dict[str, int]:
    """Every row of the dataset, through `loader`; answers the row counts."""
    counts = {
        "organisations": len(generator.orgs),
        "courses": 0,
        "learning_plans": 0,
        "learners": 0,
        "plan_enrolments": 0,
        "course_progress": 0,
        "progress_events": 0,
        "enrolled_courses": 0,
    }
    await loader.insert("organisations", generator.organisations())
    for table, rows in (
        ("courses", generator.courses()),
        ("learning_plans", generator.plans()),
        ("plan_courses", generator.plan_courses()),
        ("plan_admins", generator.plan_admins()),
    ):
        await loader.insert(table, rows)
        if table in counts:
            counts[table] = len(rows)
    started = time.monotonic()
    for batch in learner_batches(generator, parallel=parallel):
        await loader.insert("learners", batch.learners)
        await loader.insert("plan_enrolments", batch.enrolments)
        await loader.insert("course_progress", batch.progress)
        await loader.insert("progress_events", batch.events)
        counts["learners"] += len(batch.learners)
        counts["plan_enrolments"] += len(batch.enrolments)
        counts["course_progress"] += len(batch.progress)
        counts["progress_events"] += len(batch.events)
        counts["enrolled_courses"] += batch.enrolled_courses
        if parallel and counts["learners"] % 200_000 == 0:
            print(
                f"    {counts['learners']:,} learners ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    return counts


# --------------------------------------------------------------------------- cache


@dataclass(frozen=True, slots=True)
class Dataset:
    backend: str
    size: int
    url: str  # LMSPLANS_DATABASE_URL
    pairs_file: Path
    tokens: int
    counts: dict[str, int]
    build_seconds: float  # when it was generated
    generated_at: str
    reused: bool  # found in the cache by this run
    fingerprint: str

    @classmethod
    def of(cls, manifest: dict[str, Any], pairs_file: Path, *, reused: bool) -> Dataset:
        """The dataset a manifest describes."""
        return cls(
            backend=manifest["backend"],
            size=manifest["size"],
            url=manifest["url"],
            pairs_file=pairs_file,
            tokens=manifest["tokens"],
            counts=manifest["counts"],
            build_seconds=manifest["build_seconds"],
            generated_at=manifest["generated_at"],
            reused=reused,
            fingerprint=manifest["fingerprint"],
        )

    @property
    def label(self) -> str:
        return label(self.size)

    @property
    def progress_share(self) -> float:
        """Course progress rows over the distinct courses learners are enrolled in."""
        return self.counts["course_progress"] / max(1, self.counts["enrolled_courses"])


def fingerprint(size: int, seed: int) -> str:
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                "generator": GENERATOR_VERSION,
                "size": size,
                "seed": seed,
                "shape": [
                    ORG_SIZE,
                    COURSES_PER_ORG,
                    PLANS_PER_ORG,
                    COURSES_PER_PLAN,
                    ENROLMENTS_PER_LEARNER,
                    PROFILE_WEIGHTS,
                ],
            }
        ).encode()
    )
    for path in sorted(MIGRATIONS.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def postgres_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + database))


def paths(cache_dir: Path, backend: str, size: int) -> tuple[Path, Path]:
    """The manifest and the pairs file of a dataset."""
    name = f"{backend}-{label(size)}"
    return cache_dir / f"{name}.json", cache_dir / f"{name}.pairs"


def cached_manifest(cache_dir: Path, backend: str, size: int, seed: int) -> dict[str, Any] | None:
    """The manifest of the cached dataset, if this generator built it from these
    migrations and its database is still there (whatever its number of tokens)."""
    manifest, pairs_file = paths(cache_dir, backend, size)
    try:
        data: dict[str, Any] = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != fingerprint(size, seed) or not pairs_file.exists():
        return None
    return data if _database_has(backend, data["url"], data["counts"]) else None


def _database_has(backend: str, url: str, counts: dict[str, int]) -> bool:
    """Whether the database still holds the dataset (learners and tokens counted)."""
    if backend == "sqlite" and not sqlite_path(url).exists():
        return False
    query = "SELECT (SELECT count(*) FROM learners), (SELECT count(*) FROM access_tokens)"
    try:
        row = first_row(backend, url, query)
    except Exception:
        return False
    return row is not None and row[0] == counts["learners"] and row[1] > 0


def ensure(
    backend: str,
    size: int,
    *,
    tokens: int,
    seed: int = 2026,
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
    regenerate: bool = False,
    cache_dir: Path = OUT_DIR,
) -> Dataset:
    """The dataset from the cache (with its tokens minted again if their number differs),
    or built now (and cached)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    found = None if regenerate else cached_manifest(cache_dir, backend, size, seed)
    if found is None:
        return _build(backend, size, tokens=tokens, seed=seed, pg_admin_url=pg_admin_url,
                      cache_dir=cache_dir)  # fmt: skip
    if found["tokens"] == tokens:
        return Dataset.of(found, paths(cache_dir, backend, size)[1], reused=True)
    return _remint_tokens(found, tokens, seed, cache_dir)


def ensure_all(args: argparse.Namespace) -> dict[tuple[str, int], Dataset]:
    """Every dataset of `--backends` x `--sizes`, from the cache or built, saying which."""
    print(f"Datasets (cached under {args.cache_dir}):", flush=True)
    datasets: dict[tuple[str, int], Dataset] = {}
    for backend in args.backends:
        for size in args.sizes:
            found = ensure(
                backend,
                size,
                tokens=args.tokens,
                seed=args.seed,
                pg_admin_url=args.pg_admin_url,
                regenerate=args.regenerate,
                cache_dir=args.cache_dir,
            )
            how = (
                f"cached (built {found.generated_at} in {found.build_seconds:.0f} s)"
                if found.reused
                else f"built in {found.build_seconds:.0f} s"
            )
            print(f"  {backend} {found.label}: {how}", flush=True)
            datasets[backend, size] = found
    return datasets


def _remint_tokens(data: dict[str, Any], tokens: int, seed: int, cache_dir: Path) -> Dataset:
    backend, size = data["backend"], data["size"]
    print(f"  {backend} {label(size)}: cached, minting {tokens:,} tokens ...", flush=True)
    generator = Generator(size, seed=seed, now_ms=int(time.time() * 1000))
    rows, pairs = token_rows(generator, tokens, generator.now_ms)
    if backend == "sqlite":
        sqlite_loader = SqliteLoader(sqlite_path(data["url"]), bulk=False)
        asyncio.run(sqlite_loader.replace_tokens(rows))
        sqlite_loader.finish()
    else:

        async def write() -> None:
            loader = await PostgresLoader.open(data["url"], bulk=False)
            await loader.replace_tokens(rows)
            await loader.finish()

        asyncio.run(write())
    counts = data["counts"] | {"access_tokens": len(rows)}
    return _commit(data | {"tokens": tokens, "counts": counts}, pairs, cache_dir, reused=True)


def _recreate_database(admin_url: str, name: str) -> None:
    async def recreate(conn: Any) -> None:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')

    on_postgres(admin_url, recreate)


def _build(
    backend: str, size: int, *, tokens: int, seed: int, pg_admin_url: str, cache_dir: Path
) -> Dataset:
    from lmsplans.migrations import migrate

    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest, pairs_file = paths(cache_dir, backend, size)
    manifest.unlink(missing_ok=True)  # the manifest is written last: it marks a whole build
    pairs_file.unlink(missing_ok=True)
    started = time.monotonic()
    print(f"  {backend} {label(size)}: generating {size:,} learners ...", flush=True)
    generator = Generator(size, seed=seed, now_ms=int(time.time() * 1000))
    token_table, pairs = token_rows(generator, tokens, generator.now_ms)
    if backend == "sqlite":
        path = cache_dir / f"sqlite-{label(size)}.db"
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        migrate(url)
        sqlite_loader = SqliteLoader(path)
        counts = asyncio.run(load(generator, sqlite_loader, parallel=size >= 100_000))
        asyncio.run(sqlite_loader.replace_tokens(token_table))
        sqlite_loader.finish()
    else:
        # Named after its fingerprint: checkouts of other versions keep their own.
        database = f"lmsplans_bench_{label(size)}_{fingerprint(size, seed)[:8]}"
        url = postgres_url(pg_admin_url, database)
        _recreate_database(pg_admin_url, database)
        migrate(url)

        async def run() -> dict[str, int]:
            loader = await PostgresLoader.open(url)
            found = await load(generator, loader, parallel=size >= 100_000)
            await loader.replace_tokens(token_table)
            print("    indexes, VACUUM (FREEZE, ANALYZE), CHECKPOINT ...", flush=True)
            await loader.finish()
            return found

        counts = asyncio.run(run())
    counts["access_tokens"] = len(token_table)
    seconds = time.monotonic() - started
    data = {
        "backend": backend,
        "size": size,
        "seed": seed,
        "url": url,
        "tokens": tokens,
        "counts": counts,
        "build_seconds": round(seconds, 1),
        "generated_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "fingerprint": fingerprint(size, seed),
    }
    return _commit(data, pairs, cache_dir, reused=False)


def _commit(
    data: dict[str, Any], pairs: list[tuple[int, str]], cache_dir: Path, *, reused: bool
) -> Dataset:
    manifest, pairs_file = paths(cache_dir, data["backend"], data["size"])
    write_pairs(pairs_file, pairs)
    manifest.write_text(json.dumps(data, indent=2) + "\n")
    return Dataset.of(data, pairs_file, reused=reused)


# --------------------------------------------------------------------------- checks


def enrolment_counts(dataset: Dataset, learner_ids: Iterable[int]) -> dict[int, int]:
    """Active enrolments in published plans per learner, read from the database."""
    query = """SELECT e.learner_id, count(*) FROM plan_enrolments e
                 JOIN learning_plans p ON p.id = e.plan_id
                WHERE e.unenrolled_time IS NULL AND p.publish_state = 1 AND e.learner_id IN ({})
                GROUP BY e.learner_id"""
    rows = rows_for_ids(dataset.backend, dataset.url, query, learner_ids)
    return {int(a): int(b) for a, b in rows}


def check_answers(
    port: int, data: Dataset, pairs: list[tuple[str, str]]
) -> tuple[bytes, list[int]]:
    """Call the endpoint once for each of `pairs`: every answer must be a 200 listing as
    many learning plans as the database holds enrolments for that learner.

    Answers the body whose size is nearest the mean (the ceilings' static body) and every
    body size.
    """
    expected = enrolment_counts(data, (int(learner_id) for learner_id, _ in pairs))
    bodies: list[bytes] = []
    for learner_id, token in pairs:
        url = f"http://{HOST}:{port}/api/v1/learners/{learner_id}/learning-plans/progress"
        status, body = http_get(url, token)
        if status != 200:
            raise RuntimeError(f"learner {learner_id}: {status} {body[:300]!r}")
        answer = json.loads(body)
        plans = answer.get("learningPlans") or []
        if answer.get("status") != 200 or len(plans) != expected.get(int(learner_id)):
            raise RuntimeError(
                f"learner {learner_id}: {len(plans)} plans, the database has "
                f"{expected.get(int(learner_id))}: {body[:300]!r}"
            )
        bodies.append(body)
    sizes = [len(body) for body in bodies]
    middle = mean(sizes)
    return min(bodies, key=lambda body: abs(len(body) - middle)), sizes


def consistency_problems(dataset: Dataset, learner_ids: Sequence[int]) -> list[str]:
    """The progress rules checked in SQL over some learners' enrolments: completed exactly
    when every mandatory course is completed, at the time the last of them was."""
    query = """
    SELECT e.id, e.is_completed, e.completed_time,
           (SELECT count(*) FROM plan_courses pc
             WHERE pc.plan_id = e.plan_id AND pc.is_mandatory) AS mandatory,
           (SELECT count(*) FROM plan_courses pc JOIN course_progress cp
                ON cp.course_id = pc.course_id AND cp.learner_id = e.learner_id
             WHERE pc.plan_id = e.plan_id AND pc.is_mandatory AND cp.status = 'completed') AS done,
           (SELECT max(cp.completed_time) FROM plan_courses pc JOIN course_progress cp
                ON cp.course_id = pc.course_id AND cp.learner_id = e.learner_id
             WHERE pc.plan_id = e.plan_id AND pc.is_mandatory) AS last_done
      FROM plan_enrolments e WHERE e.learner_id IN ({})"""
    problems = []
    for enrolment_id, is_completed, completed_time, mandatory, done, last_done in rows_for_ids(
        dataset.backend, dataset.url, query, learner_ids
    ):
        complete = mandatory > 0 and done == mandatory
        if bool(is_completed) != complete or (complete and completed_time != last_done):
            problems.append(
                f"enrolment {enrolment_id}: is_completed={is_completed} completed_time="
                f"{completed_time}, mandatory {done}/{mandatory} done, last at {last_done}"
            )
    return problems


def history_problems(dataset: Dataset, learner_ids: Sequence[int]) -> list[str]:
    """Some learners' progress events replayed by the service's own projection
    (`progress.events.replay`) against their course progress rows and enrolments: the
    history ends where the tables stand."""
    from lmsplans.server.progress.events import replay

    def read(query: str) -> list[tuple[Any, ...]]:
        return rows_for_ids(dataset.backend, dataset.url, query, learner_ids)

    names = ("learner_id", "plan_id", "course_id", "kind", "after_state")
    events = read(f"SELECT {', '.join(names)} FROM progress_events WHERE learner_id IN ({{}})"
                  " ORDER BY id")  # fmt: skip
    projection = replay([dict(zip(names, event, strict=True)) for event in events])
    problems = []
    courses = read(
        "SELECT learner_id, course_id, status, percentage, enrolled_time, completed_time"
        " FROM course_progress WHERE learner_id IN ({})"
    )
    state_keys = ("status", "percentage", "enrolledTime", "completedTime")
    for learner_id, course_id, *state in courses:
        replayed = projection.courses.pop((learner_id, course_id), None)
        if replayed != dict(zip(state_keys, state, strict=True)):
            problems.append(f"course {course_id} of {learner_id}: {state}, replayed {replayed}")
    enrolments = read(
        "SELECT learner_id, plan_id, id, enrolled_time, is_joined, joined_time, is_completed,"
        " completed_time, unenrolled_time FROM plan_enrolments WHERE learner_id IN ({})"
    )
    flag_keys = ("planuserId", "enrolledTime", "isJoined", "joinedTime", "isCompleted",
                 "completedTime", "unenrolledTime")  # fmt: skip
    for learner_id, plan_id, *flags in enrolments:
        expected = dict(zip(flag_keys, flags, strict=True))
        expected["isJoined"], expected["isCompleted"] = bool(flags[2]), bool(flags[4])
        replayed = projection.enrolments.pop((learner_id, plan_id), None)
        if replayed != expected:
            problems.append(f"enrolment {flags[0]}: {expected}, replayed {replayed}")
    problems += [f"events of a course without a row: {key}" for key in projection.courses]
    problems += [f"events of an enrolment without a row: {key}" for key in projection.enrolments]
    return problems


# --------------------------------------------------------------------------- writes


def progress_to_move(dataset: Dataset, learner_ids: Iterable[int]) -> list[tuple[int, ...]]:
    """What a benchmark may write for these learners, each with their own token: their
    courses in progress, in courses of a type they record themselves, in a plan they are
    enrolled in, and that no plan of theirs locks until a previous level is complete (a
    learner's progress in a locked course is refused). (learner id, course id, percentage,
    modified time) rows."""
    from lmsplans.server.courses.schemas import SELF_RECORDED_TYPES

    types = ", ".join(str(int(t)) for t in sorted(SELF_RECORDED_TYPES))
    query = f"""
    SELECT cp.learner_id, cp.course_id, cp.percentage, cp.modified_time
      FROM course_progress cp JOIN courses c ON c.id = cp.course_id
     WHERE cp.status = 'inProgress' AND c.course_type IN ({types}) AND c.deleted_time IS NULL
       AND cp.learner_id IN ({{}})
       AND EXISTS (SELECT 1 FROM plan_enrolments e
                     JOIN plan_courses pc ON pc.plan_id = e.plan_id
                    WHERE e.learner_id = cp.learner_id AND pc.course_id = cp.course_id
                      AND e.unenrolled_time IS NULL)
       AND NOT EXISTS (SELECT 1 FROM plan_enrolments e
                         JOIN plan_courses pc ON pc.plan_id = e.plan_id
                        WHERE e.learner_id = cp.learner_id AND pc.course_id = cp.course_id
                          AND e.unenrolled_time IS NULL AND pc.is_locked)
     ORDER BY cp.learner_id, cp.course_id"""
    return rows_for_ids(dataset.backend, dataset.url, query, learner_ids)


def marks(dataset: Dataset) -> dict[str, int]:
    """Where every table stands: its largest id where the database numbers its rows, else
    its row count. A benchmark that restores what it wrote leaves them as they were."""
    numbered = set(identity_tables())
    names = [table.name for table in schema().sorted_tables]
    parts = [
        f"(SELECT coalesce(max(id), 0) FROM {name})"
        if name in numbered
        else f"(SELECT count(*) FROM {name})"
        for name in names
    ]
    row = first_row(dataset.backend, dataset.url, "SELECT " + ", ".join(parts))
    assert row is not None
    return dict(zip(names, (int(value) for value in row), strict=True))


def events_after(dataset: Dataset, mark: int) -> int:
    """The progress events written after `mark` (an id)."""
    row = first_row(
        dataset.backend, dataset.url, f"SELECT count(*) FROM progress_events WHERE id > {mark:d}"
    )
    return int(row[0]) if row else 0


def restore(
    dataset: Dataset, *, event_mark: int, change_mark: int, rows: Sequence[tuple[int, ...]]
) -> None:
    """Undo a benchmark's progress writes: the events after `event_mark` and the change log's
    rows after `change_mark` deleted (each organisation's sequence back to its last row
    left), and the course progress `rows` (learner id, course id, percentage, modified
    time) put back."""
    delete = "DELETE FROM progress_events WHERE id > {}"
    forget = "DELETE FROM changes WHERE id > {}"
    renumber = (
        "DELETE FROM change_sequences WHERE org_id NOT IN"
        " (SELECT org_id FROM changes WHERE seq IS NOT NULL)",
        "UPDATE change_sequences SET last_seq ="
        " (SELECT max(seq) FROM changes c WHERE c.org_id = change_sequences.org_id)",
    )
    update = "UPDATE course_progress SET percentage = {}, modified_time = {}"
    update += " WHERE learner_id = {} AND course_id = {}"
    values = [(row[2], row[3], row[0], row[1]) for row in rows]
    if dataset.backend == "sqlite":
        with sqlite3.connect(sqlite_path(dataset.url)) as conn:
            conn.execute(delete.format("?"), (event_mark,))
            conn.execute(forget.format("?"), (change_mark,))
            for statement in renumber:
                conn.execute(statement)
            conn.executemany(update.format("?", "?", "?", "?"), values)
        return

    async def undo(conn: Any) -> None:
        async with conn.transaction():
            await conn.execute(delete.format("$1"), event_mark)
            await conn.execute(forget.format("$1"), change_mark)
            for statement in renumber:
                await conn.execute(statement)
            await conn.executemany(update.format("$1", "$2", "$3", "$4"), values)
        # The deleted rows' space, so that autovacuum does not start in the next sitting.
        await conn.execute(
            "VACUUM (ANALYZE) progress_events, course_progress, changes, change_sequences"
        )

    on_postgres(dataset.url, undo, timeout=60)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build (or find cached) benchmark datasets.")
    parser.add_argument("--backend", dest="backends", choices=BACKENDS, action="append")
    parser.add_argument(
        "--size", dest="sizes", type=int, action="append", help="Learners [10000, 1000000]."
    )
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--cache-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--regenerate", action="store_true", help="Ignore the cache.")
    args = parser.parse_args(argv)
    args.backends = args.backends or list(BACKENDS)
    args.sizes = args.sizes or [10_000, 1_000_000]
    for dataset in ensure_all(args).values():
        sample = [int(i) for i, _ in read_pairs(dataset.pairs_file)[:500]]
        problems = consistency_problems(dataset, sample) + history_problems(dataset, sample)
        summary = {k: v for k, v in asdict(dataset).items() if k != "pairs_file"}
        print(json.dumps(summary | {"progress_share": round(dataset.progress_share, 3)}))
        for problem in problems[:10]:
            print("INCONSISTENT:", problem)
        if problems:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
