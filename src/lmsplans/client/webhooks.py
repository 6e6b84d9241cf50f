"""Receiving webhooks: verify a delivery's signature (Standard Webhooks) with the endpoint's
secret, in a few lines, whatever web framework receives it::

    from lmsplans.client import webhooks

    event = webhooks.verify(request_body, request_headers, "whsec_...")
    print(event["type"], event["id"])

`verify` raises `WebhookVerificationError` for a signature that does not match, a missing
header, or a timestamp more than five minutes from now (a replayed request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify"]


def verify(payload: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The event a delivery carries, once its `webhook-signature` is checked against
    `secret` (`whsec_...`); raises `WebhookVerificationError` otherwise. `payload` is the
    request body exactly as received; `headers` the request's header fields."""
    event = Webhook(secret).verify(payload, dict(headers))
    if not isinstance(event, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    return event
