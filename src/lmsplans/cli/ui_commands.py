"""`lmsplans ui link` and `lmsplans ui password`: signing people in to the web interface.

A sign-in link is printed, alone, on stdout (the note about it goes to stderr), so a script
can hand it on: `lmsplans ui link --org ... --user ... | mail -s "Sign in" ...`.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from lmsplans.cli.runtime import (
    Failure,
    console,
    errors,
    load_settings,
    migrated_database,
    server_command,
)
from lmsplans.cli.server_commands import OrgOption, find_person

if TYPE_CHECKING:
    from lmsplans.server.db import Database
    from lmsplans.server.errors import ApiError
    from lmsplans.server.sessions.schemas import SignInLink
    from lmsplans.server.settings import Settings

R = TypeVar("R")

UserOption = Annotated[str, typer.Option(help="The person: userId, zuid or email.")]

ui_app = typer.Typer(
    help="The web interface (/ui): sign-in links and passwords for people.",
    no_args_is_help=True,
)


@server_command
def link(
    org: OrgOption,
    user: UserOption,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Where people reach the server [default: LMSPLANS_PUBLIC_URL, or "
            "http://HOST:PORT]."
        ),
    ] = None,
) -> None:
    """Print a one-time sign-in link for a person (valid 15 minutes, usable once)."""
    settings = load_settings()
    made = asyncio.run(_for_person(settings, org=org, user=user, job=_make_link))
    print(made.url(base_url or settings.base_url))
    until = datetime.fromtimestamp(made.expires_ms / 1000, UTC)
    errors.print(
        f"The link signs {user} in once, until {until:%Y-%m-%d %H:%M} UTC.", highlight=False
    )


async def _make_link(db: Database, org_id: int, learner_id: int) -> SignInLink:
    from lmsplans.server.clock import Clock
    from lmsplans.server.sessions.schemas import SessionPolicy
    from lmsplans.server.sessions.service import create_sign_in_link

    return await create_sign_in_link(
        db, org_id=org_id, learner_id=learner_id, now_ms=Clock().now_ms(), policy=SessionPolicy()
    )


async def _for_person(
    settings: Settings,
    *,
    org: str,
    user: str,
    job: Callable[[Database, int, int], Awaitable[R]],
) -> R:
    """`job(db, org_id, learner_id)` for the person `user` of `org`; a refusal of the
    services is a `Failure` that says it in one line."""
    from lmsplans.server.errors import ApiError

    async with migrated_database(settings) as db:
        async with db.read() as conn:
            org_id, learner_id = await find_person(conn, org=org, user=user)
        try:
            return await job(db, org_id, learner_id)
        except ApiError as error:
            raise Failure(_said(error)) from None


@server_command
def password(
    org: OrgOption,
    user: UserOption,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
) -> None:
    """Set a person's password for the web interface (at least 12 characters; stored as an
    argon2 hash). Their sessions end: whoever knew the old one is signed out."""
    settings = load_settings()
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    job = functools.partial(_set_password, secret=secret)
    ended = asyncio.run(_for_person(settings, org=org, user=user, job=job))
    sessions = "session" if ended == 1 else "sessions"
    console.print(f"Password set for {user}; {ended} {sessions} ended.", highlight=False)


async def _set_password(db: Database, org_id: int, learner_id: int, *, secret: str) -> int:
    from lmsplans.server.clock import Clock
    from lmsplans.server.sessions.service import Passwords, set_password

    return await set_password(
        db,
        Passwords(),
        org_id=org_id,
        learner_id=learner_id,
        password=secret,
        now_ms=Clock().now_ms(),
    )


def _said(error: ApiError) -> str:
    """A refusal of the services in one line: its message and what each field lacked."""
    details = "; ".join(f"{e['field']} {e['message']}" for e in error.errors or [])
    return f"{error.message}: {details}" if details else error.message


def register(app: typer.Typer) -> None:
    ui_app.command("link")(link)
    ui_app.command("password")(password)
    app.add_typer(ui_app, name="ui")
