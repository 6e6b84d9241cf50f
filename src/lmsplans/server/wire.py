"""The Zoho wire conventions, once for every domain: how values and answers are written.

Ids, counts and times (epoch milliseconds) are decimal strings, an absent one is the
string `"null"`, and a success answer is the data keys followed by `"message"` and
`"status": 200`, as in the reference sample. The types below describe those strings in the
OpenAPI description (`*/schemas.py` build their records from them); the functions write
them. Every domain imports this module; none imports another domain for it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from starlette.responses import Response

# The largest integer storage holds (SQLite and PostgreSQL store 64-bit signed integers):
# every number that comes in is checked against it (or a tighter bound) before it is used.
MAX_INT64 = 2**63 - 1
# The largest value of a 32-bit INTEGER column (PostgreSQL's `integer`).
MAX_INT32 = 2**31 - 1


def zoho_str(value: int | None) -> str:
    """An id, count or time as Zoho writes it: a decimal string; `"null"` when absent."""
    return "null" if value is None else str(value)


def zoho_state(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored state (an event's `before` or `after`) as the wire writes it: its ids,
    counts and times decimal strings, an absent one `"null"`; flags and text as they are."""
    if state is None:
        return None
    return {
        key: (
            value
            if isinstance(value, bool | str)
            else zoho_str(value)
            if value is None or isinstance(value, int)
            else value
        )
        for key, value in state.items()
    }


def ok_body(data: dict[str, Any], message: str) -> bytes:
    """The success envelope, encoded: the data keys, then `message` and `status` as in the
    reference."""
    data["message"] = message
    data["status"] = 200
    return orjson.dumps(data)


def ok(data: dict[str, Any], message: str) -> Response:
    """The success envelope (see `ok_body`)."""
    return encoded_response(ok_body(data, message))


def ok_page(name: str, records: list[Any], more: bool, message: str) -> Response:
    """The success envelope of one page of a list: its records under `name`, then whether
    another page follows (`isNextAvailable`)."""
    return ok({name: records, "isNextAvailable": more}, message)


class ShownOnce(Response):
    """A success answer that holds a secret shown once. Its request's idempotent replay
    answers `replay_body` instead (`http.transactional` stores only that): the same answer
    with the secret left out (null), so no secret is ever kept in the clear."""

    def __init__(self, body: bytes, *, replay_body: bytes) -> None:
        super().__init__(body, media_type="application/json")
        self.replay_body = replay_body


def ok_shown_once(data: dict[str, Any], message: str, *, record: str, field: str) -> ShownOnce:
    """The success envelope of `data`, whose `data[record][field]` (a secret) is shown once
    (`ShownOnce`): a replay answers it as null."""
    replay = {**data, record: {**data[record], field: None}}
    return ShownOnce(
        ok_body(data, message),
        replay_body=ok_body(replay, f"{message}; the secret was shown only in the first answer"),
    )


