"""What every page of the interface sends to keep the browser strict, and the cross-site
check for forms.

The Content-Security-Policy allows scripts, styles, images and requests from this origin
only, and no inline script or style at all: a name that slipped past escaping still could
not run. The pages are built for it (no `style=` or `on...=` attributes, no `<script>`
without `src`; charts are inline SVG with presentation attributes), and a browser test
checks that an inline script really does not run.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_STRICT = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# The interface under /ui.
PAGE_POLICY = _policy(_STRICT)
# /docs: Swagger UI draws a few icons from `data:` URLs in its CSS; nothing else differs.
DOCS_POLICY = _policy({**_STRICT, "img-src": "'self' data:"})


def page_headers(policy: str = PAGE_POLICY) -> dict[str, str]:
    """The header fields of every HTML page: the policy, no framing, no sniffing, no
    referrer beyond this site (a sign-in link's token must not travel on), and no caching
    of pages that show one person's data."""
    return {
        "content-security-policy": policy,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-store",
    }


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_cross_site(
    *, method: str, host: str | None, origin: str | None, fetch_site: str | None
) -> bool:
    """Whether a request that may change something comes from another site's page.

    The browser says so itself in `Sec-Fetch-Site` (every current browser sends it):
    `same-origin`, or `none` for what the user did in the browser itself, passes. Older
    browsers send `Origin` instead, whose host must be this request's `Host`. A request
    with neither is not from a browser page (a script with the cookie would have had to
    steal it), so this check lets it through; the per-session form token is still needed.
    Go's `net/http.CrossOriginProtection` decides the same way.
    """
    if method.upper() in _SAFE_METHODS:
        return False
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    if origin is None:
        return False
    if origin == "null":  # an opaque origin: a sandboxed frame, a `data:` page
        return True
    return host is None or urlsplit(origin).netloc.lower() != host.lower()
