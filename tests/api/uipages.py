"""The interface's pages over the app in-process: a person signed in through a real
one-time link (the link's page, then its form), with their own cookie jar, who reads pages
as a DOM and sends forms as a browser does (`Sec-Fetch-Site`, the session's form token and
a one-time key)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import httpx
from argon2 import PasswordHasher
from bs4 import BeautifulSoup, Tag
from starlette.applications import Starlette

from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.sessions import service as sessions
from lmsplans.server.sessions.schemas import SessionPolicy

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
BASE_URL = "http://testserver"


def dom(response: httpx.Response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html"), response.headers
    return BeautifulSoup(response.text, "html.parser")


def one(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    found = soup.select_one(selector)
    assert found is not None, f"nothing matches {selector!r}"
    return found


def text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ").split())


def counts(soup: BeautifulSoup | Tag) -> dict[str, int]:
    """The figures of a `dl.counts`: enrolled (total), completed, ..., overdue."""
    return {
        str(item["data-count"]): int(text(one(item, "dd"))) for item in soup.select("[data-count]")
    }


@dataclass
class Person:
    """A browser signed in as one person."""

    client: httpx.AsyncClient
    csrf_token: str

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def page(self, path: str, **kwargs: Any) -> BeautifulSoup:
        response = await self.get(path, **kwargs)
        assert response.status_code == 200, response.text[:2000]
        return dom(response)

    async def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        form_key: str | None = "new",
        csrf_token: str | None = None,
    ) -> httpx.Response:
        """A form sent from this site's page: the session's token and a new one-time key
        (`form_key=None`: none; any other string: that one)."""
        fields: dict[str, Any] = {"csrf_token": csrf_token or self.csrf_token, **(data or {})}
        if form_key is not None:
            fields["form_key"] = secrets.token_urlsafe(12) if form_key == "new" else form_key
        return await self.client.post(
            path, data=fields, headers=SAME_ORIGIN if headers is None else headers
        )


async def link_token(
    services: Services, clock: ManualClock, *, org_id: int, learner_id: int
) -> str:
    link = await sessions.create_sign_in_link(
        services.db,
        org_id=org_id,
        learner_id=learner_id,
        now_ms=clock.now_ms(),
        policy=SessionPolicy(),
    )
    return link.token


async def redeem(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """Open a sign-in link and press its button, as a browser does."""
    opened = await client.get(f"/ui/sign-in/{token}")
    assert opened.status_code == 200, opened.text[:2000]
    form_token = one(dom(opened), "form[data-auto-submit] input[name=form_token]")["value"]
    return await client.post(
        f"/ui/sign-in/{token}", data={"form_token": form_token}, headers=SAME_ORIGIN
    )


def cheap_passwords(app: Starlette) -> sessions.Passwords:
    """Real argon2id for the app's pages, with settings cheaper than the server's, so that
    tests making many attempts stay quick."""
    interface = app.state.interface
    passwords = sessions.Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app.state.interface = replace(interface, passwords=passwords)
    return passwords


def browser(app: Starlette, base_url: str = BASE_URL) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def sign_in(
    app: Starlette, services: Services, clock: ManualClock, *, org_id: int, learner_id: int
) -> Person:
    """A new browser, signed in as the learner through a one-time link (close its client)."""
    client = browser(app)
    token = await link_token(services, clock, org_id=org_id, learner_id=learner_id)
    signed = await redeem(client, token)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui", signed.text
    home = await client.get("/ui/me")
    assert home.status_code == 200, home.text[:2000]
    csrf = one(dom(home), "form.sign-out input[name=csrf_token]")["value"]
    return Person(client, str(csrf))
