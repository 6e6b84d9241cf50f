"""`lmsplans serve`, `migrate` and `client create`: the server's own commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from lmsplans.cli.runtime import (
    ExitStatus,
    Failure,
    console,
    load_settings,
    migrated_database,
    prepare_database,
    server_command,
)

if TYPE_CHECKING:
    from rich.console import Console

    from lmsplans.server.db import Connection
    from lmsplans.server.settings import Settings

HostOption = Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")]
OrgOption = Annotated[str, typer.Option(help="Organisation name or id.")]


def run_server(settings: Settings, *, workers: int = 1) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C), on a database already prepared."""
    import uvicorn

    from lmsplans.server.logs import logging_config
    from lmsplans.server.protocol import LimitedHttpToolsProtocol

    if workers > 1 and not settings.redis_url:
        raise Failure(
            "Refusing to start several workers with a per-process rate limiter: each worker "
            "would allow the full threshold. Set LMSPLANS_REDIS_URL, or run one worker.",
            ExitStatus.USAGE,
        )
    # Workers re-read the settings from the environment; pass the command-line ones down.
    os.environ["LMSPLANS_HOST"], os.environ["LMSPLANS_PORT"] = settings.host, str(settings.port)
    # uvicorn stops gracefully on SIGTERM, then re-raises it to the handler that was in place
    # before; the default one would make a clean stop exit -15 instead of 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "lmsplans.server.main:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=logging_config(level=settings.log_level, log_format=settings.log_format),
        log_level=settings.log_level,
        access_log=False,  # ours is lighter (`lmsplans.server.logs.AccessLog`)
        proxy_headers=False,
        # What a client may make a process hold: the head's size and time are bounded by
        # our protocol layer, idle connections and their number by uvicorn's own knobs.
        http=LimitedHttpToolsProtocol,
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.max_connections,
    )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@server_command
def serve(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Run the server (reaches and migrates the database first)."""
    settings = load_settings(host=host, port=port)
    asyncio.run(prepare_database(settings))
    run_server(settings, workers=workers)


@server_command
def migrate() -> None:
    """Create the database if needed and apply every migration."""
    from lmsplans.server.settings import redacted

    settings = load_settings()
    asyncio.run(prepare_database(settings))
    console.print(f"Database at {redacted(settings.database_url)} is up to date.", highlight=False)


@server_command
def client_create(
    org: OrgOption,
    user: Annotated[str, typer.Option(help="The client's user: userId, zuid or email.")],
    scope: Annotated[
        str, typer.Option(help="Comma-separated scopes, e.g. ZOHOPEOPLE.training.ALL")
    ] = "ZOHOPEOPLE.training.ALL",
    name: Annotated[str, typer.Option(help="A name to recognise the client by.")] = "self client",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Mint a self client: client id, secret, refresh token and a first access token."""
    settings = load_settings()
    result = asyncio.run(_create_client(settings, org=org, user=user, scope=scope, name=name))
    if json_output:
        print(json.dumps(result, indent=2))
        return
    print_self_client(result)


def print_self_client(client: dict[str, str | int], *, out: Console = console) -> None:
    """A self client as `client create` shows it (the secret and tokens, this once)."""
    out.print("[bold]Self client created[/bold] (the secret and tokens are shown once):")
    for key, value in client.items():
        out.print(f"  {key:14} {value}", highlight=False)


async def mint_self_client(
    conn: Connection,
    settings: Settings,
    *,
    org_id: int,
    user_id: int,
    scope: str = "ZOHOPEOPLE.training.ALL",
    name: str = "self client",
) -> dict[str, str | int]:
    """A new self client of `user_id`, as `client create` prints it (a bad scope is a
    `Failure`)."""
    from lmsplans.server.auth.service import create_client
    from lmsplans.server.clock import Clock
    from lmsplans.server.errors import ApiError

    try:
        new = await create_client(
            conn,
            org_id=org_id,
            user_id=user_id,
            scopes=scope,
            name=name,
            now_ms=Clock().now_ms(),
            ttl_seconds=settings.access_token_ttl_seconds,
        )
    except ApiError as error:
        details = "; ".join(e["message"] for e in error.errors or [])
        raise Failure(f"{error.message}: {details or scope}", ExitStatus.INVALID) from None
    return {
        "client_id": new.client_id,
        "client_secret": new.client_secret,
        "refresh_token": new.refresh_token,
        "access_token": new.access_token,
        "expires_in": new.expires_in,
        "scope": scope,
    }


async def _create_client(
    settings: Settings, *, org: str, user: str, scope: str, name: str
) -> dict[str, str | int]:
    async with migrated_database(settings) as db, db.transaction() as conn:
        org_id, user_id = await find_person(conn, org=org, user=user)
        return await mint_self_client(
            conn, settings, org_id=org_id, user_id=user_id, scope=scope, name=name
        )


async def find_person(conn: Connection, *, org: str, user: str) -> tuple[int, int]:
    """The organisation `org` names (`organisation_id`) and its learner `user` (userId,
    zuid or email): their ids, or a `Failure` naming what was not found."""
    from lmsplans.server.errors import NoSuchLearner
    from lmsplans.server.learners.queries import resolve_learner

    org_id = await organisation_id(conn, org)
    try:
        learner = await resolve_learner(conn, org_id=org_id, learner_ref=user)
    except NoSuchLearner:
        raise Failure(f"No user {user!r} in organisation {org!r}.") from None
    return org_id, learner.id


async def organisation_id(conn: Connection, ref: str) -> int:
    """The id of the organisation `ref` names (its name, ignoring case, or its id); a
    `Failure` that lists the organisations there are otherwise."""
    from lmsplans.server.organisations.queries import find_organisation, list_organisations

    found = await find_organisation(conn, ref=ref)
    if found is None:
        names = [s.organisation.name for s in await list_organisations(conn)]
        known = f" (there are: {', '.join(map(repr, names))})" if names else " (there is none yet)"
        raise Failure(f"No organisation named {ref!r}{known}; `lmsplans org create` makes one.")
    return found.id


def register(app: typer.Typer, client_app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(migrate)
    client_app.command("create")(client_create)
