"""Options declared once for several commands.

An option group is a frozen dataclass whose fields are typer options
(`name: Annotated[T, typer.Option(...)] = default`). A command takes the whole group as one
keyword-only parameter, and `@with_option_groups` shows typer the group's fields as the
command's own options, in the group's order where the parameter stands, then hands the
command the group built from them::

    @with_option_groups
    def export(out: ..., *, connection: Connection, pacing: Pacing = EXPORT_PACING) -> None:

The group's defaults are the options' defaults (a field without one is a required option); an
instance given as the parameter's default (`EXPORT_PACING`) gives that command's options
other defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

__all__ = ["with_option_groups"]

R = TypeVar("R")


def _is_group(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _default(field: dataclasses.Field[Any], given: Any) -> Any:
    """The option's default: the given instance's value, else the field's (none: required)."""
    if given is not inspect.Parameter.empty:
        return getattr(given, field.name)
    if field.default is not dataclasses.MISSING:
        return field.default
    return inspect.Parameter.empty


def with_option_groups(command: Callable[..., R]) -> Callable[..., R]:
    """`command` with each option-group parameter shown to typer as the group's options."""
    signature = inspect.signature(command, eval_str=True)
    shown: list[inspect.Parameter] = []
    groups: dict[str, tuple[type[Any], list[str]]] = {}
    for parameter in signature.parameters.values():
        group = parameter.annotation
        if not _is_group(group):
            shown.append(parameter)
            continue
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{command.__name__}: the option group {parameter.name} goes after *")
        hints = get_type_hints(group, include_extras=True)
        fields = dataclasses.fields(group)
        shown.extend(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=_default(field, parameter.default),
                annotation=hints[field.name],
            )
            for field in fields
        )
        groups[parameter.name] = (group, [field.name for field in fields])

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> R:
        for name, (group, names) in groups.items():
            kwargs[name] = group(**{field: kwargs.pop(field) for field in names})
        return command(*args, **kwargs)

    # typer reads the parameters from the signature and their types from the annotations.
    run.__signature__ = signature.replace(parameters=shown)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in shown}
    run.__annotations__["return"] = signature.return_annotation
    return run
