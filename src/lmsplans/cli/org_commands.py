"""`lmsplans org create`, `org list` and `org rename`: starting from an empty database.

`org create` makes an organisation and its first admin, and prints that admin's self client
(as `client create` does) and a one-time sign-in link for the web interface. Run again with
the same name, it says the organisation exists and changes nothing (status 0 when the admin
asked for is one of its admins, so a provisioning script can run it every time).
"""

from __future__ import annotations

import asyncio
import json
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from lmsplans.cli.runtime import (
    ExitStatus,
    Failure,
    console,
    errors,
    load_settings,
    migrated_database,
    server_command,
    why_invalid,
)
from lmsplans.cli.server_commands import mint_self_client, organisation_id, print_self_client

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from lmsplans.server.settings import Settings

org_app = typer.Typer(
    help="Organisations: create one with its first admin, list them, rename one.",
    no_args_is_help=True,
)

BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        help="The server's address as people reach it, for the sign-in link and the client "
        "[default: LMSPLANS_PUBLIC_URL, or http://LMSPLANS_HOST:LMSPLANS_PORT].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON only.")]


def checked(model: type[BaseModel], options: dict[str, str], values: dict[str, Any]) -> Any:
    """`values` as `model`, or a `Failure` (status 65) naming each bad option in one line;
    `options` maps the model's fields to the options that gave them."""
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{options.get(str(error['loc'][0]), str(error['loc'][0]))} {why_invalid(error)}"
            for error in exc.errors(include_url=False)
        )
        raise Failure(f"Invalid {problems}", ExitStatus.INVALID) from None


def sign_in_url(base_url: str, token: str) -> str:
    """The web interface's one-time sign-in address for a link's token
    (`sessions.schemas.sign_in_url`, the one place that builds it)."""
    from lmsplans.server.sessions.schemas import sign_in_url as address

    return address(base_url, token)


@dataclass(frozen=True)
class _Created:
    org_id: int
    org_name: str
    created: bool
    admin_id: int | None
    client: dict[str, str | int] | None
    link_token: str | None
    link_expires_ms: int | None


@server_command
def org_create(
    name: Annotated[str, typer.Option(help="The organisation's name (unique, ignoring case).")],
    admin_email: Annotated[str, typer.Option(help="Its first admin's email address.")],
    admin_name: Annotated[
        str | None, typer.Option(help="The admin's name [default: the email's local part].")
    ] = None,
    admin_employee_id: Annotated[
        str | None,
        typer.Option(help="The admin's employee id [default: the email; an import sets it]."),
    ] = None,
    base_url: BaseUrlOption = None,
    json_output: JsonOption = False,
    export: Annotated[
        bool,
        typer.Option(
            "--export",
            help="Print only the shell's `export` line on stdout (the rest goes to stderr), "
            'for `eval "$(lmsplans org create ... --export)"`.',
        ),
    ] = False,
) -> None:
    """Create an organisation and its first admin; print the admin's self client and a
    sign-in link (once). The same name again changes nothing."""
    from lmsplans.server.organisations.schemas import NewOrganisation

    data = checked(
        NewOrganisation,
        {
            "name": "--name",
            "adminEmail": "--admin-email",
            "adminName": "--admin-name",
            "adminEmployeeId": "--admin-employee-id",
        },
        {
            "name": name,
            "adminEmail": admin_email,
            "adminName": admin_name,
            "adminEmployeeId": admin_employee_id,
        },
    )
    settings = load_settings()
    url = (base_url or settings.base_url).rstrip("/")
    result = asyncio.run(_create(settings, data))
    if json_output:
        print(json.dumps(_as_json(result, data.adminEmail, url), indent=2))
    out = errors if export else console
    if not result.created:
        _say_exists(result, data.adminEmail, quiet=json_output, out=out)
        return
    if json_output:
        return
    out.print(
        f"[bold]Organisation {result.org_name!r} created[/bold] (id {result.org_id}), with "
        f"its first admin {data.adminEmail.lower()} (userId {result.admin_id}).",
        highlight=False,
    )
    assert result.client is not None and result.link_token is not None
    print_self_client(result.client, out=out)
    out.print(
        f"Sign-in link for {data.adminEmail.lower()} (valid {_link_minutes()} minutes, usable "
        "once; `lmsplans org create` does not make another):",
        highlight=False,
    )
    out.print(f"  {sign_in_url(url, result.link_token)}", highlight=False)
    line = "export " + " ".join(
        f"{key}={shlex.quote(str(value))}"
        for key, value in {
            "LMSPLANS_BASE_URL": url,
            "LMSPLANS_ACCESS_TOKEN": result.client["access_token"],
            "LMSPLANS_CLIENT_ID": result.client["client_id"],
            "LMSPLANS_CLIENT_SECRET": result.client["client_secret"],
            "LMSPLANS_REFRESH_TOKEN": result.client["refresh_token"],
        }.items()
    )
    if export:
        print(line)
        out.print("The client's credentials are in this shell's environment now.")
        return
    out.print(
        "For the command line (`lmsplans progress`, `export`), paste this into your shell "
        "(the client renews the access token with the refresh token):",
        highlight=False,
    )
    out.print(f"  {line}", highlight=False)


def _link_minutes() -> int:
    from lmsplans.server.sessions.schemas import SessionPolicy

    return SessionPolicy().link_ttl_ms // 60_000


