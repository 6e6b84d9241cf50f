"""What the client commands share: their consoles, the connection and pacing options (option
groups, see `option_groups`; the connection's each with its `LMSPLANS_*` variable), and the
client built from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from lmsplans.client import Client

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

_CONNECTION = "Connection"
_PACING = "Pacing"


@dataclass(frozen=True)
class Connection:
    """Where the API is and how to sign in: the options of every client command."""

    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_BASE_URL",
            help="The API's base URL, e.g. http://127.0.0.1:8000 (else the --dc's People host).",
            rich_help_panel=_CONNECTION,
        ),
    ] = None
    accounts_url: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_ACCOUNTS_URL",
            help="The token endpoint's base URL \\[default: --base-url, or the --dc's Accounts "
            "host].",
            rich_help_panel=_CONNECTION,
        ),
    ] = None
    dc: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_DC",
            help="Zoho data centre: com, eu, in, com.au, jp, ca, sa, uk, com.cn \\[default: com].",
            rich_help_panel=_CONNECTION,
        ),
    ] = None
    access_token: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_ACCESS_TOKEN",
            help="An access token (or use a refresh token with a client id and secret).",
            rich_help_panel=_CONNECTION,
        ),
    ] = None
    refresh_token: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_REFRESH_TOKEN",
            help="A refresh token; access tokens are then minted as needed.",
            rich_help_panel=_CONNECTION,
        ),
    ] = None
    client_id: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_CLIENT_ID", help="The OAuth client id.", rich_help_panel=_CONNECTION
        ),
    ] = None
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="LMSPLANS_CLIENT_SECRET",
            help="The OAuth client secret.",
            rich_help_panel=_CONNECTION,
        ),
    ] = None


@dataclass(frozen=True)
class Pacing:
    """How calls are paced and retried: the options of the long-running client commands."""

    threshold: Annotated[
        int,
        typer.Option(
            min=1,
            help="Calls per window per API until the server announces its own (RateLimit-Policy).",
            rich_help_panel=_PACING,
        ),
    ] = 30
    window: Annotated[
        float,
        typer.Option(
            min=0.001, help="The window of --threshold, in seconds.", rich_help_panel=_PACING
        ),
    ] = 60.0
    lock: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to wait after a 429 that does not say how long (Zoho: 300).",
            rich_help_panel=_PACING,
        ),
    ] = 300.0
    max_retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Retries of a call on 5xx answers and network errors.",
            rich_help_panel=_PACING,
        ),
    ] = 2
    headroom: Annotated[
        int,
        typer.Option(
            min=0,
            help="Calls of each window left free for a person's manual call with the same user.",
            rich_help_panel=_PACING,
        ),
    ] = 1


DEFAULT_PACING = Pacing()


def connect(connection: Connection, pacing: Pacing = DEFAULT_PACING) -> Client:
    """The client of these options; a bad option ends the command with exit status 2."""
    from lmsplans.client import Client, LmsPlansError, RateLimitPolicy

    try:
        return Client(
            **asdict(connection),  # its options are named as the client's arguments
            max_retries=pacing.max_retries,
            rate_limit=RateLimitPolicy(pacing.threshold, pacing.window, pacing.lock),
            pacing_headroom=pacing.headroom,
        )
    except LmsPlansError as error:
        errors.print(f"[red]{escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(2) from None


def fail(error: Exception) -> typer.Exit:
    """Say what went wrong, briefly; the exit (status 1) to raise."""
    errors.print(f"[red]Error:[/red] {escape(str(error))}", highlight=False)
    return typer.Exit(1)
