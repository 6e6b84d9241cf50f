"""The answer of `GET /` (`ops/routes.py`): what answers here, for a person (a short HTML
page) and for a program (JSON, when its `Accept` header prefers `application/json`)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

import lmsplans
from lmsplans.server.wire import json_response

DESCRIPTION = "A self-hosted learning-plan progress service that speaks the Zoho People LMS API."
# (key, path, label); a link is shown only when the app serves its path.
_LINKS = (
    ("ui", "/ui", "Web interface"),
    ("docs", "/docs", "API documentation"),
    ("openapi", "/openapi.json", "OpenAPI description"),
    ("health", "/healthz", "Health"),
    ("readiness", "/readyz", "Readiness"),
    ("metrics", "/metrics", "Prometheus metrics"),
)
_OFFERED = ("text/html", "application/json")  # in order of preference on a tie


def preferred_type(accept: str | None) -> str:
    """The offered media type the `Accept` header ranks highest (RFC 9110 section 12.5.1:
    each offer takes the quality of the most specific range that matches it); HTML when
    nothing is said or on a tie."""
    if not accept:
        return _OFFERED[0]
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))

    def quality_of(offer: str) -> float:
        kind = offer.split("/")[0]
        for pattern in (offer, f"{kind}/*", "*/*"):  # the most specific first
            found = [q for media, q in ranges if media == pattern]
            if found:
                return max(found)
        return 0.0

    best = max(_OFFERED, key=quality_of)  # max keeps the first of equals: HTML on a tie
    return best if quality_of(best) > 0 else _OFFERED[0]


def answer(request: Request) -> Response:
    """The service's name, version and links (HTML, or JSON when asked for JSON)."""
    served = {getattr(route, "path", None) for route in request.app.routes}
    links = [(key, path, label) for key, path, label in _LINKS if path in served]
    headers = {"Vary": "Accept"}
    if preferred_type(request.headers.get("accept")) == "application/json":
        info = {
            "service": "lmsplans",
            "version": lmsplans.__version__,
            "description": DESCRIPTION,
            "links": {key: path for key, path, _ in links},
        }
        return json_response(info, headers=headers)
    items = "\n".join(
        f'    <li><a href="{escape(path)}">{escape(label)}</a> <code>{escape(path)}</code></li>'
        for _, path, label in links
    )
    page = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>lmsplans {escape(lmsplans.__version__)}</title>
</head>
<body>
  <h1>lmsplans <small>{escape(lmsplans.__version__)}</small></h1>
  <p>{escape(DESCRIPTION)} The API lives under <code>/api/v1</code>.</p>
  <ul>
{items}
  </ul>
</body>
</html>
"""
    return HTMLResponse(page, headers=headers)
