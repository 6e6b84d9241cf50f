"""The server-side commands run in-process (typer's runner) on a fresh database of each
backend: SQLite and PostgreSQL, as every database test here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from lmsplans.cli.main import app
from lmsplans.server.db import Database

Run = Callable[..., Result]


@pytest.fixture
def lmsplans(database_url: str) -> Run:
    """`lmsplans ARGS...` on this test's database; answers the result (exit code, stdout,
    stderr)."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        environment = {
            "LMSPLANS_DATABASE_URL": database_url,
            "LMSPLANS_LOG_LEVEL": "warning",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        return CliRunner().invoke(app, list(args), env=environment)

    return run


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def query(database_url: str) -> Callable[..., list[dict[str, Any]]]:
    """Rows of one SELECT on this test's database (`:name` parameters)."""

    def run(sql: str, **params: Any) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            db = await Database.open(database_url, pool_size=1)
            try:
                async with db.read() as conn:
                    return [dict(row) for row in await conn.fetch_all(sql, params)]
            finally:
                await db.close()

        return asyncio.run(fetch())

    return run


TABLES = (
    "organisations",
    "learners",
    "courses",
    "learning_plans",
    "plan_courses",
    "plan_admins",
    "plan_enrolments",
    "course_progress",
    "progress_events",
    "oauth_clients",
    "refresh_tokens",
    "access_tokens",
    "ui_sign_in_links",
)


@pytest.fixture
def snapshot(query: Callable[..., list[dict[str, Any]]]) -> Callable[[], dict[str, Any]]:
    """Every row of the tables an import or `org` command may write."""

    def take() -> dict[str, Any]:
        return {table: sorted(map(repr, query(f"SELECT * FROM {table}"))) for table in TABLES}

    return take
