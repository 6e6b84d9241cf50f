"""`AsyncTokenManager`: the token to send, minted from the refresh token when it is due."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from lmsplans.client._answers import AccessToken, check_response, parse_token_response
from lmsplans.client._auth import Credentials, missing_credentials
from lmsplans.client._retry import connection_error

__all__ = ["AsyncTokenManager"]


class AsyncTokenManager:
    """Tokens for the client: one refresh at a time, however many callers want a token (they
    wait for its result); the credentials, the budget and the current token in `credentials`."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        http: httpx.AsyncClient,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.credentials = credentials
        self._http = http
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A token to send now, refreshed first if it is about to expire."""
        async with self._lock:
            c = self.credentials
            if c.needs_refresh():
                if not c.can_refresh:
                    raise missing_credentials()
                await self._refresh()
            assert c.state.token is not None
            return c.state.token

    async def invalidate(self, token: str) -> bool:
        """The server refused `token`: refresh before the next call. False if it cannot."""
        async with self._lock:
            return self.credentials.forget(token)

    async def refresh(self) -> AccessToken:
        """Mint a new access token now."""
        async with self._lock:
            if not self.credentials.can_refresh:
                raise missing_credentials()
            return await self._refresh()

    async def revoke(self, token: str) -> None:
        """Revoke a refresh or access token at the token endpoint."""
        response = await self._http.post(self.credentials.revoke_url, data={"token": token})
        check_response(response)
        async with self._lock:
            self.credentials.after_revoke(token)

    async def _refresh(self) -> AccessToken:
        c = self.credentials
        for attempt in range(c.retry.max_retries + 1):
            last = attempt == c.retry.max_retries
            c.budget.spend()
            try:
                response = await self._http.post(c.token_url, data=c.form())
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.ConnectError):
                    c.budget.refund()
                if last:
                    raise connection_error(exc) from exc
                await self._sleep(c.retry.backoff(attempt))
                continue
            if response.status_code >= 500 and not last:
                await self._sleep(c.retry.backoff(attempt))
                continue
            issued = parse_token_response(response)
            c.state.update(issued, c.clock())
            return issued
        raise AssertionError("unreachable")  # pragma: no cover
