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
  an empty window (as the server does);
- keeps `headroom` calls of each window free (the client's default: one), so a person's
  manual call with the same user does not meet the lock either.

The calls live in a `PacingStore`: in memory, or (the client's default) in a file under the
user's cache directory, shared by every process of the same user, so a restarted or a second
process starts knowing the window it is in.

It is thread-safe, and the clock and the sleep are injectable, so tests never wait.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from lmsplans.client._answers import parse_rate_limit_headers
from lmsplans.client._pacing_store import STALE_SECONDS, PacingStore, Window

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
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(slots=True)
class ApiStats:
    """What the governor saw of one API."""

    calls: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    locks: int = 0
    threshold: int = 0
    window_seconds: float = 0.0
    answered: int = 0  # calls settled
    busy_seconds: float = 0.0  # from their slot to their answer, in all

    @property
    def call_seconds(self) -> float | None:
        """How long a call takes, on average (None before the first answer)."""
        return self.busy_seconds / self.answered if self.answered else None


class Governor:
    """Paces calls per API (see the module docstring).

    Args:
        policy: the policy of every API until the server announces its own.
        per_api: policies for particular APIs, keyed `"GET /api/v1/..."` (route templates).
        follow_server: adopt the server's `RateLimit-Policy` and `RateLimit` fields.
        margin_seconds: added to every stamp, so a call never lands exactly on the window's
            edge; default: 0.5% of the window, at least 5 ms.
        headroom: calls of each window left free for someone else (a person's manual call).
        store: where the calls are kept (default: memory, this governor alone).
        scope: the store's key for this user of this server (`scope_of(base_url, token)`).
        clock: monotonic seconds (injectable for tests).
        wall_clock: the clock other processes share, for a shared store's times.
        sleep: blocking sleep used by `acquire` (injectable for tests).
        async_sleep: the sleep used by `acquire_async`.

    One governor may be shared by several clients that call as the same user, so they share
    the user's budget; a store in a file shares it with other processes too.
    """

    def __init__(
        self,
        policy: RateLimitPolicy | None = None,
        *,
        per_api: Mapping[str, RateLimitPolicy] | None = None,
        follow_server: bool = True,
        margin_seconds: float | None = None,
        headroom: int = 0,
        store: PacingStore | None = None,
        scope: str = "",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if headroom < 0:
            raise ValueError(f"headroom must not be negative: {headroom}")
        self.policy = policy or RateLimitPolicy()
        self.per_api = dict(per_api or {})
        self.follow_server = follow_server
        self.headroom = headroom
        self._margin = margin_seconds
        self.store = store or PacingStore()
        self.scope = scope
        self.clock = clock
        self.sleep = sleep
        self.async_sleep = async_sleep
        # A shared store holds wall-clock times: this clock, shifted onto the wall clock.
        self._shift = wall_clock() - clock() if self.store.shared else 0.0
        self._stats: dict[str, ApiStats] = {}
        self._stats_lock = threading.Lock()
        if self.store.shared:
            self.store.forget_old(self._now())

    # --- reserving a slot ---------------------------------------------------------------

    def try_acquire(self, api: str) -> Ticket | float:
        """A ticket if a call to `api` may go now, else how many seconds to wait first."""
        with self.store.transaction(self.scope, api) as window:
            now = self._now()
            policy = self._policy(window, api)
            locked_until = window.locked_until()
            if locked_until:
                if now < locked_until:
                    return locked_until - now
                window.set_locked_until(0.0, now)  # the lock is over: the window starts empty
                window.clear_settled()
            window.expire(now - policy.window_seconds, now - policy.window_seconds - STALE_SECONDS)
            settled, reserved = window.counts()
            used = settled + reserved
            limit = self._limit(policy)
            if used < limit:
                ticket = Ticket(api, now)
                window.reserve(ticket.key, now)
                self._stats_of(api).calls += 1
                return ticket
            # Enough completed calls must leave the window to make room for one more.
            leaving = used - limit + 1
            if settled >= leaving:
                oldest = window.nth_settled(leaving - 1)
                return max(oldest + policy.window_seconds - now, 1e-3)
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
        with self.store.transaction(self.scope, ticket.api) as window:
            now = self._now()
            policy = self._policy(window, ticket.api)
            window.unreserve(ticket.key)
            follow = headers is not None and self.follow_server
            announced = parse_rate_limit_headers(headers) if follow and headers else None
            if announced is not None:
                policy = self._adopt_policy(window, policy, announced[0], announced[1], now)
            stamp = now + self._margin_for(policy)
            window.add_settled(stamp)
            stats = self._stats_of(ticket.api)
            with self._stats_lock:
                stats.answered += 1
                stats.busy_seconds += max(0.0, now - ticket.reserved_at)
            if announced is not None and announced[2] is not None:
                self._reconcile(window, policy, ticket, announced[2], stamp)

    def release(self, ticket: Ticket) -> None:
        """The call never left this process: give the slot back uncounted."""
        with self.store.transaction(self.scope, ticket.api) as window:
            window.unreserve(ticket.key)
        self._stats_of(ticket.api).calls -= 1

    def lock(self, api: str, seconds: float) -> None:
        """The server locked `api` for `seconds`: hold every call to it until then."""
        with self.store.transaction(self.scope, api) as window:
            now = self._now()
            until = now + max(0.0, seconds)
            if until > window.locked_until():
                window.set_locked_until(until, now)
                self._stats_of(api).locks += 1
            window.clear_settled()

    def lock_seconds(self, api: str) -> float:
        """The lock period assumed for `api` when a 429 does not say how long to wait."""
        return self.per_api.get(api, self.policy).lock_seconds

    def stats(self, api: str) -> ApiStats:
        """A copy of what the governor saw of `api`."""
        with self.store.transaction(self.scope, api) as window:
            policy = self._policy(window, api)
        s = self._stats_of(api)
        return ApiStats(
            calls=s.calls,
            waits=s.waits,
            waited_seconds=s.waited_seconds,
            locks=s.locks,
            threshold=policy.threshold,
            window_seconds=policy.window_seconds,
            answered=s.answered,
            busy_seconds=s.busy_seconds,
        )

    def apis(self) -> list[str]:
        """The APIs this governor has paced calls to."""
        with self._stats_lock:
            return list(self._stats)

    def estimate(self, api: str, calls: int, *, call_seconds: float = 0.0) -> float:
        """Seconds until `calls` more calls to `api`, made one after another and each taking
        `call_seconds`, are done: with the waits the threshold imposes given the calls already
        in the window (this process's and, with a shared store, the others'), and a lock."""
        if calls <= 0:
            return 0.0
        with self.store.transaction(self.scope, api) as window:
            now = self._now()
            policy = self._policy(window, api)
            locked_until = window.locked_until()
            stamps = [] if locked_until > now else window.settled_stamps()
            _, reserved = window.counts()
        margin = self._margin_for(policy)
        start = max(now, locked_until)
        held = deque(sorted(stamps + [start + call_seconds + margin] * reserved))
        return (
            _finish(
                start, held, calls, self._limit(policy), policy.window_seconds, call_seconds, margin
            )
            - now
        )

    # --- internals ----------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock() + self._shift

    def _limit(self, policy: RateLimitPolicy) -> int:
        return max(1, policy.threshold - self.headroom)

    def _policy(self, window: Window, api: str) -> RateLimitPolicy:
        configured = self.per_api.get(api, self.policy)
        learned = window.policy() if self.follow_server else None
        if learned is None or learned == (configured.threshold, configured.window_seconds):
            return configured
        return RateLimitPolicy(learned[0], learned[1], configured.lock_seconds)

    def _stats_of(self, api: str) -> ApiStats:
        with self._stats_lock:
            stats = self._stats.get(api)
            if stats is None:
                stats = self._stats[api] = ApiStats()
            return stats

    def _margin_for(self, policy: RateLimitPolicy) -> float:
        if self._margin is not None:
            return self._margin
        return max(0.005, policy.window_seconds * 0.005)

    def _note_wait(self, api: str, seconds: float) -> None:
        stats = self._stats_of(api)
        with self._stats_lock:
            stats.waits += 1
            stats.waited_seconds += seconds

    @staticmethod
    def _adopt_policy(
        window: Window,
        policy: RateLimitPolicy,
        quota: int | None,
        seconds: float | None,
        now: float,
    ) -> RateLimitPolicy:
        if quota is None or quota < 1:
            return policy
        new_window = seconds if seconds is not None and seconds > 0 else policy.window_seconds
        if quota == policy.threshold and new_window == policy.window_seconds:
            return policy
        window.save_policy(quota, new_window, now)
        return RateLimitPolicy(quota, new_window, policy.lock_seconds)

    @staticmethod
    def _reconcile(
        window: Window, policy: RateLimitPolicy, ticket: Ticket, remaining: int, stamp: float
    ) -> None:
        # Calls known here that the server may have counted for this one: those in the window
        # when it was reserved, plus those still in flight.
        horizon = ticket.reserved_at - policy.window_seconds
        known = window.settled_after(horizon) + window.counts()[1]
        server_used = policy.threshold - remaining
        unseen = min(server_used - known, policy.threshold)
        if unseen > 0:
            window.add_settled(stamp, unseen)  # calls made elsewhere with the same user and API


def _finish(
    start: float,
    held: deque[float],
    calls: int,
    limit: int,
    window: float,
    call_seconds: float,
    margin: float,
) -> float:
    """When `calls` sequential calls end, starting at `start` with `held` stamps in the
    window: the first few windows exactly, the rest at the steady pace."""
    t = start
    exact = min(calls, 4 * limit)
    for _ in range(exact):
        while held and held[0] <= t - window:
            held.popleft()
        if len(held) >= limit:
            t = max(t, held[len(held) - limit] + window)
            while held and held[0] <= t - window:
                held.popleft()
        t += call_seconds
        held.append(t + margin)
    rest = calls - exact
    if rest:
        t += rest / limit * max(window + call_seconds + margin, limit * call_seconds)
    return t
