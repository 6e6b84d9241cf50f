"""What the server-side commands share: their settings, their database, and how they fail.

A command that cannot do its job says why in one line and exits with a status that tells the
cause (`ExitStatus`); the traceback is shown only with `lmsplans --debug`. The server is
imported lazily, so the client half of the command line works without the `server` extra,
and a server command run without it says what to install.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from lmsplans.server.db import Database
    from lmsplans.server.settings import Settings

console = Console(soft_wrap=True)  # tokens and commands must stay on one line
errors = Console(soft_wrap=True, stderr=True)  # keeps stdout clean for `--json`

# How long a command waits for the database to answer before saying it does not.
DATABASE_TIMEOUT_SECONDS = 15.0

P = ParamSpec("P")
R = TypeVar("R")


class ExitStatus(IntEnum):
    """Exit statuses of the server-side commands (78 and 69 are sysexits.h's EX_CONFIG and
    EX_UNAVAILABLE: a service manager can tell a setting to fix from an outage to retry)."""

    FAILED = 1  # the command could not do its job (the message says why)
    USAGE = 2  # not for this situation (e.g. `backup` on PostgreSQL, several workers)
    INVALID = 65  # EX_DATAERR: the input (an option's value, a file's rows) is not valid
    UNAVAILABLE = 69  # the database cannot be reached or opened
    CONFIG = 78  # a setting cannot be parsed


class Failure(Exception):
    """A command's job cannot be done: `message` for the user, `status` for the caller."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# Set by `lmsplans --debug`: failures show their traceback too.
debugging: ContextVar[bool] = ContextVar("lmsplans_debugging", default=False)


def _fail(message: str, status: int, exc: BaseException) -> typer.Exit:
    if debugging.get():
        traceback.print_exception(exc)
    errors.print(f"[red]{escape(message)}[/red]", highlight=False)
    return typer.Exit(status)


def server_command(command: Callable[P, R]) -> Callable[P, R]:
    """A command that needs the server's dependencies and may fail with a `Failure`."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ModuleNotFoundError as exc:
            if (exc.name or "lmsplans").startswith("lmsplans"):
                raise
            name = command.__name__.replace("_", " ")
            raise _fail(
                f"`lmsplans {name}` needs the server's dependencies, which are not installed "
                f"(no module named {exc.name!r}): pip install 'lmsplans[server]'",
                ExitStatus.FAILED,
                exc,
            ) from None
        except Failure as failure:
            raise _fail(failure.message, failure.status, failure) from None

    return run


def why_invalid(error: Any) -> str:
    """What is wrong with one value (an error of pydantic's `ValidationError.errors()`), for
    a person: "'bob' is not an email address", "may not be empty"."""
    given = error.get("input")
    shown = f"{given!r} " if isinstance(given, str) and given.strip() else ""
    kind, field = error["type"], str(error["loc"][-1] if error["loc"] else "")
    if kind == "string_pattern_mismatch":
        if "mail" in field.lower():
            return shown + "is not an email address"
        if field == "image":
            return shown + "is not a picture's number (1 to 3 digits)"
        return shown + "holds control characters"
    if kind in ("string_too_short", "missing") and not shown:
        return "is missing" if kind == "missing" else "may not be empty"
    if kind == "string_too_long":
        return f"is longer than {error['ctx']['max_length']} characters"
    return f"{shown}({error['msg'][0].lower()}{error['msg'][1:]})"


def load_settings(**overrides: Any) -> Settings:
    """The settings from `LMSPLANS_*` and the given overrides (None: not given)."""
    from pydantic import ValidationError

    from lmsplans.server.settings import Settings

    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"LMSPLANS_{'_'.join(map(str, error['loc'])).upper()}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        noun = "setting" if len(exc.errors()) == 1 else "settings"
        raise Failure(f"Invalid {noun} {problems}", ExitStatus.CONFIG) from exc


# What SQLite says of a file it cannot open or use (as opposed to a fault in a statement).
_SQLITE_UNREACHABLE = ("unable to open", "disk i/o", "locked", "readonly", "not a database")


def _is_unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or what caused it, says the database cannot be reached or opened
    (rather than a fault in lmsplans, which keeps its traceback)."""
    from lmsplans.server.errors import DatabaseUnavailable

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DatabaseUnavailable | OSError):
            return True
        if isinstance(seen, sqlite3.DatabaseError) and any(
            text in str(seen).lower() for text in _SQLITE_UNREACHABLE
        ):
            return True
        # PostgreSQL's connection, authentication, unknown-database and too-many-clients
        # errors (SQLSTATE classes 08, 28, 3D, 53, and 57P03 "cannot connect now").
        state = str(getattr(seen, "sqlstate", "") or "")
        if state[:2] in ("08", "28", "3D", "53") or state == "57P03":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unreachable(settings: Settings, exc: BaseException) -> Failure:
    from lmsplans.server.settings import redacted

    reason = str(exc).strip() or type(exc).__name__
    return Failure(
        f"Cannot reach the database {redacted(settings.database_url)}: {reason}",
        ExitStatus.UNAVAILABLE,
    )


async def _probe(settings: Settings) -> None:
    """Open the database and ask it one question, within `DATABASE_TIMEOUT_SECONDS`."""
    from lmsplans.server.db import Database

    if settings.database_url.startswith("sqlite:"):
        from lmsplans.server.db.sqlite import sqlite_path

        sqlite_path(settings.database_url).parent.mkdir(parents=True, exist_ok=True)
    db = await asyncio.wait_for(
        Database.open(settings.database_url, pool_size=1), DATABASE_TIMEOUT_SECONDS
    )
    try:
        async with db.read() as conn:
            await asyncio.wait_for(conn.fetch_value("SELECT 1"), DATABASE_TIMEOUT_SECONDS)
    finally:
        await db.close()


async def prepare_database(settings: Settings) -> None:
    """Reach the database (a `Failure` if it does not answer), then migrate it."""
    from lmsplans.migrations import migrate
    from lmsplans.server.settings import redacted

    try:
        await _probe(settings)
        # In a thread: on PostgreSQL, Alembic runs an event loop of its own.
        await asyncio.to_thread(migrate, settings.database_url)
    except TimeoutError as exc:
        raise Failure(
            f"The database {redacted(settings.database_url)} did not answer within "
            f"{DATABASE_TIMEOUT_SECONDS:.0f} s",
            ExitStatus.UNAVAILABLE,
        ) from exc
    except Exception as exc:
        if _is_unreachable(exc):
            raise unreachable(settings, exc) from exc
        raise


@asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[Database]:
    """The settings' database, reached and migrated first, open for the block."""
    from lmsplans.server.db import Database

    await prepare_database(settings)
    db = await Database.open(settings.database_url)
    try:
        yield db
    finally:
        await db.close()
