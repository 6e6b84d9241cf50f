"""What a server process says: one start-up line (and a warning per dependency that does not
answer), and one access line per answered request, with its request id."""

from __future__ import annotations

import json
import logging
import socket
from contextlib import closing

import httpx
import pytest
from asgi_lifespan import LifespanManager

import lmsplans
from lmsplans.server.app import create_app
from lmsplans.server.clock import ManualClock
from lmsplans.server.settings import Settings, redacted


def closed_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there now


async def serve_requests(settings: Settings, clock: ManualClock) -> list[httpx.Response]:
    """A few requests of every kind, through the whole app, which is then stopped."""
    app = create_app(settings, clock=clock)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.7", 4242))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return [
                await http.get("/healthz"),
                await http.get("/api/v1/learning-plans", headers={"X-Request-Id": "mine-42"}),
                await http.get("/no/such/path"),
                await http.post("/oauth/v2/token?grant_type=refresh_token&client_secret=s3cret"),
                await http.delete("/healthz"),
            ]


async def test_every_answer_has_one_access_line_with_its_request_id(
    database_url: str, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=database_url, log_format="json")
    capsys.readouterr()
    responses = await serve_requests(settings, clock)
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/learning-plans", 401),
        ("GET", "/no/such/path", 404),
        ("POST", "/oauth/v2/token", 400),
        ("DELETE", "/healthz", 405),
    ]
    assert [line["requestId"] for line in lines] == [r.headers["x-request-id"] for r in responses]
    assert lines[1]["requestId"] == "mine-42"
    assert {line["client"] for line in lines} == {"127.0.0.7"}
    assert all(line["logger"] == "lmsplans.access" and line["durationMs"] >= 0 for line in lines)
    assert "s3cret" not in out


async def test_the_access_log_can_be_turned_off(
    database_url: str, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    responses = await serve_requests(Settings(database_url=database_url, access_log=False), clock)
    assert len(responses) == 5
    assert capsys.readouterr().out == ""


async def test_the_start_line_names_the_address_database_limiter_and_data_dir(
    database_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=database_url, host="127.0.0.3", port=8123)
    with caplog.at_level(logging.INFO, logger="lmsplans"):
        await serve_requests(settings, clock)
    [line] = [r for r in caplog.records if r.name == "lmsplans" and r.levelno == logging.INFO]
    message = line.getMessage()
    assert message.startswith(f"lmsplans {lmsplans.__version__} serving http://127.0.0.3:8123 ")
    assert f"database {redacted(database_url)}," in message
    assert "limiter in-process (this process only)" in message
    assert f"data dir {settings.data_dir}" in message
    assert "access log on (text)" in message
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_redis_that_does_not_answer_is_a_warning_at_start(
    database_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    redis_url = f"redis://:sekrit@127.0.0.1:{closed_port()}/0"
    settings = Settings(database_url=database_url, redis_url=redis_url)
    with caplog.at_level(logging.INFO, logger="lmsplans"):
        responses = await serve_requests(settings, clock)
    assert responses[1].status_code == 503  # an API call, with its limiter down
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == (
        f"The limiter (Redis at {redacted(redis_url)}) does not answer: API calls answer "
        "503 7503 until it does"
    )
    assert "sekrit" not in caplog.text
