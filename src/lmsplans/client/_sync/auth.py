# Generated from src/lmsplans/client/_async/auth.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""`TokenManager`: the token to send, minted from the refresh token when it is due."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from lmsplans.client._answers import AccessToken, check_response, parse_token_response
from lmsplans.client._auth import Credentials, missing_credentials
from lmsplans.client._retry import connection_error

__all__ = ["TokenManager"]


class TokenManager:
    """Tokens for the client: one refresh at a time, however many callers want a token (they
    wait for its result); the credentials, the budget and the current token in `credentials`."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        http: httpx.Client,
        sleep: Callable[[float], None],
    ) -> None:
        self.credentials = credentials
        self._http = http
        self._sleep = sleep
        self._lock = threading.Lock()

    def token(self) -> str:
        """A token to send now, refreshed first if it is about to expire."""
        with self._lock:
            c = self.credentials
            if c.needs_refresh():
                if not c.can_refresh:
                    raise missing_credentials()
                self._refresh()
            assert c.state.token is not None
            return c.state.token

    def invalidate(self, token: str) -> bool:
        """The server refused `token`: refresh before the next call. False if it cannot."""
        with self._lock:
            return self.credentials.forget(token)

    def refresh(self) -> AccessToken:
        """Mint a new access token now."""
        with self._lock:
            if not self.credentials.can_refresh:
                raise missing_credentials()
            return self._refresh()

    def revoke(self, token: str) -> None:
        """Revoke a refresh or access token at the token endpoint."""
        response = self._http.post(self.credentials.revoke_url, data={"token": token})
        check_response(response)
        with self._lock:
            self.credentials.after_revoke(token)

    def _refresh(self) -> AccessToken:
        c = self.credentials
        for attempt in range(c.retry.max_retries + 1):
            last = attempt == c.retry.max_retries
            c.budget.spend()
            try:
                response = self._http.post(c.token_url, data=c.form())
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.ConnectError):
                    c.budget.refund()
                if last:
                    raise connection_error(exc) from exc
                self._sleep(c.retry.backoff(attempt))
                continue
            if response.status_code >= 500 and not last:
                self._sleep(c.retry.backoff(attempt))
                continue
            issued = parse_token_response(response)
            c.state.update(issued, c.clock())
            return issued
        raise AssertionError("unreachable")  # pragma: no cover
