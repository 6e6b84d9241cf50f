"""`lmsplans webhooks listen`: prints each verified delivery, refuses unsigned ones."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import LMSPLANS, cli_env, free_port

pytestmark = pytest.mark.slow

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_listen_prints_verified_deliveries_and_refuses_the_rest(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path / "unused.db")
    process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(LMSPLANS), "webhooks", "listen", "--port", str(port), "--secret", SECRET],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    body = json.dumps({"id": "evt-1", "type": "webhook.test", "data": {}})
    now = datetime.now(tz=UTC)
    signed = {
        "webhook-id": "evt-1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("evt-1", now, body),
        "content-type": "application/json",
    }
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.post(url, content=body, headers=signed, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert answer.status_code == 200
        forged = {**signed, "webhook-signature": "v1,AAAA"}
        assert httpx.post(url, content=body, headers=forged, timeout=2).status_code == 401
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert [json.loads(line) for line in out.splitlines()] == [json.loads(body)]
    assert "refused a delivery" in err