def _say_exists(result: _Created, admin_email: str, *, quiet: bool, out: Console) -> None:
    """Nothing changed: status 0 when the admin asked for is an admin there, else 1."""
    email = admin_email.lower()
    if result.admin_id is None:
        raise Failure(
            f"Organisation {result.org_name!r} exists already (id {result.org_id}), and "
            f"{email} is not one of its active admins: nothing changed.",
        )
    if not quiet:
        out.print(
            f"Organisation {result.org_name!r} exists already (id {result.org_id}), with "
            f"{email} as an admin: nothing changed. For a new self client: lmsplans client "
            f"create --org {shlex.quote(result.org_name)} --user {email}",
            highlight=False,
        )


def _as_json(result: _Created, admin_email: str, base_url: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "created": result.created,
        "organisation": {"id": str(result.org_id), "name": result.org_name},
        "admin": {
            "userId": None if result.admin_id is None else str(result.admin_id),
            "emailId": admin_email.lower(),
        },
    }
    if result.client is not None and result.link_token is not None:
        expires = datetime.fromtimestamp((result.link_expires_ms or 0) / 1000, UTC)
        answer["client"] = result.client
        answer["signInLink"] = {
            "url": sign_in_url(base_url, result.link_token),
            "expiresAt": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    return answer


async def _create(settings: Settings, data: Any) -> _Created:
    from lmsplans.server.clock import Clock
    from lmsplans.server.organisations.service import create_organisation_with_admin
    from lmsplans.server.sessions.schemas import SessionPolicy
    from lmsplans.server.sessions.service import create_sign_in_link

    now_ms = Clock().now_ms()
    async with migrated_database(settings) as db:
        async with db.transaction() as conn:
            founded = await create_organisation_with_admin(
                conn, data=data, source="cli", now_ms=now_ms
            )
            org = founded.organisation
            if not founded.created:
                return _Created(org.id, org.name, False, founded.admin_id, None, None, None)
            assert founded.admin_id is not None
            client = await mint_self_client(conn, settings, org_id=org.id, user_id=founded.admin_id)
        # Its own transaction, after the organisation is there (the service opens it).
        link = await create_sign_in_link(
            db, org_id=org.id, learner_id=founded.admin_id, now_ms=now_ms, policy=SessionPolicy()
        )
    return _Created(org.id, org.name, True, founded.admin_id, client, link.token, link.expires_ms)


@server_command
def org_list(json_output: JsonOption = False) -> None:
    """List the organisations, with their learners and admins."""
    settings = load_settings()
    summaries = asyncio.run(_list(settings))
    if json_output:
        records = [
            {
                "id": str(s.organisation.id),
                "name": s.organisation.name,
                "activeLearners": s.learners,
                "inactiveLearners": s.inactive,
                "admins": s.admins,
                "createdTime": str(s.organisation.created_ms),
            }
            for s in summaries
        ]
        print(json.dumps(records, indent=2))
        return
    if not summaries:
        console.print("No organisation yet: `lmsplans org create --name ... --admin-email ...`.")
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("Id", "Name", "Learners", "Inactive", "Admins", "Created"):
        table.add_column(column, justify="right" if column != "Name" else "left")
    for s in summaries:
        created = datetime.fromtimestamp(s.organisation.created_ms / 1000, UTC)
        table.add_row(
            str(s.organisation.id),
            s.organisation.name,
            str(s.learners),
            str(s.inactive),
            str(s.admins),
            f"{created:%Y-%m-%d}",
        )
    console.print(table)


async def _list(settings: Settings) -> list[Any]:
    from lmsplans.server.organisations.queries import list_organisations

    async with migrated_database(settings) as db, db.read() as conn:
        return await list_organisations(conn)


@server_command
def org_rename(
    org: Annotated[str, typer.Argument(help="The organisation: its name or id.")],
    new_name: Annotated[str, typer.Argument(help="Its new name.")],
) -> None:
    """Rename an organisation (run again, it changes nothing)."""
    from lmsplans.server.organisations.schemas import OrganisationName

    name = checked(OrganisationName, {"name": "NEW_NAME"}, {"name": new_name}).name
    settings = load_settings()
    console.print(asyncio.run(_rename(settings, org, name)), highlight=False)


async def _rename(settings: Settings, org: str, name: str) -> str:
    from lmsplans.server.clock import Clock
    from lmsplans.server.errors import Conflict
    from lmsplans.server.organisations.queries import find_organisation
    from lmsplans.server.organisations.service import rename_organisation
    from lmsplans.server.writes import WriteContext

    async with migrated_database(settings) as db, db.transaction() as conn:
        if await find_organisation(conn, ref=org) is None:
            renamed = await find_organisation(conn, ref=name)
            if renamed is not None and renamed.name == name:
                # Run again after it worked: what was asked holds.
                return f"Organisation {name!r} exists and none is named {org!r}: nothing to do."
        org_id = await organisation_id(conn, org)
        write = WriteContext(org_id=org_id, actor_id=None, source="cli", now_ms=Clock().now_ms())
        try:
            changed = await rename_organisation(conn, write=write, name=name)
        except Conflict as error:
            raise Failure(f"{error.message}: nothing changed.") from None
    if not changed:
        return f"Organisation {name!r} has that name already: nothing changed."
    return f"Organisation {org!r} is now {name!r}."


def register(app: typer.Typer) -> None:
    app.add_typer(org_app, name="org")
    org_app.command("create")(org_create)
    org_app.command("list")(org_list)
    org_app.command("rename")(org_rename)
