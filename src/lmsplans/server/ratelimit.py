"""The threshold and lock of spec section 4, behind a small interface.

Calls 1..threshold inside any sliding window pass; the next one starts a lock during which
every call is refused with the seconds left. Calls during the lock do not extend it, and
when it ends the window starts empty. A Redis implementation shares this across processes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from lmsplans.server.batching import Batcher
from lmsplans.server.errors import ServiceUnavailable


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    window_seconds: float
    reset_seconds: int  # until a call is certainly allowed again
    retry_after: int | None = None  # set when refused

    @classmethod
    def refused(cls, limit: int, window_seconds: float, seconds_left: float) -> Decision:
        """A refusal while the lock has `seconds_left`: Retry-After whole seconds, at least 1."""
        wait = max(1, math.ceil(seconds_left))
        return cls(False, limit, 0, window_seconds, wait, retry_after=wait)

    def headers(self) -> dict[str, str]:
        """IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers)."""
        window = math.ceil(self.window_seconds)
        headers = {
            "RateLimit-Policy": f'"api";q={self.limit};w={window}',
            "RateLimit": f'"api";r={self.remaining};t={self.reset_seconds}',
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The same fields, encoded, to append to a response (on every API answer: built
        straight as bytes)."""
        window = math.ceil(self.window_seconds)
        fields = [
            (b"ratelimit-policy", b'"api";q=%d;w=%d' % (self.limit, window)),
            (b"ratelimit", b'"api";r=%d;t=%d' % (self.remaining, self.reset_seconds)),
        ]
        if self.retry_after is not None:
            fields.append((b"retry-after", b"%d" % self.retry_after))
        return fields


class Limiter(Protocol):
    async def hit(self, key: str) -> Decision:
        """Count one call for `key` and say whether it may proceed."""
        ...

    async def ping(self) -> bool:
        """Whether the limiter's storage is reachable."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(slots=True)
class _KeyState:
    calls: deque[float]
    locked_until: float = 0.0


class InProcessLimiter:
    """A sliding-log limiter in this process's memory; right for one server process only."""

    def __init__(
        self,
        *,
        threshold: int,
        window_seconds: float,
        lock_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window_seconds
        self.lock = lock_seconds
        self._clock = clock
        self._keys: dict[str, _KeyState] = {}
        self._next_sweep = 0.0

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        """Nothing to release."""

    async def hit(self, key: str) -> Decision:
        now = self._clock()
        self._sweep(now)
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(deque())
        if state.locked_until:
            if now < state.locked_until:
                return self._refused(state.locked_until - now)
            state.locked_until = 0.0  # the lock is over: the window starts empty
            state.calls.clear()
        calls = state.calls
        horizon = now - self.window
        while calls and calls[0] <= horizon:
            calls.popleft()
        if len(calls) >= self.threshold:
            calls.clear()
            state.locked_until = now + self.lock
            return self._refused(self.lock)
        calls.append(now)
        remaining = self.threshold - len(calls)
        # Quota comes back when the oldest call in the window slides out of it.
        reset = calls[0] + self.window - now
        return Decision(True, self.threshold, remaining, self.window, math.ceil(reset))

    def _refused(self, seconds_left: float) -> Decision:
        return Decision.refused(self.threshold, self.window, seconds_left)

    def _sweep(self, now: float) -> None:
        """Forget idle keys now and then, so memory stays bounded by the active callers."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        horizon = now - self.window
        idle = [
            key
            for key, state in self._keys.items()
            if state.locked_until <= now and (not state.calls or state.calls[-1] <= horizon)
        ]
        for key in idle:
            del self._keys[key]


# One round trip for a batch of calls (`batching.Batcher`), each counted in turn and the whole
# atomic: Redis runs a script alone. KEYS holds (calls, lock) per call; the answer is
# (allowed, remaining, ms until reset) per call. Times come from Redis's own clock, so every
# server process counts on the same clock.
_REDIS_HITS = """
local threshold, window_ms, lock_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local answers = {}
for i = 1, #KEYS, 2 do
  local calls, lock = KEYS[i], KEYS[i + 1]
  local locked_for = redis.call('PTTL', lock)
  if locked_for > 0 then
    table.insert(answers, {0, 0, locked_for})
  else
    redis.call('ZREMRANGEBYSCORE', calls, '-inf', now - window_ms)
    local count = redis.call('ZCARD', calls)
    if count >= threshold then
      redis.call('DEL', calls)
      redis.call('SET', lock, '1', 'PX', lock_ms)
      table.insert(answers, {0, 0, lock_ms})
    else
      local seq = redis.call('INCR', calls .. ':seq')
      redis.call('ZADD', calls, now, now .. ':' .. t[2] .. ':' .. seq)
      redis.call('PEXPIRE', calls, window_ms)
      redis.call('PEXPIRE', calls .. ':seq', window_ms)
      local oldest = redis.call('ZRANGE', calls, 0, 0, 'WITHSCORES')
      table.insert(answers, {1, threshold - count - 1, tonumber(oldest[2]) + window_ms - now})
    end
  end
end
return answers
"""


# What a call to Redis raises when Redis cannot be reached. Under uvloop, the first write on
# a pooled connection that Redis has reset raises RuntimeError ("the handler is closed")
# rather than a connection error; in these calls it can mean nothing else.
_UNREACHABLE = (RedisError, OSError, RuntimeError)


class RedisLimiter:
    """The same semantics as `InProcessLimiter`, shared by every process using one Redis.

    If Redis cannot be reached, calls are refused with 503 7503: limiting never silently
    stops.
    """

    def __init__(
        self,
        client: Redis,
        *,
        threshold: int,
        window_seconds: float,
        lock_seconds: float,
        prefix: str = "lmsplans:rl:",
    ) -> None:
        self.threshold = threshold
        self.window = window_seconds
        self.lock = lock_seconds
        self._redis = client
        self._prefix = prefix
        self._script = client.register_script(_REDIS_HITS)
        # Calls that come while a script is running go together in the next one.
        self._batches: Batcher[str, Decision] = Batcher(self._hit_all)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        threshold: int,
        window_seconds: float,
        lock_seconds: float,
        prefix: str = "lmsplans:rl:",
    ) -> RedisLimiter:
        client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(
            client,
            threshold=threshold,
            window_seconds=window_seconds,
            lock_seconds=lock_seconds,
            prefix=prefix,
        )

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except _UNREACHABLE:
            return False

    async def hit(self, key: str) -> Decision:
        return await self._batches.submit(key)

    async def _hit_all(self, keys: list[str]) -> list[Decision]:
        names = []
        for key in keys:
            names += [self._prefix + key, self._prefix + key + ":lock"]
        try:
            answers = await self._script(
                keys=names,
                args=[self.threshold, round(self.window * 1000), round(self.lock * 1000)],
            )
        except _UNREACHABLE as exc:
            raise ServiceUnavailable(
                "Service unavailable: the rate limiter (Redis) cannot be reached"
            ) from exc
        return [self._decision(*answer) for answer in answers]

    def _decision(self, allowed: int, remaining: int, reset_ms: int) -> Decision:
        if not allowed:
            return Decision.refused(self.threshold, self.window, int(reset_ms) / 1000)
        reset = math.ceil(int(reset_ms) / 1000)
        return Decision(True, self.threshold, int(remaining), self.window, reset)
