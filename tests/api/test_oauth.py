"""Auth (spec section 3) and the OAuth endpoints in the shape of Zoho Accounts (section 5).

Everything goes through the real app on a real SQLite file; time moves with the ManualClock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens
from lmsplans.server.app import create_app
from lmsplans.server.auth.schemas import NewClient
from lmsplans.server.auth.service import create_client
from lmsplans.server.changes.log import EVERYTHING
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.conftest import assert_error, auth

READ = "ZOHOPEOPLE.training.READ"
CREATE = "ZOHOPEOPLE.training.CREATE"
ALL = "ZOHOPEOPLE.training.ALL"
TOKEN = "/oauth/v2/token"
REVOKE = "/oauth/v2/token/revoke"


def progress_path(demo: DemoTokens) -> str:
    return f"/api/v1/learners/{demo.people.learner_id}/learning-plans/progress"


async def new_client(
    services: Services, demo: DemoTokens, scopes: str, *, user_id: int | None = None
) -> NewClient:
    async with services.db.transaction() as conn:
        return await create_client(
            conn,
            org_id=demo.people.org_id,
            user_id=demo.people.admin_id if user_id is None else user_id,
            scopes=scopes,
            name="test client",
            now_ms=services.clock.now_ms(),
            ttl_seconds=services.settings.access_token_ttl_seconds,
        )


def refresh_params(new: NewClient) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "client_id": new.client_id,
        "client_secret": new.client_secret,
        "refresh_token": new.refresh_token,
    }


def assert_token_answer(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["api_domain"] == "http://testserver"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    token = body["access_token"]
    assert isinstance(token, str) and token.startswith("1000.")
    return str(token)


# --- The Authorization header -----------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Zoho-oauthtoken", "Bearer", "bearer", "ZOHO-OAUTHTOKEN"])
async def test_both_schemes_are_accepted(
    client: httpx.AsyncClient, demo: DemoTokens, scheme: str
) -> None:
    response = await client.get(progress_path(demo), headers=auth(demo.admin_token, scheme))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == 200


async def test_spaces_around_the_token_are_tolerated(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    header = {"Authorization": f"Zoho-oauthtoken   {demo.admin_token}  "}
    response = await client.get(progress_path(demo), headers=header)
    assert response.status_code == 200, response.text


async def test_missing_token_is_401_7201(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    assert_error(await client.get(progress_path(demo)), 401, 7201)
    assert_error(await client.get(progress_path(demo), headers={"Authorization": ""}), 401, 7201)


@pytest.mark.parametrize(
    "value",
    [
        "Basic {t}",
        "Token {t}",
        "{t}",
        "Zoho-oauthtoken",
        "Zoho-oauthtoken ",
        "Bearer    ",
        "Zoho-oauthtoken {t} extra",
        "Bearer {t} {t}",
        "Zoho-oauthtoken{t}",
        "Zoho-oauthtoken:{t}",
    ],
)
async def test_malformed_header_is_401_7201(
    client: httpx.AsyncClient, demo: DemoTokens, value: str
) -> None:
    header = {"Authorization": value.format(t=demo.admin_token)}
    body = assert_error(await client.get(progress_path(demo), headers=header), 401, 7201)
    assert demo.admin_token not in body["message"]


async def test_unknown_token_is_401_7201(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    unknown = "1000." + "0" * 32 + "." + "f" * 32
    assert_error(await client.get(progress_path(demo), headers=auth(unknown)), 401, 7201)
    # A known token, changed by one character, is unknown too.
    altered = demo.admin_token[:-1] + ("0" if demo.admin_token[-1] != "0" else "1")
    assert_error(await client.get(progress_path(demo), headers=auth(altered)), 401, 7201)


async def test_token_expires_after_3600_seconds(
    client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    clock.advance(3599)
    response = await client.get(progress_path(demo), headers=auth(demo.admin_token))
    assert response.status_code == 200, response.text
    clock.advance(2)
    assert_error(await client.get(progress_path(demo), headers=auth(demo.admin_token)), 401, 7202)


async def test_revoked_access_token_is_401_7201(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    response = await client.post(REVOKE, params={"token": demo.admin_token})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == 200
    assert_error(await client.get(progress_path(demo), headers=auth(demo.admin_token)), 401, 7201)
    # Only that token: the learner's own token still works.
    response = await client.get(progress_path(demo), headers=auth(demo.learner_token))
    assert response.status_code == 200, response.text


async def test_deactivated_learners_token_is_401_7201(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    async with services.db.transaction() as conn:
        conn.changes.touch(None, EVERYTHING)  # a test's own raw write: every cache lets go
        await conn.execute(
            "UPDATE learners SET status = 'inactive' WHERE id = :id",
            {"id": demo.people.admin_id},
        )
    assert_error(await client.get(progress_path(demo), headers=auth(demo.admin_token)), 401, 7201)


async def test_read_scope_passes_a_get(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    response = await client.get(progress_path(demo), headers=auth(new.access_token))
    assert response.status_code == 200, response.text


async def test_all_scope_passes_a_get(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, ALL)
    response = await client.get(progress_path(demo), headers=auth(new.access_token))
    assert response.status_code == 200, response.text


async def test_create_only_scope_is_403_7218_on_a_get(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, f"{CREATE},ZOHOPEOPLE.training.UPDATE")
    for path in (progress_path(demo), "/api/v1/learning-plans"):
        body = assert_error(await client.get(path, headers=auth(new.access_token)), 403, 7218)
        assert "READ" in body["message"]


# --- POST /oauth/v2/token: refresh_token grant -------------------------------------------------


async def test_refresh_grant_with_query_parameters(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    token = assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    assert token != new.access_token
    response = await client.get(progress_path(demo), headers=auth(token))
    assert response.status_code == 200, response.text


async def test_refresh_grant_with_a_form_body(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    token = assert_token_answer(await client.post(TOKEN, data=refresh_params(new)))
    response = await client.get(progress_path(demo), headers=auth(token, "Bearer"))
    assert response.status_code == 200, response.text


async def test_refresh_grant_with_a_multipart_body(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    response = await client.post(
        TOKEN, data=refresh_params(new), files={"ignored": ("a.txt", b"not a parameter")}
    )
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    token = assert_token_answer(response)
    response = await client.get(progress_path(demo), headers=auth(token))
    assert response.status_code == 200, response.text


async def test_refreshed_token_keeps_the_refresh_tokens_scopes(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, CREATE)
    response = await client.post(TOKEN, params=refresh_params(new))
    token = assert_token_answer(response)
    assert response.json()["scope"] == CREATE
    assert_error(await client.get(progress_path(demo), headers=auth(token)), 403, 7218)


async def test_refreshed_token_expires_after_an_hour(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    new = await new_client(services, demo, READ)
    clock.advance(1800)
    token = assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    clock.advance(1801)  # the first token is past its hour, the refreshed one is not
    assert_error(await client.get(progress_path(demo), headers=auth(new.access_token)), 401, 7202)
    response = await client.get(progress_path(demo), headers=auth(token))
    assert response.status_code == 200, response.text
    clock.advance(1800)
    assert_error(await client.get(progress_path(demo), headers=auth(token)), 401, 7202)


async def test_wrong_secret_is_401_7201_invalid_client(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    params = refresh_params(new) | {"client_secret": "0" * 42}
    body = assert_error(await client.post(TOKEN, params=params), 401, 7201)
    assert body["error"] == "invalid_client"


async def test_unknown_client_is_401_7201_invalid_client(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    params = refresh_params(new) | {"client_id": "1000.UNKNOWNCLIENT"}
    body = assert_error(await client.post(TOKEN, data=params), 401, 7201)
    assert body["error"] == "invalid_client"


async def test_unknown_refresh_token_is_401_7201_invalid_code(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    other = await new_client(services, demo, READ)
    # Unknown altogether, and another client's refresh token.
    for refresh in ("1000." + "a" * 32 + "." + "b" * 32, other.refresh_token):
        params = refresh_params(new) | {"refresh_token": refresh}
        body = assert_error(await client.post(TOKEN, params=params), 401, 7201)
        assert body["error"] == "invalid_code"


async def test_inactive_users_client_cannot_mint(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ, user_id=demo.people.manager_id)
    async with services.db.transaction() as conn:
        conn.changes.touch(None, EVERYTHING)  # a test's own raw write: every cache lets go
        await conn.execute(
            "UPDATE learners SET status = 'inactive' WHERE id = :id",
            {"id": demo.people.manager_id},
        )
    assert_error(await client.post(TOKEN, params=refresh_params(new)), 401, 7201)


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret", "refresh_token"])
async def test_missing_parameter_is_400_7019(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, missing: str
) -> None:
    new = await new_client(services, demo, READ)
    params = refresh_params(new)
    del params[missing]
    body = assert_error(await client.post(TOKEN, params=params), 400, 7019)
    assert missing in body["message"]
    assert body["errors"] == [{"field": missing, "message": "is required"}]
    # An empty value is as good as a missing one.
    body = assert_error(await client.post(TOKEN, data=params | {missing: ""}), 400, 7019)
    assert missing in body["message"]


@pytest.mark.parametrize("grant_type", ["authorization_code", "password", "REFRESH_TOKEN"])
async def test_unsupported_grant_type_is_400_7204(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, grant_type: str
) -> None:
    new = await new_client(services, demo, READ)
    params = refresh_params(new) | {"grant_type": grant_type}
    body = assert_error(await client.post(TOKEN, params=params), 400, 7204)
    assert "grant_type" in body["message"]


async def test_token_endpoint_is_post_only(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(TOKEN), 405, 7051)
    assert_error(await client.get(REVOKE), 405, 7051)


# --- client_credentials grant ------------------------------------------------------------------


def credentials(new: NewClient, scope: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": new.client_id,
        "client_secret": new.client_secret,
        "scope": scope,
    }


async def test_client_credentials_with_a_scope_subset(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, f"{READ},{CREATE}")
    response = await client.post(TOKEN, data=credentials(new, READ))
    token = assert_token_answer(response)
    assert response.json()["scope"] == READ
    ok = await client.get(progress_path(demo), headers=auth(token))
    assert ok.status_code == 200, ok.text
    # A token for CREATE alone cannot read.
    response = await client.post(TOKEN, params=credentials(new, CREATE))
    token = assert_token_answer(response)
    assert_error(await client.get(progress_path(demo), headers=auth(token)), 403, 7218)


async def test_client_credentials_under_an_all_client(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, ALL)
    token = assert_token_answer(await client.post(TOKEN, params=credentials(new, READ)))
    response = await client.get(progress_path(demo), headers=auth(token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("scope", [ALL, "ZOHOPEOPLE.training.DELETE", f"{READ},{ALL}"])
async def test_client_credentials_wider_scope_is_403_7218(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, scope: str
) -> None:
    new = await new_client(services, demo, f"{READ},{CREATE}")
    body = assert_error(await client.post(TOKEN, params=credentials(new, scope)), 403, 7218)
    assert body["error"] == "invalid_scope"


async def test_client_credentials_unknown_scope_is_400_7204(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, ALL)
    response = await client.post(TOKEN, params=credentials(new, "ZOHOCRM.modules.ALL"))
    assert_error(response, 400, 7204)


async def test_client_credentials_missing_scope_is_400_7019(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, ALL)
    params = credentials(new, READ)
    del params["scope"]
    body = assert_error(await client.post(TOKEN, params=params), 400, 7019)
    assert "scope" in body["message"]


async def test_client_credentials_wrong_secret_is_401_7201(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, ALL)
    params = credentials(new, READ) | {"client_secret": "nope"}
    body = assert_error(await client.post(TOKEN, params=params), 401, 7201)
    assert body["error"] == "invalid_client"


# --- At most 10 access tokens per refresh token in 10 minutes ----------------------------------


async def test_eleventh_token_in_ten_minutes_is_429_7209(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    new = await new_client(services, demo, READ)
    clock.advance(600)  # the client's first access token leaves the period
    tokens = [
        assert_token_answer(await client.post(TOKEN, params=refresh_params(new))) for _ in range(10)
    ]
    assert len(set(tokens)) == 10
    refused = await client.post(TOKEN, params=refresh_params(new))
    body = assert_error(refused, 429, 7209)
    assert body["error"] == "Access Denied"
    assert refused.headers["retry-after"] == "600"
    # The tokens already minted keep working.
    response = await client.get(progress_path(demo), headers=auth(tokens[-1]))
    assert response.status_code == 200, response.text
    clock.advance(599)
    assert_error(await client.post(TOKEN, params=refresh_params(new)), 429, 7209)
    clock.advance(1)
    token = assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    response = await client.get(progress_path(demo), headers=auth(token))
    assert response.status_code == 200, response.text


async def test_the_first_access_token_counts_toward_the_ten(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)  # minted one already
    for _ in range(9):
        assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    assert_error(await client.post(TOKEN, params=refresh_params(new)), 429, 7209)


async def test_token_period_slides(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    new = await new_client(services, demo, READ)
    clock.advance(600)
    for _ in range(10):  # one token every 30 s: t=0, 30, ..., 270
        assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
        clock.advance(30)
    clock.advance(-30)
    refused = await client.post(TOKEN, params=refresh_params(new))
    assert_error(refused, 429, 7209)
    # The oldest (t=0) leaves the period at t=600, 330 s from now.
    assert refused.headers["retry-after"] == "330"
    clock.advance(330)
    assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    # Only one slot came free: the next one waits for the token of t=30.
    refused = await client.post(TOKEN, params=refresh_params(new))
    assert_error(refused, 429, 7209)
    assert refused.headers["retry-after"] == "30"


async def test_the_limit_is_per_refresh_token(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    first = await new_client(services, demo, READ)
    second = await new_client(services, demo, READ)
    for _ in range(9):
        assert_token_answer(await client.post(TOKEN, params=refresh_params(first)))
    assert_error(await client.post(TOKEN, params=refresh_params(first)), 429, 7209)
    assert_token_answer(await client.post(TOKEN, params=refresh_params(second)))
    # client_credentials tokens are not minted from a refresh token.
    assert_token_answer(await client.post(TOKEN, params=credentials(first, READ)))


# --- POST /oauth/v2/token/revoke ---------------------------------------------------------------


async def test_revoking_a_refresh_token_revokes_its_access_tokens(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    other = await new_client(services, demo, READ)
    refreshed = assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    response = await client.post(REVOKE, data={"token": new.refresh_token})
    assert response.status_code == 200, response.text
    for token in (new.access_token, refreshed):
        assert_error(await client.get(progress_path(demo), headers=auth(token)), 401, 7201)
    # The refresh token mints no more.
    body = assert_error(await client.post(TOKEN, params=refresh_params(new)), 401, 7201)
    assert body["error"] == "invalid_code"
    # Another client's tokens are untouched.
    response = await client.get(progress_path(demo), headers=auth(other.access_token))
    assert response.status_code == 200, response.text
    assert_token_answer(await client.post(TOKEN, params=refresh_params(other)))


async def test_revoking_an_access_token_leaves_its_refresh_token(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    new = await new_client(services, demo, READ)
    response = await client.post(REVOKE, params={"token": new.access_token})
    assert response.status_code == 200, response.text
    assert_error(await client.get(progress_path(demo), headers=auth(new.access_token)), 401, 7201)
    token = assert_token_answer(await client.post(TOKEN, params=refresh_params(new)))
    response = await client.get(progress_path(demo), headers=auth(token))
    assert response.status_code == 200, response.text


async def test_revoking_an_unknown_or_revoked_token_answers_200(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    for token in ("1000." + "1" * 32 + "." + "2" * 32, "anything", demo.admin_token):
        response = await client.post(REVOKE, params={"token": token})
        assert response.status_code == 200, response.text
    # Revoked twice is still revoked (and still 200).
    response = await client.post(REVOKE, params={"token": demo.admin_token})
    assert response.status_code == 200
    assert_error(await client.get(progress_path(demo), headers=auth(demo.admin_token)), 401, 7201)


async def test_revoke_without_a_token_is_400_7019(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post(REVOKE), 400, 7019)
    assert "token" in body["message"]


# --- Failed token requests are limited per client address -------------------------------------


@asynccontextmanager
async def client_for(
    app: Starlette, address: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def strict_app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Starlette]:
    """The app with a threshold of 3 calls a minute and a 2-minute lock."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'strict.db'}",
        rate_limit_threshold=3,
        rate_limit_window_seconds=60,
        rate_limit_lock_seconds=120,
    )
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


async def test_repeated_failed_token_requests_are_429(
    strict_app: Starlette, clock: ManualClock
) -> None:
    bad = {
        "grant_type": "refresh_token",
        "client_id": "1000.GUESS",
        "client_secret": "guess",
        "refresh_token": "guess",
    }
    async with client_for(strict_app) as http:
        for _ in range(3):
            assert_error(await http.post(TOKEN, params=bad), 401, 7201)
        refused = await http.post(TOKEN, params=bad)
        assert_error(refused, 429, 7209)
        assert refused.headers["retry-after"] == "120"
        # Bad requests of any kind count, and the lock holds.
        clock.advance(60)
        refused = await http.post(TOKEN, params={"grant_type": "refresh_token"})
        assert_error(refused, 429, 7209)
        assert refused.headers["retry-after"] == "60"
        # Another address is not affected.
        async with client_for(strict_app, "192.0.2.7") as other:
            assert_error(await other.post(TOKEN, params=bad), 401, 7201)
        clock.advance(60)
        assert_error(await http.post(TOKEN, params=bad), 401, 7201)
