"""The pacing governor: keeps every API under its threshold, so a long job never meets a lock.

Zoho counts calls per user and API (method plus route template): 30 in any minute, and the
31st locks that API for 5 minutes. The governor keeps, per API, a sliding log of the calls
made and holds a call back until it fits in the window. It

- starts from a configured policy (default 30 calls in 60 s) and adopts the server's
  `RateLimit-Policy` (`q`, `w`) as soon as an answer carries it;
- reads the server's `RateLimit` (`r` remaining) and, when the server has seen more calls than
  this process made (another process using the same user), counts the difference as calls of
  its own, so the shared budget is respected;
- stamps each call with the time its answer arrived, which is never earlier than the time the
  server counted it, so "out of my window" always means "out of the server's window";
- when a lock comes anyway, holds every call to that API until the lock ends, then starts with
  an empty window (as the server does).

It is thread-safe, and the clock and the sleep are injectable, so tests never wait.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["ApiStats", "Governor", "RateLimitPolicy", "Ticket", "parse_rate_limit_headers"]

# No real wait is this long; a bound keeps every loop finite even with a broken clock.
_MAX_SPINS = 1_000_000
_POLL_SECONDS = 0.01  # when the window is full of calls still in flight


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """A threshold of `threshold` calls in any `window_seconds`; a lock of `lock_seconds`.

    The defaults are Zoho's: 30 calls a minute, a 5-minute lock. `lock_seconds` is only used
    when a 429 answer says nothing about how long to wait.
    """

    threshold: int = 30
    window_seconds: float = 60.0
    lock_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.window_seconds <= 0 or self.lock_seconds < 0:
            raise ValueError(f"invalid rate-limit policy: {self}")


@dataclass(frozen=True, slots=True)
class Ticket:
    """A reserved slot for one call to `api`; give it back with `settle` or `release`."""

    api: str
    reserved_at: float


@dataclass(slots=True)
class ApiStats:
    """What the governor saw of one API."""

    calls: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    locks: int = 0
    threshold: int = 0
    window_seconds: float = 0.0


@dataclass(slots=True)
class _ApiState:
    policy: RateLimitPolicy
    log: deque[float] = field(default_factory=deque)  # stamps of calls in the window, sorted
    inflight: int = 0
    locked_until: float = 0.0
    stats: ApiStats = field(default_factory=ApiStats)


def _params(item: str) -> tuple[str, dict[str, str]]:
    """`"api";q=30;w=60` -> ("api", {"q": "30", "w": "60"})."""
    parts = [p.strip() for p in item.split(";")]
    values: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        values[key.strip().lower()] = value.strip().strip('"')
    return parts[0], values


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_rate_limit_headers(
    headers: Mapping[str, str],
) -> tuple[int | None, float | None, int | None, float | None]:
    """The (quota, window, remaining, reset) a response announces, each None when absent.

    Reads the IETF draft fields `RateLimit-Policy: "api";q=30;w=60` and
    `RateLimit: "api";r=29;t=60`, and the older `RateLimit-Limit` / `-Remaining` / `-Reset`
    (with `RateLimit-Policy: 30;w=60`). Only the first policy listed is used.
    """
    quota: int | None = None
    window: float | None = None
    remaining: int | None = None
    reset: float | None = None
    policy = headers.get("ratelimit-policy")
    if policy:
        head, values = _params(policy.split(",")[0])
        q = _number(values.get("q")) if "q" in values else _number(head)
        quota = int(q) if q is not None else None
        window = _number(values.get("w"))
    current = headers.get("ratelimit")
    if current:
        _, values = _params(current.split(",")[0])
        r = _number(values.get("r"))
        remaining = int(r) if r is not None else None
        reset = _number(values.get("t"))
    if quota is None:
        q = _number(headers.get("ratelimit-limit"))
        quota = int(q) if q is not None else None
    if remaining is None:
        r = _number(headers.get("ratelimit-remaining"))
        remaining = int(r) if r is not None else None
    if reset is None:
        reset = _number(headers.get("ratelimit-reset"))
    return quota, window, remaining, reset


class Governor:
    """Paces calls per API (see the module docstring).

    Args:
        policy: the policy of every API until the server announces its own.
        per_api: policies for particular APIs, keyed `"GET /api/v1/..."` (route templates).
        follow_server: adopt the server's `RateLimit-Policy` and `RateLimit` fields.
        margin_seconds: added to every stamp, so a call never lands exactly on the window's
            edge; default: 0.5% of the window, at least 5 ms.
        clock: monotonic seconds (injectable for tests).
        sleep: blocking sleep used by `acquire` (injectable for tests).
        async_sleep: the sleep used by `acquire_async`.

    One governor may be shared by several clients that call as the same user, so they share
    the user's budget.
    """

    def __init__(
        self,
        policy: RateLimitPolicy | None = None,
        *,
        per_api: Mapping[str, RateLimitPolicy] | None = None,
        follow_server: bool = True,
        margin_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy = policy or RateLimitPolicy()
        self.per_api = dict(per_api or {})
        self.follow_server = follow_server
        self._margin = margin_seconds
        self.clock = clock
        self.sleep = sleep
        self.async_sleep = async_sleep
        self._lock = threading.Lock()
        self._apis: dict[str, _ApiState] = {}

    # --- reserving a slot ---------------------------------------------------------------

    def try_acquire(self, api: str) -> Ticket | float:
        """A ticket if a call to `api` may go now, else how many seconds to wait first."""
        with self._lock:
            now = self.clock()
            state = self._state(api)
            if state.locked_until:
                if now < state.locked_until:
                    return state.locked_until - now
                state.locked_until = 0.0  # the lock is over: the window starts empty
                state.log.clear()
            self._expire(state, now)
            used = len(state.log) + state.inflight
            if used < state.policy.threshold:
                state.inflight += 1
                state.stats.calls += 1
                return Ticket(api, now)
            # Enough completed calls must leave the window to make room for one more.
            leaving = used - state.policy.threshold + 1
            if len(state.log) >= leaving:
                return max(state.log[leaving - 1] + state.policy.window_seconds - now, 1e-3)
            return _POLL_SECONDS  # the window is full of calls still in flight

    def acquire(self, api: str) -> Ticket:
        """Block (with the injected sleep) until a call to `api` may go; return its ticket."""
        for _ in range(_MAX_SPINS):
            result = self.try_acquire(api)
            if isinstance(result, Ticket):
                return result
            self._note_wait(api, result)
            self.sleep(result)
        raise RuntimeError(f"rate-limit governor: no slot for {api}")  # pragma: no cover

    async def acquire_async(self, api: str) -> Ticket:
        """`acquire` for asyncio: waits with the injected async sleep."""
        for _ in range(_MAX_SPINS):
            result = self.try_acquire(api)
            if isinstance(result, Ticket):
                return result
            self._note_wait(api, result)
            await self.async_sleep(result)
        raise RuntimeError(f"rate-limit governor: no slot for {api}")  # pragma: no cover

    # --- after the call -----------------------------------------------------------------

    def settle(self, ticket: Ticket, headers: Mapping[str, str] | None = None) -> None:
        """The call reached the server (or may have): count it from now, and learn from the
        answer's rate-limit fields if there were any."""
        with self._lock:
            now = self.clock()
            state = self._state(ticket.api)
            state.inflight = max(0, state.inflight - 1)
            follow = headers is not None and self.follow_server
            announced = parse_rate_limit_headers(headers) if follow and headers else None
            if announced is not None:
                self._adopt_policy(state, announced[0], announced[1])
            stamp = now + self._margin_for(state.policy)
            bisect.insort(state.log, stamp)
            if announced is not None and announced[2] is not None:
                self._reconcile(state, ticket, announced[2], stamp)

    def release(self, ticket: Ticket) -> None:
        """The call never left this process: give the slot back uncounted."""
        with self._lock:
            state = self._state(ticket.api)
            state.inflight = max(0, state.inflight - 1)
            state.stats.calls -= 1

    def lock(self, api: str, seconds: float) -> None:
        """The server locked `api` for `seconds`: hold every call to it until then."""
        with self._lock:
            state = self._state(api)
            until = self.clock() + max(0.0, seconds)
            if until > state.locked_until:
                state.locked_until = until
                state.stats.locks += 1
            state.log.clear()

    def lock_seconds(self, api: str) -> float:
        """The lock period assumed for `api` when a 429 does not say how long to wait."""
        with self._lock:
            return self._state(api).policy.lock_seconds

    def stats(self, api: str) -> ApiStats:
        """A copy of what the governor saw of `api`."""
        with self._lock:
            state = self._state(api)
            s = state.stats
            return ApiStats(
                calls=s.calls,
                waits=s.waits,
                waited_seconds=s.waited_seconds,
                locks=s.locks,
                threshold=state.policy.threshold,
                window_seconds=state.policy.window_seconds,
            )

    # --- internals ----------------------------------------------------------------------

    def _state(self, api: str) -> _ApiState:
        state = self._apis.get(api)
        if state is None:
            state = self._apis[api] = _ApiState(self.per_api.get(api, self.policy))
        return state

    def _margin_for(self, policy: RateLimitPolicy) -> float:
        if self._margin is not None:
            return self._margin
        return max(0.005, policy.window_seconds * 0.005)

    @staticmethod
    def _expire(state: _ApiState, now: float) -> None:
        horizon = now - state.policy.window_seconds
        log = state.log
        while log and log[0] <= horizon:
            log.popleft()

    def _note_wait(self, api: str, seconds: float) -> None:
        with self._lock:
            stats = self._state(api).stats
            stats.waits += 1
            stats.waited_seconds += seconds

    @staticmethod
    def _adopt_policy(state: _ApiState, quota: int | None, window: float | None) -> None:
        if quota is None or quota < 1:
            return
        policy = state.policy
        new_window = window if window is not None and window > 0 else policy.window_seconds
        if quota != policy.threshold or new_window != policy.window_seconds:
            state.policy = RateLimitPolicy(
                threshold=quota, window_seconds=new_window, lock_seconds=policy.lock_seconds
            )

    @staticmethod
    def _reconcile(state: _ApiState, ticket: Ticket, remaining: int, stamp: float) -> None:
        # Calls this process knows of that the server may have counted for this one: those
        # in the window when it was reserved, plus those still in flight.
        horizon = ticket.reserved_at - state.policy.window_seconds
        known = sum(1 for s in state.log if s > horizon) + state.inflight
        server_used = state.policy.threshold - remaining
        unseen = min(server_used - known, state.policy.threshold)
        for _ in range(max(0, unseen)):
            bisect.insort(state.log, stamp)  # calls made elsewhere with the same user and API
