"""Signing in to the interface and out of it, on each backend: one-time links, passwords,
the session's cookie, and what a person without a session meets."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.sessions import service as sessions
from lmsplans.server.settings import Settings
from tests.api.uipages import (
    SAME_ORIGIN,
    browser,
    cheap_passwords,
    dom,
    link_token,
    one,
    redeem,
    sign_in,
    text,
)

MINUTE_MS = 60_000
PASSWORD = "correct horse battery staple"


def session_cookie(response: httpx.Response) -> SimpleCookie:
    return set_cookie(response, "lmsplans_session")


async def test_a_link_signs_in_once_with_a_strict_cookie(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    token = await link_token(services, clock, org_id=people.org_id, learner_id=people.admin_id)
    async with browser(app) as client:
        # Opening the link (twice: a mail scanner, then the person) does not use it.
        for _ in range(2):
            opened = await client.get(f"/ui/sign-in/{token}")
            assert opened.status_code == 200
            page = dom(opened)
            assert "Zylker Corp" in text(one(page, "h1"))
            assert "Continue as Priya Sharma" in text(one(page, "button"))
        signed = await redeem(client, token)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/ui"
        cookie = session_cookie(signed)["lmsplans_session"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "lax"
        assert cookie["path"] == "/ui"
        assert not cookie["secure"]  # served over plain HTTP here
        assert int(cookie["max-age"]) == 12 * 3600
        home = await client.get("/ui")
        assert home.status_code == 200
        assert text(one(dom(home), ".viewer-name")) == "Priya Sharma"
        # Used: the link's page and its form both refuse it now.
        again = await client.get(f"/ui/sign-in/{token}")
        assert again.status_code == 401
        assert "used already" in text(one(dom(again), ".error-message"))


def set_cookie(response: httpx.Response, name: str) -> SimpleCookie:
    found = SimpleCookie()
    for key, value in response.headers.multi_items():
        if key == "set-cookie" and value.startswith(f"{name}="):
            found.load(value)
    assert name in found, response.headers
    return found


@pytest.mark.parametrize("https_by", ["request", "public_url"])
async def test_the_cookies_are_secure_over_https(
    app: Starlette,
    services: Services,
    demo: DemoTokens,
    clock: ManualClock,
    settings: Settings,
    https_by: str,
) -> None:
    """Served over HTTPS, or behind a proxy that people reach over HTTPS (`public_url`)."""
    if https_by == "public_url":
        object.__setattr__(settings, "public_url", "https://lms.example.com")
    base_url = "https://testserver" if https_by == "request" else "http://testserver"
    people = demo.people
    token = await link_token(services, clock, org_id=people.org_id, learner_id=people.learner_id)
    async with browser(app, base_url) as client:
        opened = await client.get(f"/ui/sign-in/{token}")
        form_cookie = set_cookie(opened, "lmsplans_form")["lmsplans_form"]
        assert form_cookie["secure"] is True
        assert form_cookie["samesite"] == "strict"
        form_token = one(dom(opened), "input[name=form_token]")["value"]
        # As the browser would send it back over HTTPS (httpx keeps a Secure cookie from
        # an http:// address).
        signed = await client.post(
            f"/ui/sign-in/{token}",
            data={"form_token": form_token},
            headers={**SAME_ORIGIN, "Cookie": f"lmsplans_form={form_token}"},
        )
    assert signed.status_code == 303
    assert session_cookie(signed)["lmsplans_session"]["secure"] is True


async def test_an_expired_or_unknown_link_says_so_and_signs_nobody_in(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    token = await link_token(services, clock, org_id=people.org_id, learner_id=people.learner_id)
    clock.advance(16 * 60)
    async with browser(app) as client:
        expired = await client.get(f"/ui/sign-in/{token}")
        assert expired.status_code == 401
        assert "expired" in text(one(dom(expired), ".error-message"))
        assert "set-cookie" not in expired.headers or "lmsplans_session" not in str(
            expired.headers.get_list("set-cookie")
        )
        unknown = await client.get("/ui/sign-in/not-a-token")
        assert unknown.status_code == 401
        assert (await client.get("/ui")).status_code == 303


async def test_a_link_form_from_another_site_or_without_its_token_is_refused(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    token = await link_token(services, clock, org_id=people.org_id, learner_id=people.learner_id)
    async with browser(app) as client:
        opened = await client.get(f"/ui/sign-in/{token}")
        form_token = one(dom(opened), "input[name=form_token]")["value"]
        cross = await client.post(
            f"/ui/sign-in/{token}",
            data={"form_token": form_token},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403
        assert "another site" in text(one(dom(cross), ".error-message"))
        forged = await client.post(
            f"/ui/sign-in/{token}", data={"form_token": "guess"}, headers=SAME_ORIGIN
        )
        assert forged.status_code == 403
        # Neither used the link: the person still signs in with it.
        assert (await redeem(client, token)).status_code == 303


async def test_a_password_signs_in_and_a_wrong_one_says_only_that(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    await sessions.set_password(
        services.db,
        cheap_passwords(app),
        org_id=people.org_id,
        learner_id=people.manager_id,
        password=PASSWORD,
        now_ms=clock.now_ms(),
    )
    async with browser(app) as client:
        form = dom(await client.get("/ui/sign-in?next=/ui/team"))
        fields = {
            "form_token": one(form, "input[name=form_token]")["value"],
            "next": one(form, "input[name=next]")["value"],
            "email": "Manager@Zylker.example",
        }
        wrong = await client.post(
            "/ui/sign-in", data={**fields, "password": "wrong horse"}, headers=SAME_ORIGIN
        )
        assert wrong.status_code == 401
        refused = dom(wrong)
        assert text(one(refused, ".form-error")) == "Wrong email or password"
        assert one(refused, "input[name=email]")["value"] == "Manager@Zylker.example"
        right = await client.post(
            "/ui/sign-in", data={**fields, "password": PASSWORD}, headers=SAME_ORIGIN
        )
        assert right.status_code == 303
        assert right.headers["location"] == "/ui/team"
        team = await client.get("/ui/team")
        assert team.status_code == 200
        assert text(one(dom(team), ".viewer-name")) == "Daniel Okafor"


async def test_only_pages_of_the_interface_are_where_sign_in_leads(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    async with browser(app) as client:
        for target in ("//evil.example/ui", "https://evil.example/ui", "/api/v1/learners"):
            form = dom(await client.get("/ui/sign-in", params={"next": target}))
            assert one(form, "input[name=next]")["value"] == "/ui"


async def test_password_attempts_are_limited_per_address(
    app: Starlette, services: Services, demo: DemoTokens
) -> None:
    threshold = services.settings.rate_limit_threshold
    cheap_passwords(app)
    async with browser(app) as client:
        form_token = one(dom(await client.get("/ui/sign-in")), "input[name=form_token]")["value"]
        fields = {"form_token": form_token, "email": "nobody@zylker.example", "password": "x"}
        for _ in range(threshold):
            attempt = await client.post("/ui/sign-in", data=fields, headers=SAME_ORIGIN)
            assert attempt.status_code == 401
        locked = await client.post("/ui/sign-in", data=fields, headers=SAME_ORIGIN)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Too many sign-in attempts" in text(one(dom(locked), ".error-message"))


async def test_without_a_session_a_page_sends_the_person_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/ui/plans/1?status=overdue")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/ui/sign-in?next=/ui/plans/1%3Fstatus%3Doverdue&reason=needed"
    )
    forged = await client.get("/ui", headers={"Cookie": "lmsplans_session=forged"})
    assert forged.status_code == 303
    partial = await client.get("/ui", headers={"HX-Request": "true"})
    assert partial.status_code == 204
    assert partial.headers["hx-redirect"].startswith("/ui/sign-in?next=/ui")
    form = await client.post("/ui/plans/1/publish", data={"csrf_token": "x"}, headers=SAME_ORIGIN)
    assert form.status_code == 401
    assert "not signed in" in text(one(dom(form), ".error-message"))
    page = dom(await client.get("/ui/sign-in?reason=needed"))
    assert text(one(page, ".notice")) == "Sign in to see this page."


async def test_signing_out_ends_the_session_on_every_device(
    app: Starlette, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    laptop = await sign_in(app, services, clock, org_id=people.org_id, learner_id=people.admin_id)
    phone = await sign_in(app, services, clock, org_id=people.org_id, learner_id=people.admin_id)
    try:
        out = await laptop.post("/ui/sign-out", form_key=None)
        assert out.status_code == 303
        assert out.headers["location"] == "/ui/sign-in?reason=signed-out"
        assert 'lmsplans_session=""' in out.headers["set-cookie"]
        for device in (laptop, phone):
            response = await device.get("/ui")
            assert response.status_code == 303
            assert response.headers["location"].startswith("/ui/sign-in")
    finally:
        await laptop.client.aclose()
        await phone.client.aclose()
