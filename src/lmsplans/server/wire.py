"""The Zoho wire conventions, once for every domain: how values and answers are written.

Ids, counts and times (epoch milliseconds) are decimal strings, an absent one is the
string `"null"`, and a success answer is the data keys followed by `"message"` and
`"status": 200`, as in the reference sample. The types below describe those strings in the
OpenAPI description (`*/schemas.py` build their records from them); the functions write
them. Every domain imports this module; none imports another domain for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema
from starlette.responses import Response


def zoho_str(value: int | None) -> str:
    """An id, count or time as Zoho writes it: a decimal string; `"null"` when absent."""
    return "null" if value is None else str(value)


def ok_body(data: dict[str, Any], message: str) -> bytes:
    """The success envelope, encoded: the data keys, then `message` and `status` as in the
    reference."""
    data["message"] = message
    data["status"] = 200
    return orjson.dumps(data)


def ok(data: dict[str, Any], message: str) -> Response:
    """The success envelope (see `ok_body`)."""
    return encoded_response(ok_body(data, message))


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


class ZohoRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Envelope(ZohoRecord):
    """The success envelope: the data keys, then `message` and `status`."""

    message: str
    status: Literal[200]
