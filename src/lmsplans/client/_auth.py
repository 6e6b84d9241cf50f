"""Access tokens: a static one, or minted from a refresh token before the current one expires.

What the token managers (`_async/auth.py` and its generated twin) share lives here: the
credentials, the current token and the refresh budget.

One refresh at a time (a lock: threads or tasks that need a token while another refreshes wait
for its result), and never more than Zoho's 10 access tokens per refresh token in 10 minutes:
the client counts its own refreshes and refuses the 11th with `RateLimitedError` rather than
have Zoho Accounts block the refresh token.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from lmsplans.client._answers import AccessToken
from lmsplans.client._endpoints import REVOKE_PATH, TOKEN_PATH
from lmsplans.client._errors import LmsPlansError, RateLimitedError
from lmsplans.client._retry import RetryPolicy

__all__ = ["Credentials", "RefreshBudget", "missing_credentials"]

MAX_SKEW_SECONDS = 60.0  # refresh this long before expiry (a tenth of short lifetimes)


def missing_credentials() -> LmsPlansError:
    """The error of a client that has no way to authenticate."""
    return LmsPlansError(
        "no credentials: pass access_token=, or refresh_token= with client_id= and "
        "client_secret= (or set LMSPLANS_ACCESS_TOKEN, or LMSPLANS_REFRESH_TOKEN, "
        "LMSPLANS_CLIENT_ID and LMSPLANS_CLIENT_SECRET)"
    )


class RefreshBudget:
    """At most `limit` token refreshes in any `period_seconds` (Zoho: 10 in 10 minutes)."""

    def __init__(
        self,
        limit: int = 10,
        period_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.period = period_seconds
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Refreshes inside the current period."""
        with self._lock:
            self._expire(self.clock())
            return len(self._times)

    def spend(self) -> None:
        """Count one refresh, or raise `RateLimitedError` if the budget is spent."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if len(self._times) >= self.limit:
                wait = self._times[0] + self.period - now
                raise RateLimitedError(
                    f"token refresh limit: {self.limit} refreshes in {self.period:g} s already "
                    f"made; the next is allowed in {wait:.0f} s",
                    status=429,
                    retry_after=wait,
                )
            self._times.append(now)

    def refund(self) -> None:
        """The last refresh never reached the server."""
        with self._lock:
            if self._times:
                self._times.pop()

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()


@dataclass(slots=True)
class _TokenState:
    token: str | None
    expires_at: float | None = None  # monotonic; None: unknown (a token given by the caller)
    refreshes: int = 0

    def usable(self, now: float) -> bool:
        return self.token is not None and (self.expires_at is None or now < self.expires_at)

    def update(self, issued: AccessToken, now: float) -> None:
        self.token = issued.access_token
        self.refreshes += 1
        if issued.expires_in is None:
            self.expires_at = None
        else:
            skew = min(MAX_SKEW_SECONDS, issued.expires_in / 10)
            self.expires_at = now + issued.expires_in - skew


class Credentials:
    """What both token managers share: the credentials, the current token and the budget."""

    def __init__(
        self,
        *,
        access_token: str | None,
        refresh_token: str | None,
        client_id: str | None,
        client_secret: str | None,
        accounts_url: str,
        clock: Callable[[], float],
        retry: RetryPolicy,
        budget: RefreshBudget | None,
    ) -> None:
        self.refresh_token = refresh_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.can_refresh = bool(refresh_token and client_id and client_secret)
        if not access_token and not self.can_refresh:
            raise missing_credentials()
        self.token_url = accounts_url + TOKEN_PATH
        self.revoke_url = accounts_url + REVOKE_PATH
        self.clock = clock
        self.retry = retry
        self.budget = budget or RefreshBudget(clock=clock)
        self.state = _TokenState(access_token)

    @property
    def refreshes(self) -> int:
        """Access tokens minted by this client so far."""
        return self.state.refreshes

    def form(self) -> dict[str, str]:
        assert self.refresh_token and self.client_id and self.client_secret
        return {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def needs_refresh(self) -> bool:
        if self.state.usable(self.clock()):
            return False
        # A caller-given token without a refresh token is used until the server says no.
        return self.can_refresh or self.state.token is None

    def forget(self, token: str) -> bool:
        """`token` was refused; True if a refresh may fix that."""
        if self.state.token == token:
            self.state.expires_at = float("-inf")
        return self.can_refresh

    def after_revoke(self, token: str) -> None:
        if token == self.refresh_token:
            self.can_refresh = False
        if token == self.state.token:
            self.state.token = None
