"""A webhook receiver on loopback for tests: a real HTTP server in a thread that records
every request and answers the statuses it is told to, in order (then 200). `hold` keeps
the next request waiting (its body read) until `release`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: str
    status: int  # what the receiver answered

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict[str, object]:
        """The body, verified with the standardwebhooks package against `secret`."""
        event: dict[str, object] = Webhook(secret).verify(self.body, self.headers)
        return event


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.answer = b"ok"  # the body of every answer
        self.arrived = threading.Condition()
        self.holding = threading.Event()  # set: the next request waits for `release`
        self.held = threading.Event()  # set when a held request has arrived
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                if receiver.holding.is_set():
                    receiver.holding.clear()
                    receiver.held.set()
                    receiver._released.wait(60)
                with receiver.arrived:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(headers, body, status))
                    receiver.arrived.notify_all()
                try:
                    self.send_response(status)
                    self.send_header("content-length", str(len(receiver.answer)))
                    self.end_headers()
                    self.wfile.write(receiver.answer)
                except OSError:  # the sender is gone (killed while it waited)
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The requests received once there are at least `count` (a bounded wait)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"received {len(self.received)} of {count} deliveries"
                self.arrived.wait(left)
            return list(self.received)


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(5)
