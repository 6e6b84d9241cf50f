"""The framework ceiling: Starlette with one route answering one constant body.

No middleware and no per-request work beyond what Starlette itself does to route a request
and build a `Response`: the most any Starlette application can serve here. Run by
`bench/reference.py` under the same uvicorn settings as `lmsplans serve`:

    python bench/static_starlette.py --port 8767 --body /path/to/body.json
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from static_app import serve


def make_app(body: bytes) -> Starlette:
    """A Starlette app answering `GET` on any path with `body` as JSON (the load generator
    asks for the reference endpoint's paths)."""

    async def static(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", static)])


if __name__ == "__main__":
    serve(make_app, __doc__.splitlines()[0] if __doc__ else None)
