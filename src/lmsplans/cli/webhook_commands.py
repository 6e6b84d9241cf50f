"""`lmsplans webhooks listen`: a receiver on loopback that prints each verified delivery.

For a developer: register `http://127.0.0.1:PORT/` as a webhook (on a server that allows
private targets), then watch the signed events arrive. Part of the client half: it imports
nothing of the server, and checks each signature with `lmsplans.client.webhooks.verify`.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated

import typer

from lmsplans.client import webhooks

webhooks_app = typer.Typer(help="Receive webhook deliveries.", no_args_is_help=True)

MAX_BODY = 1024 * 1024


def handler_for(secret: str) -> type[BaseHTTPRequestHandler]:
    """A request handler that answers 200 to a delivery signed by `secret` (printing its
    event as one JSON line on stdout) and 401 to anything else (saying why on stderr)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if not 0 <= length <= MAX_BODY:
                self._answer(413, "too large")
                return
            body = self.rfile.read(length)
            try:
                event = webhooks.verify(body, dict(self.headers.items()), secret)
            except (webhooks.WebhookVerificationError, ValueError) as exc:
                print(f"refused a delivery: {exc}", file=sys.stderr, flush=True)
                self._answer(401, "signature not verified")
                return
            print(json.dumps(event, separators=(",", ":")), flush=True)
            self._answer(200, "ok")

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # stdout carries the events only

    return Handler


@webhooks_app.command()
def listen(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1 to listen on.")],
    secret: Annotated[
        str,
        typer.Option(
            envvar="LMSPLANS_WEBHOOK_SECRET",
            help="The endpoint's signing secret (whsec_...).",
        ),
    ],
) -> None:
    """Print each verified delivery as one JSON line (stdout); refuse unsigned ones (401)."""
    try:
        webhooks.verify(b"{}", {}, secret)
    except webhooks.WebhookVerificationError:
        pass  # the secret decoded: only the (missing) headers failed
    except Exception:
        print("--secret is not a webhook secret (whsec_...)", file=sys.stderr)
        raise typer.Exit(2) from None
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(secret))
    print(f"Listening on http://127.0.0.1:{port}/ (Ctrl-C stops).", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
