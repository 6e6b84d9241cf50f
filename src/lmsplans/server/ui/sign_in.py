"""Signing in and out: a one-time link (`lmsplans ui link`), or an email and a password
(`lmsplans ui password`); signing out ends every session of the person, everywhere.

A link's page names who it signs in and asks the person to go on (a small script does it at
once): opening a link, which mail scanners and previews do, never uses it up; only the form
does. The sessions themselves are `lmsplans.server.sessions`.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from lmsplans.server.errors import InvalidParameter, InvalidToken, RateLimited
from lmsplans.server.http import client_address
from lmsplans.server.learners.queries import organisation_named
from lmsplans.server.routing import PageTable
from lmsplans.server.sessions import service as sessions
from lmsplans.server.sessions.schemas import SIGN_IN_PATH
from lmsplans.server.ui.forms import (
    checked_public_form,
    clear_session_cookie,
    keep_sign_in_form_token,
    safe_next,
    set_session_cookie,
    sign_in_form_token,
)
from lmsplans.server.ui.http import FormVisit, PageCall, see_other

pages = PageTable()

# Why the sign-in page was opened (`?reason=`): fixed texts.
REASONS = {
    "needed": "Sign in to see this page.",
    "ended": "Your session has ended: sign in again.",
    "signed-out": "You are signed out, on every device.",
}
# Password attempts are counted per address, as the API counts bad tokens.
PASSWORD_API = f"POST {SIGN_IN_PATH}"


def _with_form_token(
    call: PageCall, template: str, context: Mapping[str, object], status: int
) -> Response:
    """A sign-in page with its form's token, kept in a cookie beside it (see `ui.http`)."""
    token = sign_in_form_token(call)
    response = call.render(template, {**context, "form_token": token}, status_code=status)
    keep_sign_in_form_token(response, call, token)
    return response


def _password_page(
    call: PageCall,
    *,
    error: str | None = None,
    email: str = "",
    organisation: str | None = None,
    next_page: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "title": "Sign in",
        "reason": REASONS.get(call.query("reason") or ""),
        "error": error,
        "email": email,
        "organisation": organisation,
        "next": safe_next(next_page or call.query("next")),
    }
    return _with_form_token(call, "sign_in.html", context, status)


@pages.public_get(SIGN_IN_PATH)
async def sign_in_page(call: PageCall) -> Response:
    """The email and password form."""
    return _password_page(call)


@pages.public_post(SIGN_IN_PATH)
async def sign_in_with_password(call: PageCall) -> Response:
    form = await checked_public_form(call)
    decision = await call.services.limiter.hit(
        f"addr:{client_address(call.request)}:{PASSWORD_API}"
    )
    if not decision.allowed:
        raise RateLimited(
            "Too many sign-in attempts from your address: try again in a few minutes",
            headers=decision.headers(),
        )
    email = form.get("email", "").strip()
    organisation = form.get("organisation", "").strip() or None
    try:
        org_id = None
        if organisation is not None:
            async with call.db.read() as conn:
                org_id = await organisation_named(conn, name=organisation)
            if org_id is None:
                raise InvalidToken(sessions.SIGN_IN_REFUSED)
        new = await sessions.sign_in_with_password(
            call.db,
            call.interface.passwords,
            email=email,
            password=form.get("password", ""),
            now_ms=call.now_ms,
            policy=call.interface.policy,
            org_id=org_id,
        )
    except (InvalidToken, InvalidParameter) as refusal:
        several = isinstance(refusal, InvalidParameter)
        return _password_page(
            call,
            error=refusal.message
            if not several
            else "This email and password sign in to several organisations: name the one you mean.",
            email=email,
            organisation=organisation or ("" if several else None),
            next_page=form.get("next"),
            status=refusal.status,
        )
    response = see_other(safe_next(form.get("next")))
    set_session_cookie(response, call, new.session_id)
    return response


@pages.public_get(SIGN_IN_PATH + "/{token}")
async def sign_in_link_page(call: PageCall) -> Response:
    """Whom the link signs in, and a button to go on (pressed by a script at once)."""
    info = await sessions.check_sign_in_link(
        call.db, token=call.path_param("token"), now_ms=call.now_ms, policy=call.interface.policy
    )
    context = {"title": "Sign in", "person": info, "action": call.request.url.path}
    return _with_form_token(call, "sign_in_link.html", context, 200)


@pages.public_post(SIGN_IN_PATH + "/{token}")
async def sign_in_with_link(call: PageCall) -> Response:
    await checked_public_form(call)
    new = await sessions.redeem_sign_in_link(
        call.db, token=call.path_param("token"), now_ms=call.now_ms, policy=call.interface.policy
    )
    response = see_other("/ui")
    set_session_cookie(response, call, new.session_id)
    return response


@pages.form("/ui/sign-out")
async def sign_out(visit: FormVisit) -> Response:
    """Every session of the person ends, on every device."""
    await sessions.end_all_sessions(
        visit.db,
        org_id=visit.session.org_id,
        learner_id=visit.session.learner_id,
        now_ms=visit.now_ms,
    )
    response = see_other(f"{SIGN_IN_PATH}?reason=signed-out")
    clear_session_cookie(response, visit)
    return response
