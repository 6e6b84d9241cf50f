"""`lmsplans backup FILE` and `lmsplans restore FILE` (SQLite; PostgreSQL has pg_dump)."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lmsplans.cli.runtime import (
    ExitStatus,
    Failure,
    console,
    load_settings,
    prepare_database,
    server_command,
)

if TYPE_CHECKING:
    from lmsplans.server.settings import Settings


def _sqlite_file(settings: Settings, *, job: str, file: Path) -> Path:
    """The database file, or a `Failure` saying how to do the job on PostgreSQL."""
    from lmsplans.server.db.sqlite import sqlite_path
    from lmsplans.server.settings import redacted

    if settings.database_url.startswith("sqlite:"):
        return sqlite_path(settings.database_url).absolute()
    url = shlex.quote(redacted(settings.database_url, mask=None))
    name = shlex.quote(str(file))
    if job == "backup":
        how = (
            f"back it up with pg_dump, consistent while servers write:\n"
            f"  pg_dump --format=custom --file={name} {url}"
        )
    else:
        how = (
            "stop every server, then restore with pg_restore (it replaces what the backup "
            f"holds):\n  pg_restore --clean --if-exists --no-owner --dbname={url} {name}"
        )
    has_password = redacted(settings.database_url) != settings.database_url
    hidden = (
        " (the password is left out: give it in PGPASSWORD or ~/.pgpass)" if has_password else ""
    )
    raise Failure(
        f"The database is PostgreSQL, whose own tools do this: {how}\n"
        f"See docs/running.md, 'Backups'{hidden}.",
        ExitStatus.USAGE,
    )


@server_command
def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write.", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Copy the SQLite database to FILE, consistently, even while servers write to it."""
    from lmsplans.server.ops.backup import BackupError
    from lmsplans.server.ops.backup import backup as copy_database

    settings = load_settings()
    database = _sqlite_file(settings, job="backup", file=file)
    try:
        taken = copy_database(database, file.absolute(), overwrite=force)
    except (BackupError, OSError) as exc:
        raise Failure(str(exc)) from exc
    console.print(f"Backed up {database} to {taken.path}: {taken.describe()}.", highlight=False)


@server_command
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `lmsplans backup`.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Restore even while a server has the database open (it sees the "
            "backup's data at once).",
        ),
    ] = False,
) -> None:
    """Replace the SQLite database's content with a backup (the old one is kept beside it)."""
    from lmsplans.server.ops.backup import BackupError, announce_restore, in_use
    from lmsplans.server.ops.backup import restore as copy_back

    settings = load_settings()
    database = _sqlite_file(settings, job="restore", file=file)
    try:
        busy = in_use(database)
        if busy and not force:
            raise Failure(
                f"{database} is open in another process (a running server?): stop it first, "
                "or pass --force to restore into the live database. Nothing was changed."
            )
        done = copy_back(file.absolute(), database)
    except (BackupError, OSError) as exc:
        raise Failure(str(exc)) from exc
    asyncio.run(prepare_database(settings))  # a backup of an older schema is migrated
    if done.announce_after is not None:  # from before the change log: now it has one
        announce_restore(database, after=done.announce_after)
    console.print(
        f"Restored {done.backup.path} into {database}: {done.backup.describe()}.",
        highlight=False,
    )
    if done.previous is not None:
        console.print(f"The database it replaced is saved at {done.previous}.", highlight=False)
    if busy:
        console.print("A server had it open: its next requests see the restored data.")


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
