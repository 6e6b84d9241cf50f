"""What the client commands share: their consoles, the connection and pacing options (each
with its `LMSPLANS_*` variable), and the client built from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from lmsplans.client import Client

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

_CONNECTION = "Connection"
BaseUrl = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_BASE_URL",
        help="The API's base URL, e.g. http://127.0.0.1:8000 (else the --dc's People host).",
        rich_help_panel=_CONNECTION,
    ),
]
AccountsUrl = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_ACCOUNTS_URL",
        help="The token endpoint's base URL \\[default: --base-url, or the --dc's Accounts host].",
        rich_help_panel=_CONNECTION,
    ),
]
Dc = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_DC",
        help="Zoho data centre: com, eu, in, com.au, jp, ca, sa, uk, com.cn \\[default: com].",
        rich_help_panel=_CONNECTION,
    ),
]
AccessToken = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_ACCESS_TOKEN",
        help="An access token (or use a refresh token with a client id and secret).",
        rich_help_panel=_CONNECTION,
    ),
]
RefreshToken = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_REFRESH_TOKEN",
        help="A refresh token; access tokens are then minted as needed.",
        rich_help_panel=_CONNECTION,
    ),
]
ClientId = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_CLIENT_ID", help="The OAuth client id.", rich_help_panel=_CONNECTION
    ),
]
ClientSecret = Annotated[
    str | None,
    typer.Option(
        envvar="LMSPLANS_CLIENT_SECRET",
        help="The OAuth client secret.",
        rich_help_panel=_CONNECTION,
    ),
]

_PACING = "Pacing"
Threshold = Annotated[
    int,
    typer.Option(
        min=1,
        help="Calls per window per API until the server announces its own (RateLimit-Policy).",
        rich_help_panel=_PACING,
    ),
]
Window = Annotated[
    float,
    typer.Option(min=0.001, help="The window of --threshold, in seconds.", rich_help_panel=_PACING),
]
Lock = Annotated[
    float,
    typer.Option(
        min=0,
        help="Seconds to wait after a 429 that does not say how long (Zoho: 300).",
        rich_help_panel=_PACING,
    ),
]
MaxRetries = Annotated[
    int,
    typer.Option(
        min=0, help="Retries of a call on 5xx answers and network errors.", rich_help_panel=_PACING
    ),
]

Headroom = Annotated[
    int,
    typer.Option(
        min=0,
        help="Calls of each window left free for a person's manual call with the same user.",
        rich_help_panel=_PACING,
    ),
]


def connect(
    *,
    base_url: str | None,
    accounts_url: str | None,
    dc: str | None,
    access_token: str | None,
    refresh_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    threshold: int = 30,
    window: float = 60.0,
    lock: float = 300.0,
    max_retries: int = 2,
    headroom: int = 1,
) -> Client:
    """The client of these options; a bad option ends the command with exit status 2."""
    from lmsplans.client import Client, LmsPlansError, RateLimitPolicy

    try:
        return Client(
            base_url=base_url,
            accounts_url=accounts_url,
            dc=dc,
            access_token=access_token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            max_retries=max_retries,
            rate_limit=RateLimitPolicy(threshold, window, lock),
            pacing_headroom=headroom,
        )
    except LmsPlansError as error:
        errors.print(f"[red]{escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(2) from None


def fail(error: Exception) -> typer.Exit:
    """Say what went wrong, briefly; the exit (status 1) to raise."""
    errors.print(f"[red]Error:[/red] {escape(str(error))}", highlight=False)
    return typer.Exit(1)
