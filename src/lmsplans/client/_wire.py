"""Zoho's wire conventions, and records declared field by field from them.

The API follows Zoho's conventions: counts and ids are strings (`"30"`), some flags are strings
(`"disabled": "false"`), times are epoch milliseconds as strings and an absent time is the
string `"null"`. The converters here turn them into `int`, `bool`, timezone-aware UTC
`datetime` and `None`.

A record is declared once, each field naming the wire key it reads and how it converts::

    @record
    class Course(Record):
        course_id: str = wire("courseId", to_id)
        duration: int | None = wire("duration", to_int)
        raw: dict[str, Any] = raw_field()

and `Course.from_raw(answer)` builds it, keeping the record exactly as received in `.raw`.
Missing keys (Zoho's own answers carry fewer fields than this server's) read as None; a value
that does not convert raises `ValueError` naming the record, the field and the wire key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self, TypeVar, cast, dataclass_transform

__all__ = [
    "Record",
    "nested",
    "nested_list",
    "raw_field",
    "record",
    "to_bool",
    "to_datetime",
    "to_dict",
    "to_id",
    "to_ids",
    "to_int",
    "to_str",
    "to_text",
    "wire",
]

T = TypeVar("T")
R = TypeVar("R", bound="Record")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NULLS = frozenset({"", "null", "none", "undefined"})
_WIRE = "lmsplans.wire"  # the metadata key of a wire field


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NULLS)


def to_int(value: Any) -> int | None:
    """`"30"` or `30` -> 30; `"null"`, `""` or None -> None. Anything else raises ValueError."""
    if _is_null(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(f"not an integer: {value!r}")


def to_bool(value: Any) -> bool | None:
    """`true`/`"true"`/`"1"` -> True, `false`/`"false"`/`"0"` -> False, `"null"` -> None."""
    if _is_null(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
    raise ValueError(f"not a boolean: {value!r}")


def to_datetime(value: Any) -> datetime | None:
    """Epoch milliseconds (`"1755596717804"` or a number) -> an aware UTC datetime.

    `"null"`, `""` and None read as None. The conversion is exact to the millisecond.
    """
    millis = to_int(value)
    if millis is None:
        return None
    return _EPOCH + timedelta(milliseconds=millis)


def to_str(value: Any) -> str | None:
    """Any value as a string; `"null"`, `""` and None -> None."""
    return None if _is_null(value) else str(value)


def to_id(value: Any) -> str:
    """An id, always a string (ids are opaque, and may be larger than some languages' numbers);
    missing -> `""`."""
    return "" if value is None else str(value)


def to_text(value: Any) -> str | None:
    """Free text exactly as sent (a `"null"` description is the word null); not a string -> None."""
    return value if isinstance(value, str) else None


def to_ids(value: Any) -> tuple[str, ...]:
    """A list of ids -> a tuple of strings; not a list -> `()`."""
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def to_dict(value: Any) -> dict[str, Any] | None:
    """An object kept as it is; anything else -> None."""
    return value if isinstance(value, dict) else None


def nested(cls: type[R], *, required: bool = False) -> Callable[[Any], Any]:
    """A record inside the record: `cls` built from the object; a missing object reads as None,
    or, `required`, as an empty one (every field None)."""

    def convert(value: Any) -> R | None:
        if isinstance(value, dict):
            return cls.from_raw(value)
        return cls.from_raw({}) if required else None

    return convert


def nested_list(cls: type[R]) -> Callable[[Any], tuple[R, ...]]:
    """A list of records inside the record -> a tuple of `cls`; not a list -> `()`."""

    def convert(value: Any) -> tuple[R, ...]:
        items = value if isinstance(value, list) else []
        return tuple(cls.from_raw(item) for item in items if isinstance(item, dict))

    return convert


@dataclasses.dataclass(frozen=True, slots=True)
class _Wire:
    keys: tuple[str, ...]  # tried in turn, the first present and not empty wins; "a.b" nests
    convert: Callable[[Any], Any]

    def read(self, raw: dict[str, Any]) -> Any:
        value: Any = None
        for key in self.keys:
            value = _lookup(raw, key)
            if value:
                break
        return self.convert(value)


def _lookup(raw: dict[str, Any], key: str) -> Any:
    value: Any = raw
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def wire(key: str, convert: Callable[[Any], T], *, fallback: str | None = None) -> T:
    """A field read from the wire `key` and turned into Python by `convert`; `fallback`
    (`"planInfo.planId"`) is read when the key is missing or empty."""
    keys = (key,) if fallback is None else (key, fallback)
    return cast(T, dataclasses.field(metadata={_WIRE: _Wire(keys, convert)}))


def raw_field() -> dict[str, Any]:
    """The `.raw` field: the record exactly as received, left out of `repr` and `==`."""
    return cast(dict[str, Any], dataclasses.field(repr=False, compare=False))


class Record:
    """The base of every record: `from_raw` reads each declared wire field."""

    __slots__ = ()
    _wire_fields: ClassVar[tuple[tuple[str, _Wire], ...]] = ()
    raw: dict[str, Any]

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Self:
        """The record of one answer's object, with `raw` kept as it is."""
        values: dict[str, Any] = {}
        for name, spec in cls._wire_fields:
            try:
                values[name] = spec.read(raw)
            except ValueError as error:
                raise ValueError(f"{cls.__name__}.{name} ({spec.keys[0]!r}): {error}") from None
        return cast(Any, cls)(raw=raw, **values)  # type: ignore[no-any-return]


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, wire, raw_field))
def record(cls: type[R]) -> type[R]:
    """Make `cls` a frozen, slotted dataclass whose `from_raw` reads its wire fields."""
    made = cast(type[R], dataclasses.dataclass(frozen=True, slots=True)(cls))
    made._wire_fields = tuple(
        (f.name, f.metadata[_WIRE])
        for f in dataclasses.fields(cast(Any, made))
        if _WIRE in f.metadata
    )
    return made
