"""Where a webhook may point: http or https at public addresses only, unless the server
allows private targets (`LMSPLANS_WEBHOOK_ALLOW_PRIVATE_TARGETS`)."""

from __future__ import annotations

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import sql
from tests.api.test_progress_writes import Api, roomy_settings, token_for
from tests.conftest import assert_error


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.215.14/hook",
        "https://user:pw@93.184.215.14/hook",
        "not a url",
    ],
)
async def test_private_and_malformed_targets_are_refused(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, url: str
) -> None:
    admin = Api(client, await token_for(services, demo, demo.people.admin_id))
    before = await sql(services, "SELECT count(*) AS n FROM webhook_endpoints", {})
    refused = await admin.send("POST", "/webhooks", {"url": url, "eventTypes": ["*"]})
    body = assert_error(refused, 400, 7204)
    assert body["errors"][0]["field"] == "url"
    assert await sql(services, "SELECT count(*) AS n FROM webhook_endpoints", {}) == before


async def test_a_changed_url_is_checked_too(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    admin = Api(client, await token_for(services, demo, demo.people.admin_id))
    made = await admin.send(
        "POST", "/webhooks", {"url": "https://93.184.215.14/in", "eventTypes": ["*"]}
    )
    assert made.status_code == 200, made.text
    path = f"/webhooks/{made.json()['webhook']['webhookId']}"
    refused = await admin.send("PATCH", path, {"url": "http://10.0.0.1/in"})
    assert_error(refused, 400, 7204)
    read = await admin.send("GET", path)
    assert read.json()["webhook"]["url"] == "https://93.184.215.14/in"
