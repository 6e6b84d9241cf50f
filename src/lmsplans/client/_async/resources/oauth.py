"""`client.oauth`: the token endpoints (Zoho Accounts' `/oauth/v2/token` and
`/oauth/v2/token/revoke`)."""

from __future__ import annotations

from lmsplans.client._answers import AccessToken
from lmsplans.client._async.pager import AsyncResource
from lmsplans.client._errors import LmsPlansError

__all__ = ["AsyncOAuth"]


class AsyncOAuth(AsyncResource):
    """The token endpoints (Zoho Accounts' `/oauth/v2/token` and `/oauth/v2/token/revoke`)."""

    async def refresh(self) -> AccessToken:
        """Mint a new access token from the refresh token now (the client also does this by
        itself before the current token expires). Counts against the 10-per-10-minutes rule."""
        return await self._client._auth.refresh()

    async def revoke(self, token: str | None = None) -> None:
        """Revoke a token: by default the client's refresh token (and with it every access
        token it minted); the client cannot refresh afterwards."""
        target = token or self._client._auth.credentials.refresh_token
        if not target:
            raise LmsPlansError("no token to revoke")
        await self._client._auth.revoke(target)
