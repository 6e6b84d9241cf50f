"""`lmsplans demo`: demo data (loaded once), fresh tokens and sign-in links on every run,
then serve."""

from __future__ import annotations

import asyncio
import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from lmsplans.cli.runtime import console, load_settings, migrated_database, server_command
from lmsplans.cli.server_commands import HostOption, PortOption, run_server

if TYPE_CHECKING:
    from lmsplans.demo import DemoTokens
    from lmsplans.server.settings import Settings


@server_command
def demo(
    host: HostOption = None,
    port: PortOption = None,
    credentials_out: Annotated[
        Path | None,
        typer.Option(help="Also write the tokens, sign-in links and ids to this JSON file."),
    ] = None,
    learners: Annotated[
        int, typer.Option(min=20, help="Learners in the demo organisation.")
    ] = 1200,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve afterwards.")
    ] = True,
) -> None:
    """Load demo data (once), print fresh tokens and sign-in links, then serve.

    Run it again for new tokens and links: the data stays as it is.
    """
    from lmsplans.server.settings import redacted

    settings = load_settings(host=host, port=port)
    tokens, links, now_ms = asyncio.run(_demo_tokens(settings, learners=learners))
    people = tokens.people
    base_url = f"http://{settings.host}:{settings.port}"
    ttl = settings.access_token_ttl_seconds
    expires = datetime.fromtimestamp(now_ms / 1000 + ttl, UTC)
    credentials = {
        "base_url": base_url,
        "admin_token": tokens.admin_token,
        "manager_token": tokens.manager_token,
        "learner_token": tokens.learner_token,
        "expires_in": ttl,
        "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "learner_id": str(people.learner_id),
        "manager_id": str(people.manager_id),
        "admin_id": str(people.admin_id),
        "other_org_learner_id": str(people.other_org_learner_id),
        **{f"{role}_ui_url": url for role, url in links.items()},
    }
    console.print("[bold]lmsplans demo[/bold]: organisation 'Zylker Corp' is ready.")
    for role in ("admin", "manager", "learner"):
        console.print(f"  {role:8} token:   {credentials[role + '_token']}", highlight=False)
        console.print(f"  {'':8} sign in: {links[role]}", highlight=False)
    console.print(f"  learner id:     {people.learner_id}  (learner@zylker.example)")
    console.print(f"  database:       {redacted(settings.database_url)}", highlight=False)
    console.print(
        "\nOpen a sign-in link in a browser for the web interface (/ui): each works once, "
        "within 15 minutes. For another, run `lmsplans demo` again or `lmsplans ui link "
        "--org 'Zylker Corp' --user admin@zylker.example`.",
        highlight=False,
    )
    console.print(
        f"\nThe tokens expire at {expires:%Y-%m-%d %H:%M} UTC (in {_duration(ttl)}). For new "
        "ones, run `lmsplans demo` again: it keeps the data and mints fresh tokens. For a "
        "token that renews itself, make a self client (`lmsplans client create --org "
        "'Zylker Corp' --user admin@zylker.example`) and trade its refresh token at "
        "POST /oauth/v2/token (the Python client does it for you).",
        highlight=False,
    )
    url = f"{base_url}/api/v1/learners/{people.learner_id}/learning-plans/progress"
    header = f"Authorization: Zoho-oauthtoken {tokens.admin_token}"
    console.print("\nTry the reference endpoint:", highlight=False)
    console.print(f"  curl -s {shlex.quote(url)} -H {shlex.quote(header)}", highlight=False)
    if credentials_out:
        credentials_out.write_text(json.dumps(credentials, indent=2) + "\n")
        console.print(f"\nCredentials written to {credentials_out}")
    if not serve_after:
        return
    if _serving_lmsplans(base_url):
        console.print(
            f"\nlmsplans already answers on {base_url}, so no second server is started: if "
            "it serves this database, the new tokens work there now.",
            highlight=False,
        )
        return
    run_server(settings)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds >= 60:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def _serving_lmsplans(base_url: str) -> bool:
    """Whether an lmsplans server already answers at `base_url` (its `GET /` says so)."""
    try:
        response = httpx.get(base_url + "/", headers={"Accept": "application/json"}, timeout=2)
        return bool(response.json().get("service") == "lmsplans")
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


async def _demo_tokens(
    settings: Settings, *, learners: int
) -> tuple[DemoTokens, dict[str, str], int]:
    """The demo's tokens and a sign-in link for the admin, the manager and the learner."""
    from lmsplans.demo import build_demo, mint_demo_tokens
    from lmsplans.server.clock import Clock
    from lmsplans.server.sessions.schemas import SessionPolicy
    from lmsplans.server.sessions.service import create_sign_in_link

    async with migrated_database(settings) as db:
        now_ms = Clock().now_ms()
        people = await build_demo(db, now_ms=now_ms, learners=learners)
        tokens = await mint_demo_tokens(
            db, people=people, now_ms=now_ms, ttl_seconds=settings.access_token_ttl_seconds
        )
        links = {}
        for role, learner_id in (
            ("admin", people.admin_id),
            ("manager", people.manager_id),
            ("learner", people.learner_id),
        ):
            made = await create_sign_in_link(
                db,
                org_id=people.org_id,
                learner_id=learner_id,
                now_ms=now_ms,
                policy=SessionPolicy(),
            )
            links[role] = made.url(settings.base_url)
        return tokens, links, now_ms
