"""The cross-site check of the interface's forms."""

from __future__ import annotations

import pytest

from lmsplans.server.ui.security import is_cross_site

HOST = "lms.example:8443"


@pytest.mark.parametrize(
    ("method", "origin", "fetch_site", "refused"),
    [
        # Reading is never refused: a link from anywhere may open a page.
        ("GET", "https://evil.example", "cross-site", False),
        ("HEAD", None, "cross-site", False),
        # The browser's own word decides when it gives one.
        ("POST", None, "same-origin", False),
        ("POST", None, "none", False),  # typed or bookmarked by the person
        ("POST", None, "same-site", True),  # a sibling subdomain is another origin
        ("POST", None, "cross-site", True),
        ("POST", f"https://{HOST}", "cross-site", True),  # the header wins over Origin
        ("DELETE", None, "cross-site", True),
        # Older browsers: Origin's host must be this server's.
        ("POST", f"https://{HOST}", None, False),
        ("POST", "https://LMS.example:8443", None, False),
        ("POST", "https://lms.example", None, True),  # another port is another origin
        ("POST", "https://evil.example", None, True),
        ("POST", "null", None, True),  # a sandboxed frame or a data: page
        # Neither header: not a browser page; the form token still has to match.
        ("POST", None, None, False),
    ],
)
def test_cross_site_writes_are_refused(
    method: str, origin: str | None, fetch_site: str | None, refused: bool
) -> None:
    assert is_cross_site(method=method, host=HOST, origin=origin, fetch_site=fetch_site) is refused


def test_a_request_without_host_cannot_prove_its_origin() -> None:
    assert is_cross_site(method="POST", host=None, origin="https://lms.example", fetch_site=None)
