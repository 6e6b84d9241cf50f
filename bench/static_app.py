"""The ceiling: a bare ASGI app (no framework) answering every request with one constant body.

Run by `bench/reference.py` under the same uvicorn settings as `lmsplans serve`:

    python bench/static_app.py --port 8766 --body /path/to/body.json

The body file holds the exact bytes of a reference-endpoint response, so both runs move
the same number of bytes per answer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY_ENV = "LMSPLANS_BENCH_BODY"


def make_app(body: bytes) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app that answers every HTTP request with `body` as JSON."""
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    answer: Message = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await send(start)
        await send(answer)

    return app


def serve(make: Callable[[bytes], Any], description: str | None) -> None:
    """Serve `make(body)` under the same uvicorn settings as `lmsplans serve`."""
    import uvicorn

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, default=os.environ.get(BODY_ENV))
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    if args.body is None:
        parser.error(f"--body (or {BODY_ENV}) is required")
    # The same keyword arguments as `lmsplans serve` (src/lmsplans/cli/main.py): loop and
    # http stay "auto", so uvicorn picks uvloop and httptools when they are installed.
    uvicorn.run(
        make(Path(args.body).read_bytes()),
        host=args.host,
        port=args.port,
        workers=1,
        log_level=args.log_level,
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    serve(make_app, __doc__.splitlines()[0] if __doc__ else None)