def json_response(
    data: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer outside the Zoho envelope (OAuth, operations)."""
    return encoded_response(orjson.dumps(data), status_code, headers)


def encoded_response(
    body: bytes, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer already encoded (kept between requests, say)."""
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")


def is_decimal_id(text: str) -> bool:
    """Whether `text` is written as an id is: ASCII decimal digits only."""
    return text.isascii() and text.isdigit()


def out_of_range(text: str) -> bool:
    """Whether `text`, a decimal id, is beyond what storage holds (`MAX_INT64`)."""
    digits = text.lstrip("0")
    return is_decimal_id(text) and (len(digits) > 19 or int(digits or "0") > MAX_INT64)


def _at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0 to `limit` (leading zeros allowed)."""
    top = str(limit)
    shorter = f"[0-9]{{1,{len(top) - 1}}}" if len(top) > 1 else ""
    same_length = []
    for i, digit in enumerate(top):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            rest = len(top) - i - 1
            same_length.append(f"{top[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    same_length.append(top)
    return "^0*(?:" + "|".join(filter(None, [shorter, *same_length])) + ")$"


# A decimal id as it may come in (path, query, payload): 0 to MAX_INT64 (400 7204 beyond).
DECIMAL_ID_PATTERN = _at_most(MAX_INT64)


# --- The documented strings (OpenAPI); `extra="forbid"` keeps the records honest -------------

Digits = Annotated[str, Field(pattern=r"^[0-9]+$")]
ZohoId = Annotated[str, Field(pattern=r"^[0-9]+$", description="A decimal id, as a string")]
EpochMs = Annotated[str, Field(pattern=r"^[0-9]+$", description="Epoch milliseconds")]
ZohoTime = Annotated[
    str,
    Field(pattern=r"^([0-9]+|null)$", description='Epoch milliseconds; "null" when absent'),
]
Percent = Annotated[str, Field(pattern=r"^(100|[1-9]?[0-9])$", description="0 to 100")]
OptionalId = Annotated[
    str, Field(pattern=r"^([0-9]+|null)$", description='A decimal id; "null" when absent')
]


# --- Flags in payloads: JSON booleans, never 1, "yes" or "on" ------------------------------

Flag = Annotated[bool, Strict(), Field(description="A JSON boolean")]


def _flag_text(value: Any) -> Any:
    """Zoho's string forms of a flag ("true", "false") as the booleans they stand for."""
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


# A flag Zoho also writes as a string (`"disabled": "false"`): a JSON boolean, or exactly
# "true" or "false".
ZohoFlag = Annotated[
    bool,
    BeforeValidator(_flag_text),
    Strict(),
    WithJsonSchema(
        {
            "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}],
            "description": 'A JSON boolean, or Zoho\'s string form "true" or "false"',
        }
    ),
]


# --- Numbers and ids that come in: bounded before they reach storage --------------------------


def _not_a_flag(value: Any) -> Any:
    # pydantic takes true and false for 1 and 0; a number field takes numbers (and, as it
    # always did, their decimal strings).
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


# A number that comes in is never a JSON boolean. Declared after its bounds, as in
# `Annotated[int, Field(ge=0, le=100), NotAFlag]`: after them, the bounds still show in the
# description as `minimum` and `maximum`.
NotAFlag = BeforeValidator(_not_a_flag)
# A JSON integer id: 1 to MAX_INT64 (a decimal string is accepted too, as pydantic does).
IdIn = Annotated[int, Field(ge=1, le=MAX_INT64), NotAFlag]
# A time in epoch milliseconds.
EpochMsIn = Annotated[int, Field(ge=0, le=MAX_INT64), NotAFlag]


def _ref_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _ref_in_range(ref: str) -> str:
    if out_of_range(ref.strip()):
        raise ValueError(f"must be at most {MAX_INT64} when it is a number")
    return ref


# How a learner may be named: a userId (erecno) or zuid, or an email address.
LEARNER_REF_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DECIMAL_ID_PATTERN},
        {"type": "string", "pattern": "@", "maxLength": 320},
    ],
    "description": "A userId (erecno), zuid or email address.",
}

# A learner named in a payload. Ids may come as JSON numbers; a number beyond what storage
# holds is refused (400 7204), never looked up. One type, not `str | int`, so a bad item's
# error names the item, not each union member.
LearnerRefIn = Annotated[
    str,
    BeforeValidator(_ref_text),
    AfterValidator(_ref_in_range),
    Field(min_length=1, max_length=320),
    WithJsonSchema(
        {
            **LEARNER_REF_SCHEMA,
            "anyOf": [
                *LEARNER_REF_SCHEMA["anyOf"],
                {"type": "integer", "minimum": 0, "maximum": MAX_INT64},
            ],
        }
    ),
]


class Patch(BaseModel):
    """A PATCH payload: an absent field stays as it is, and `null` clears a field only where
    `nullable` names it (elsewhere it is 400 7204, "may not be null"); the description says
    so (no `null` in those fields' schemas)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for name, prop in handler.resolve_ref_schema(schema).get("properties", {}).items():
            options = prop.get("anyOf", [])
            if name in cls.nullable or {"type": "null"} not in options:
                continue
            prop.pop("default", None)
            kept = [option for option in options if option != {"type": "null"}]
            del prop["anyOf"]
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
        return schema


class ClosedRecord(BaseModel):
    """A documented JSON object with its declared fields and no other (`extra="forbid"`):
    an answer says no more than its description, a payload may send no more."""

    model_config = ConfigDict(extra="forbid")


class ZohoRecord(ClosedRecord):
    """A record of Zoho's API, in its conventions (see the module docstring)."""


class Envelope(ZohoRecord):
    """The success envelope: the data keys, then `message` and `status`."""

    message: str
    status: Literal[200]
