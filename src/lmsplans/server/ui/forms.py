"""What a form shows before it is believed, and the cookies of the interface.

A form that may change something is refused (403 9000) when it comes from another site's
page (`Sec-Fetch-Site` or `Origin`: `security.is_cross_site`) or without its token: the
session's (`sessions.service.csrf_token_for`) on the pages of a signed-in person, and on the
sign-in forms, sent before there is a session, a token of their own kept in a cookie beside
the form (a double submit). The session's cookie is `HttpOnly`, `SameSite=Lax`, `Secure`
over HTTPS, and sent to `/ui` only.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response

from lmsplans.server.errors import InvalidParameter, PermissionDenied
from lmsplans.server.http import Services
from lmsplans.server.idempotency.service import MAX_KEY_LENGTH
from lmsplans.server.sessions import service as sessions
from lmsplans.server.ui.security import is_cross_site

if TYPE_CHECKING:
    from lmsplans.server.ui.http import PageCall, Visit

SESSION_COOKIE = "lmsplans_session"
# The sign-in forms' own token, before there is a session (a double-submit cookie).
FORM_COOKIE = "lmsplans_form"
COOKIE_PATH = "/ui"
HOME = "/ui"


def safe_next(target: str | None) -> str:
    """A page of the interface to go to after signing in; anything else is the home page
    (no open redirect: never another host, never `//host`)."""
    if target and target.startswith(HOME) and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def secure_cookies(request: Request, services: Services) -> bool:
    """`Secure` cookies when the page is served over HTTPS, or people reach it so."""
    public_url = services.settings.public_url or ""
    return request.url.scheme == "https" or public_url.startswith("https:")


def set_session_cookie(response: Response, call: PageCall, session_id: str) -> None:
    """The session's cookie, for as long as a session may last."""
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=call.interface.policy.session_ttl_ms // 1000,
        path=COOKIE_PATH,
        secure=secure_cookies(call.request, call.services),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, call: PageCall) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        secure=secure_cookies(call.request, call.services),
        httponly=True,
        samesite="lax",
    )


def sign_in_form_token(call: PageCall) -> str:
    """The token of a sign-in form: the one in the browser's cookie, or a new one (which
    `keep_sign_in_form_token` sets beside the form)."""
    return call.request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)


def keep_sign_in_form_token(response: Response, call: PageCall, token: str) -> None:
    """The sign-in form's token, in the cookie it is checked against (`SameSite=Strict`:
    only this site's own pages send it)."""
    response.set_cookie(
        FORM_COOKIE,
        token,
        path=COOKIE_PATH,
        secure=secure_cookies(call.request, call.services),
        httponly=True,
        samesite="strict",
    )


async def read_form(request: Request) -> ImmutableMultiDict[str, str]:
    """A form's text fields (a file in it is no field of ours)."""
    async with request.form() as form:
        return ImmutableMultiDict([(k, v) for k, v in form.multi_items() if isinstance(v, str)])


def refuse_cross_site(request: Request) -> None:
    """403 9000 for a form another site's page sent."""
    headers = request.headers
    if is_cross_site(
        method=request.method,
        host=headers.get("host"),
        origin=headers.get("origin"),
        fetch_site=headers.get("sec-fetch-site"),
    ):
        raise PermissionDenied("Permission denied: this form was sent from another site's page")


async def checked_public_form(call: PageCall) -> ImmutableMultiDict[str, str]:
    """A sign-in form's fields, once it is known to come from this site's own page."""
    refuse_cross_site(call.request)
    form = await read_form(call.request)
    expected = call.request.cookies.get(FORM_COOKIE) or ""
    if not expected or not hmac.compare_digest(expected, form.get("form_token", "")):
        raise PermissionDenied(
            "Permission denied: this form has expired or was not sent from this site; "
            "open the sign-in page again"
        )
    return form


async def checked_form(visit: Visit) -> ImmutableMultiDict[str, str]:
    """The form's fields, once it is known to come from this site's page of this session."""
    refuse_cross_site(visit.request)
    form = await read_form(visit.request)
    if not sessions.csrf_token_matches(visit.session, form.get("csrf_token")):
        raise PermissionDenied(
            "Permission denied: this form is not from your current session; reload the page "
            "and send it again"
        )
    return form


def form_key(fields: ImmutableMultiDict[str, str]) -> str | None:
    """The form's one-time key (`form_key`), the write's `Idempotency-Key`."""
    key = fields.get("form_key") or None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise InvalidParameter("form_key", f"must be at most {MAX_KEY_LENGTH} characters")
    return key
