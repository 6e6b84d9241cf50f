"""`lmsplans`: run the server, migrate, back up, load demo data, mint self clients, sign people
in to the web interface, and read progress through the API.

Server commands import the server lazily, so the client half works without its dependencies.
"""

from __future__ import annotations

from typing import Annotated

import typer

import lmsplans
from lmsplans.cli import (
    backup_commands,
    import_commands,
    org_commands,
    runtime,
    server_commands,
    ui_commands,
    worker_command,
)
from lmsplans.cli.client_commands import register as register_client_commands
from lmsplans.cli.demo_command import demo
from lmsplans.cli.events_command import events_app
from lmsplans.cli.webhook_commands import register as register_webhook_commands

app = typer.Typer(
    help="lmsplans: a learning-plan progress service that speaks the Zoho People LMS API.",
    no_args_is_help=True,
)
client_app = typer.Typer(help="Manage OAuth self clients.", no_args_is_help=True)
app.add_typer(client_app, name="client")


def _print_version(value: bool) -> None:
    if value:
        print(f"lmsplans {lmsplans.__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback when a command fails.")
    ] = False,
) -> None:
    """lmsplans: a learning-plan progress service that speaks the Zoho People LMS API."""
    runtime.debugging.set(debug)


server_commands.register(app, client_app)  # serve, migrate, client create
org_commands.register(app)  # org create, list, rename
import_commands.register(app)  # import learners, import plans
app.command()(demo)
backup_commands.register(app)  # backup, restore
ui_commands.register(app)  # ui link, ui password
app.command()(worker_command.worker)
register_client_commands(app)  # progress, export: the client half (no server imports)
register_webhook_commands(app)  # webhooks listen (the client half too)
app.add_typer(events_app, name="events")  # events tail: the client half too


def main() -> None:
    app()
