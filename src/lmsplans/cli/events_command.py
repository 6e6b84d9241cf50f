"""`lmsplans events tail`: the organisation's events as they are committed (the client half:
it imports nothing of the server)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lmsplans.cli.client_commands import command_help
from lmsplans.cli.client_options import (
    Connection,
    connect,
    errors,
    fail,
)
from lmsplans.cli.option_groups import with_option_groups

events_app = typer.Typer(help="The organisation's change feed (admins).", no_args_is_help=True)


def _line(event: object) -> str:
    """One event on one line: when, what, the ids involved."""
    from lmsplans.client import Event

    assert isinstance(event, Event)
    when = event.occurred_time.isoformat(timespec="milliseconds") if event.occurred_time else ""
    ids = " ".join(
        f"{name}={value}"
        for name, value in (
            ("learner", event.learner_id),
            ("plan", event.plan_id),
            ("course", event.course_id),
        )
        if value
    )
    return f"{when}  {event.type}  {ids}  id={event.id}".rstrip()


@with_option_groups
def tail(
    after: Annotated[
        str | None, typer.Option(help="Start after this cursor (printed when the command stops).")
    ] = None,
    types: Annotated[
        str | None,
        typer.Option(help="Only these types: a comma list, * for any part (plan.enrollment.*)."),
    ] = None,
    from_start: Annotated[
        bool,
        typer.Option("--from-start", help="Start at the oldest kept event instead of the newest."),
    ] = False,
    follow: Annotated[
        bool, typer.Option(help="Keep waiting for new events (--no-follow: stop when caught up).")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    *,
    connection: Connection,
) -> None:
    """Print the organisation's events as they are committed, in commit order.

    By default it starts with what is committed from now on (--from-start: the oldest kept
    event; --after: a cursor). It long-polls the feed, so an event is printed within moments
    of its write. On Ctrl-C (or --no-follow, once caught up) it prints the cursor to go on
    from with --after, on stderr.
    """
    from lmsplans.client import LmsPlansError

    client = connect(connection)
    cursor = after
    try:
        with client:
            if cursor is None and not from_start:
                cursor = "latest"  # the end of the feed as it is now
            feed = client.events.iter(after=cursor, types=types, follow=follow)
            try:
                for event in feed:
                    print(json.dumps(event.raw) if json_output else _line(event), flush=True)
            finally:
                cursor = feed.cursor
    except KeyboardInterrupt:
        pass
    except LmsPlansError as error:
        raise fail(error) from None
    if cursor is not None:
        errors.print(f"Go on with: --after {cursor}", highlight=False)


events_app.command("tail", help=command_help(tail))(tail)
