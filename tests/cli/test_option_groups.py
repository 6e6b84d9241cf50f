"""`with_option_groups`: a group's fields are a command's options, with the group's defaults
or those of the instance the command gives, and the command receives the group built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from lmsplans.cli.option_groups import with_option_groups


@dataclass(frozen=True)
class Target:
    host: Annotated[str, typer.Option(help="Where to.")]
    port: Annotated[int, typer.Option(help="Which port.")] = 80
    secure: Annotated[bool, typer.Option("--secure", help="Use TLS.")] = False


ALT = Target(host="unused", port=8443, secure=True)


def _app(command: typer.models.CommandFunctionType) -> typer.Typer:
    app = typer.Typer()
    app.command()(with_option_groups(command))
    app.command("other")(lambda: None)  # two commands: the command is named on the line
    return app


def test_the_fields_are_options_and_the_command_gets_the_group() -> None:
    seen: list[object] = []

    def go(name: str, *, target: Target, verbose: bool = False) -> None:
        seen.append((name, target, verbose))

    app = _app(go)
    result = CliRunner().invoke(app, ["go", "x", "--host", "h", "--secure", "--verbose"])
    assert result.exit_code == 0, result.output
    assert seen == [("x", Target(host="h", port=80, secure=True), True)]


def test_a_field_without_default_is_required() -> None:
    def go(*, target: Target) -> None:
        raise AssertionError("not run without --host")

    result = CliRunner().invoke(_app(go), ["go"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 2
    assert "Missing option '--host'" in result.output


def test_the_default_instance_gives_other_defaults() -> None:
    seen: list[Target] = []

    def go(*, target: Target = ALT) -> None:
        seen.append(target)

    app = _app(go)
    help_text = CliRunner().invoke(app, ["go", "--help"], env={"COLUMNS": "200"}).output
    assert "[default: 8443]" in help_text and "--host" in help_text
    assert CliRunner().invoke(app, ["go"]).exit_code == 0
    assert seen == [ALT]


def test_a_group_before_star_is_refused() -> None:
    def go(target: Target) -> None:
        pass

    with pytest.raises(TypeError, match="goes after"):
        with_option_groups(go)
