"""What a server process writes: its log records (stderr) and its access log (stdout).

Log records go through `logging`, configured by `logging_config` (text, or one JSON object
a line with `LMSPLANS_LOG_FORMAT=json`, uvicorn's own records included). The access log does
not: a `LogRecord` per request (caller lookup, thread name, a handler lock, a write call)
cost more than the rest of a cached answer's middleware, so `AccessLog` formats one line
itself and writes the lines in batches, at most `FLUSH_SECONDS` after they were answered.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from typing import Any

import orjson
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter
from starlette.types import Scope

ACCESS_LOGGER = "lmsplans.access"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class UtcFormatter(logging.Formatter):
    """Text records stamped like the access log: `2026-12-01T09:30:00.123Z`, in UTC."""

    converter = staticmethod(time.gmtime)
    default_time_format = _TIME_FORMAT
    default_msec_format = "%s.%03dZ"


class JsonFormatter(OrjsonFormatter):
    """JSON records (python-json-logger) stamped as the text ones are."""

    converter = staticmethod(time.gmtime)
    default_time_format = _TIME_FORMAT
    default_msec_format = "%s.%03dZ"


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server's records and uvicorn's (its `log_config`)."""
    formatter: dict[str, Any]
    if log_format == "json":
        formatter = {
            "()": JsonFormatter,
            "fmt": ["asctime", "levelname", "name", "message"],
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn adds a copy of its message with terminal colours: not for JSON.
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
    else:
        formatter = {"()": UtcFormatter, "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    logger = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        # uvicorn's access logger stays unused: `lmsplans serve` turns it off for ours.
        "loggers": {name: logger for name in ("lmsplans", "uvicorn", "uvicorn.error")},
    }


# Request paths written as they are: printable ASCII but `"` and `\\` (the rest is escaped).
_PLAIN = re.compile(rb"[\x21\x23-\x5b\x5d-\x7e]*")
_TEXT_LINE = b"%s.%03dZ INFO lmsplans.access: request=%s %s %s %s %d %.2fms"
_JSON_LINE = (
    b'{"time":"%s.%03dZ","level":"INFO","logger":"lmsplans.access","requestId":"%s",'
    b'"client":"%s","method":"%s","path":"%s","status":%d,"durationMs":%.2f}'
)


def _text_escaped(path: bytes) -> bytes:
    return path.decode("latin-1").encode("unicode_escape")


def _json_escaped(path: bytes) -> bytes:
    return orjson.dumps(path.decode("latin-1"))[1:-1]


class AccessLog:
    """One line per answered request: when, the request id, client, method, path (never the
    query string, which may carry secrets: the token endpoint's `client_secret`), status and
    time taken. Text or JSON lines, written to stdout in batches.

    A line is one bytes formatting of a fixed template (a dict for orjson and an f-string
    cost twice as much). What goes in unescaped is safe by construction: the request id
    (the middleware's own, or a client's that matched its safe pattern), the method (an
    HTTP token), the client's address; the path is escaped unless it is plain.
    """

    FLUSH_SECONDS = 0.5
    FLUSH_BYTES = 64 * 1024

    def __init__(self, *, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._template = _JSON_LINE if json_lines else _TEXT_LINE
        self._escaped = _json_escaped if json_lines else _text_escaped
        self._lines: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._second_text = b""

    def record(self, scope: Scope, *, request_id: str, status: int, seconds: float) -> None:
        """Keep the line of one answered request (called by the outermost middleware)."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime(_TIME_FORMAT, time.gmtime(second)).encode()
        client = scope.get("client")
        # The path as it came on the request line (percent-encoded), when the server says.
        path = scope.get("raw_path") or scope["path"].encode()
        if not _PLAIN.fullmatch(path):
            path = self._escaped(path)
        line = self._template % (
            self._second_text,
            (now - second) * 1000,
            request_id.encode(),
            client[0].encode() if client else b"-",
            scope["method"].encode(),
            path,
            status,
            seconds * 1000,
        )
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= self.FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write every kept line now (also when the app stops)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        lines, self._lines, self._size = self._lines, [], 0
        lines.append(b"")
        try:
            stream = sys.stdout.buffer
            stream.write(b"\n".join(lines))
            stream.flush()
        except (OSError, ValueError):  # stdout closed or gone: the lines cannot be kept
            pass
