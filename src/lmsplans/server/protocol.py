"""The HTTP protocol `lmsplans serve` runs: uvicorn's httptools protocol with the limits it
lacks.

uvicorn bounds idle keep-alive connections (`timeout_keep_alive`) and concurrent
connections (`limit_concurrency`, answered 503), and `lmsplans serve` passes both from the
settings. What httptools does not bound, this layer does, before the application sees the
request:

- the request target (path and query): more than `max_request_line_bytes` is 414 7056;
- the header fields: more than `max_headers` of them, or more than `max_header_bytes` of
  names and values (counted as they arrive, so a header that never ends is cut too), is
  431 7058;
- slow headers: a request's head must arrive within `header_timeout_seconds` of the
  connection opening or of the previous answer, else 408 7055 (a connection that sent
  nothing at all is just closed).

Each refusal is the error envelope with an `X-Request-Id` and `Connection: close`, and the
connection is closed; a connection that is still answering an earlier request is closed
without one. A slow body is the application's to answer (`middleware`, 408 7055). The limits
come from the app (`app.state.connection_limits`), so each worker process reads its own.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from lmsplans.server.errors import (
    ApiError,
    HeaderFieldsTooLarge,
    RequestTimeout,
    UriTooLong,
    error_body,
)

# Per header line: ": " and CRLF around the name and value.
_LINE_OVERHEAD = 4
_READ_METHODS = (b"GET", b"HEAD", b"OPTIONS")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one client may make the server hold while it reads a request's head."""

    max_request_line_bytes: int
    max_headers: int
    max_header_bytes: int
    header_timeout_seconds: float

    @property
    def max_head_bytes(self) -> int:
        """Bytes a head may take before it is complete: the request line and the fields."""
        return self.max_request_line_bytes + self.max_header_bytes + 1024


def loaded_app_state(app: Any) -> Any:
    """The state of the app uvicorn loaded (through any wrapper uvicorn put around it),
    which holds its `ConnectionLimits`."""
    for _ in range(8):  # uvicorn wraps it in at most a couple of middlewares
        state = getattr(app, "state", None)
        if isinstance(getattr(state, "connection_limits", None), ConnectionLimits):
            return state
        app = getattr(app, "app", None)
    raise RuntimeError("the app has no connection limits: it was not made by create_app")


class _Refused(Exception):
    """Raised in a parser callback to stop reading a request the limits refuse."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def refusal(error: ApiError) -> bytes:
    """`error` as a whole HTTP/1.1 answer that closes the connection."""
    request_id = secrets.token_hex(16)
    body = error_body(error, request_id)
    head = b"".join(
        [
            STATUS_LINE[error.status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            b"x-request-id: %s\r\n" % request_id.encode(),
            b"\r\n",
        ]
    )
    return head + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the request line, the header fields and the time
    their head takes bounded (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._app_state = loaded_app_state(config.loaded_app)
        self.limits: ConnectionLimits = self._app_state.connection_limits
        self._waiting_head = True  # between answers, until a request's head is complete
        self._head_bytes = 0
        self._header_count = 0
        self._header_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    # --- The head's timer ------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._waiting_head = True
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(
            self.limits.header_timeout_seconds, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._waiting_head or self.transport.is_closing():
            return
        if self._head_bytes == 0:  # nothing asked: nothing to answer
            self.transport.close()
            return
        seconds = self.limits.header_timeout_seconds
        self._refuse(
            RequestTimeout(
                f"Request timeout: the request's headers did not arrive within {seconds:g} seconds"
            )
        )

    def _refuse(self, error: ApiError) -> None:
        """Answer `error` and close (only close, while an earlier answer is on its way)."""
        self._cancel_head_timer()
        self._waiting_head = False
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(refusal(error))
        self.transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------------

    def _services(self) -> Any:
        """The app's `http.Services`, once its lifespan has started (None before)."""
        return getattr(self._app_state, "services", None)

    def shutdown(self) -> None:
        """The server begins to stop: the app's `stopping` tells its long polls to answer
        now (a stop would otherwise wait for each to time out); then uvicorn's own."""
        services = self._services()
        if services is not None:
            services.stopping.set()
        super().shutdown()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, with the limits' refusals: a callback raising `_Refused` stops the
        # parser, which raises it again as the context of an HttpParserError.
        self._unset_keepalive_if_required()
        if self._waiting_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _Refused):
                self._refuse(exc.__context__.error)
                return
            # Anything else the parser cannot read: uvicorn's own 400, as before.
            self._cancel_head_timer()
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._waiting_head and self._head_bytes > self.limits.max_head_bytes:
            self._refuse(
                HeaderFieldsTooLarge(
                    "Request header fields too large: the request's head is over "
                    f"{self.limits.max_head_bytes} bytes"
                )
            )

    # --- Parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_request_line_bytes:
            raise _Refused(
                UriTooLong(
                    "Request line too long: the path and query may take at most "
                    f"{self.limits.max_request_line_bytes} bytes"
                )
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + _LINE_OVERHEAD
        if self._header_count > self.limits.max_headers:
            raise _Refused(
                HeaderFieldsTooLarge(
                    "Request header fields too large: at most "
                    f"{self.limits.max_headers} header fields"
                )
            )
        if self._header_bytes > self.limits.max_header_bytes:
            raise _Refused(
                HeaderFieldsTooLarge(
                    "Request header fields too large: at most "
                    f"{self.limits.max_header_bytes} bytes of header fields"
                )
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._waiting_head = False
        self._cancel_head_timer()
        super().on_headers_complete()
        if self.parser.get_method() not in _READ_METHODS:
            # A write: the reads make way for it from the next turn (`reads.ReadGate`).
            services = self._services()
            if services is not None:
                services.reads.write_arrived()

    def on_response_complete(self) -> None:
        idle = not self.pipeline  # a pipelined request's head is already complete
        super().on_response_complete()
        if idle and not self.transport.is_closing():
            self._arm_head_timer()
