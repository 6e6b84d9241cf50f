"""`lmsplans`: run the server, migrate, load demo data, mint self clients.

Server commands import the server lazily, so the client half works without its dependencies.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from lmsplans.cli.client_commands import register as register_client_commands

if TYPE_CHECKING:
    from lmsplans.demo import DemoTokens
    from lmsplans.server.db import Database
    from lmsplans.server.settings import Settings

app = typer.Typer(
    help="lmsplans: a learning-plan progress service that speaks the Zoho People LMS API.",
    no_args_is_help=True,
    add_completion=False,
)
client_app = typer.Typer(help="Manage OAuth self clients.", no_args_is_help=True)
app.add_typer(client_app, name="client")
console = Console(soft_wrap=True)  # tokens and curl lines must stay on one line
errors = Console(soft_wrap=True, stderr=True)  # keeps stdout clean for `--json`

HostOption = Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")]


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    from lmsplans.server.settings import Settings

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return Settings(**overrides)  # type: ignore[arg-type]


def _serve(settings: Settings, *, workers: int = 1) -> None:
    import uvicorn

    if workers > 1 and not settings.redis_url:
        errors.print(
            "[red]Refusing to start several workers with a per-process rate limiter:[/red] "
            "each worker would allow the full threshold. Set LMSPLANS_REDIS_URL, or run one "
            "worker."
        )
        raise typer.Exit(2)
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
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
    )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Run the server (migrates the database first)."""
    _serve(_settings(host, port), workers=workers)


@app.command()
def migrate() -> None:
    """Create the database if needed and apply every migration."""
    from lmsplans.migrations import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database_url)
    console.print(f"Database at {settings.database_url} is up to date.")


@app.command()
def demo(
    host: HostOption = None,
    port: PortOption = None,
    credentials_out: Annotated[
        Path | None, typer.Option(help="Also write the tokens and ids to this JSON file.")
    ] = None,
    learners: Annotated[
        int, typer.Option(min=20, help="Learners in the demo organisation.")
    ] = 1200,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve afterwards.")
    ] = True,
) -> None:
    """Load demo data (once), print ready tokens, then serve."""
    settings = _settings(host, port)
    tokens = asyncio.run(_demo_tokens(settings, learners=learners))
    people = tokens.people
    base_url = f"http://{settings.host}:{settings.port}"
    credentials = {
        "base_url": base_url,
        "admin_token": tokens.admin_token,
        "manager_token": tokens.manager_token,
        "learner_token": tokens.learner_token,
        "learner_id": str(people.learner_id),
        "manager_id": str(people.manager_id),
        "admin_id": str(people.admin_id),
        "other_org_learner_id": str(people.other_org_learner_id),
    }
    console.print("[bold]lmsplans demo[/bold]: organisation 'Zylker Corp' is ready.")
    for role in ("admin", "manager", "learner"):
        console.print(f"  {role:8} token: {credentials[role + '_token']}")
    console.print(f"  learner id:     {people.learner_id}  (learner@zylker.example)")
    url = f"{base_url}/api/v1/learners/{people.learner_id}/learning-plans/progress"
    header = f"Authorization: Zoho-oauthtoken {tokens.admin_token}"
    console.print("\nTry the reference endpoint:", highlight=False)
    console.print(f"  curl -s {shlex.quote(url)} -H {shlex.quote(header)}", highlight=False)
    if credentials_out:
        credentials_out.write_text(json.dumps(credentials, indent=2) + "\n")
        console.print(f"\nCredentials written to {credentials_out}")
    if serve_after:
        _serve(settings)


@asynccontextmanager
async def _migrated_database(settings: Settings) -> AsyncIterator[Database]:
    """The settings' database, migrated first, open for the block."""
    from lmsplans.migrations import migrate
    from lmsplans.server.db import Database

    # In a thread: on PostgreSQL, Alembic runs an event loop of its own.
    await asyncio.to_thread(migrate, settings.database_url)
    db = await Database.open(settings.database_url)
    try:
        yield db
    finally:
        await db.close()


async def _demo_tokens(settings: Settings, *, learners: int) -> DemoTokens:
    from lmsplans.demo import build_demo, mint_demo_tokens
    from lmsplans.server.clock import Clock

    async with _migrated_database(settings) as db:
        now_ms = Clock().now_ms()
        people = await build_demo(db, now_ms=now_ms, learners=learners)
        return await mint_demo_tokens(
            db, people=people, now_ms=now_ms, ttl_seconds=settings.access_token_ttl_seconds
        )


@client_app.command("create")
def client_create(
    org: Annotated[str, typer.Option(help="Organisation name or id.")],
    user: Annotated[str, typer.Option(help="The client's user: userId, zuid or email.")],
    scope: Annotated[
        str, typer.Option(help="Comma-separated scopes, e.g. ZOHOPEOPLE.training.ALL")
    ] = "ZOHOPEOPLE.training.ALL",
    name: Annotated[str, typer.Option(help="A name to recognise the client by.")] = "self client",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Mint a self client: client id, secret, refresh token and a first access token."""
    settings = _settings()
    result = asyncio.run(_create_client(settings, org=org, user=user, scope=scope, name=name))
    if json_output:
        print(json.dumps(result, indent=2))
        return
    console.print("[bold]Self client created[/bold] (the secret and tokens are shown once):")
    for key, value in result.items():
        console.print(f"  {key:14} {value}", highlight=False)


async def _create_client(
    settings: Settings, *, org: str, user: str, scope: str, name: str
) -> dict[str, str | int]:
    from lmsplans.server.auth.service import create_client
    from lmsplans.server.clock import Clock
    from lmsplans.server.errors import ApiError, NoSuchLearner
    from lmsplans.server.learners.queries import resolve_learner

    async with _migrated_database(settings) as db, db.transaction() as conn:
        org_row = await conn.fetch_one(
            "SELECT id FROM organisations WHERE name = :org OR CAST(id AS TEXT) = :org",
            {"org": org},
        )
        if org_row is None:
            errors.print(f"[red]No organisation named {org!r}.[/red]")
            raise typer.Exit(1)
        try:
            learner = await resolve_learner(conn, org_id=org_row["id"], learner_ref=user)
            new = await create_client(
                conn,
                org_id=org_row["id"],
                user_id=learner.id,
                scopes=scope,
                name=name,
                now_ms=Clock().now_ms(),
                ttl_seconds=settings.access_token_ttl_seconds,
            )
        except NoSuchLearner:
            errors.print(f"[red]No user {user!r} in organisation {org!r}.[/red]")
            raise typer.Exit(1) from None
        except ApiError as error:
            details = "; ".join(e["message"] for e in error.errors or [])
            errors.print(f"[red]{error.message}: {details or scope}[/red]", highlight=False)
            raise typer.Exit(1) from None
    return {
        "client_id": new.client_id,
        "client_secret": new.client_secret,
        "refresh_token": new.refresh_token,
        "access_token": new.access_token,
        "expires_in": new.expires_in,
        "scope": scope,
    }


register_client_commands(app)  # progress, export: the client half (no server imports)


def main() -> None:
    app()
