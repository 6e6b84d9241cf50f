"""`InProcessLimiter` on its own: the sliding window, the lock, the header fields, memory."""

from __future__ import annotations

import pytest

from lmsplans.server.ratelimit import Decision, InProcessLimiter


class Time:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 5_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(
    time: Time, *, threshold: int = 3, window: float = 60, lock: float = 300
) -> InProcessLimiter:
    return InProcessLimiter(
        threshold=threshold, window_seconds=window, lock_seconds=lock, clock=time
    )


async def hits(lim: InProcessLimiter, key: str, n: int) -> list[Decision]:
    return [await lim.hit(key) for _ in range(n)]


async def test_threshold_calls_pass_then_the_lock() -> None:
    time = Time()
    lim = limiter(time)
    passed = await hits(lim, "k", 3)
    assert [d.allowed for d in passed] == [True, True, True]
    assert [d.remaining for d in passed] == [2, 1, 0]
    assert all(d.retry_after is None and d.reset_seconds == 60 for d in passed)
    refused = await lim.hit("k")
    assert refused == Decision(False, 3, 0, 60, 300, retry_after=300)


async def test_a_call_exactly_one_window_later_has_left_the_window() -> None:
    time = Time()
    lim = limiter(time)
    await lim.hit("k")  # t = 0
    time.now += 30
    await hits(lim, "k", 2)  # t = 30
    time.now += 30  # t = 60: the call of t = 0 is exactly one window old, so outside it
    decision = await lim.hit("k")
    assert decision.allowed
    assert decision.remaining == 0
    assert decision.reset_seconds == 30  # when the calls of t = 30 leave


async def test_a_call_just_inside_the_window_still_counts() -> None:
    time = Time()
    lim = limiter(time)
    await lim.hit("k")  # t = 0
    time.now += 30
    await hits(lim, "k", 2)  # t = 30
    time.now += 29.999  # t = 59.999: the call of t = 0 is still inside
    decision = await lim.hit("k")
    assert not decision.allowed
    assert decision.retry_after == 300


async def test_reset_seconds_are_rounded_up() -> None:
    time = Time()
    lim = limiter(time)
    await lim.hit("k")
    time.now += 0.4
    assert (await lim.hit("k")).reset_seconds == 60  # 59.6 s, rounded up
    time.now += 59.5
    assert (await lim.hit("k")).reset_seconds == 1  # 0.1 s, rounded up


async def test_calls_during_the_lock_do_not_extend_it() -> None:
    time = Time()
    lim = limiter(time)
    await hits(lim, "k", 4)
    time.now += 100
    for _ in range(10):
        decision = await lim.hit("k")
        assert not decision.allowed
        assert decision.retry_after == 200
        assert decision.reset_seconds == 200
    time.now += 199.25
    assert (await lim.hit("k")).retry_after == 1  # 0.75 s left, rounded up
    time.now += 0.75  # exactly at the end of the lock
    assert (await lim.hit("k")).allowed


async def test_retry_after_is_never_zero() -> None:
    time = Time()
    lim = limiter(time)
    await hits(lim, "k", 4)
    time.now += 299.9999
    assert (await lim.hit("k")).retry_after == 1


async def test_the_window_starts_empty_after_the_lock() -> None:
    """A lock shorter than the window: the calls before it are forgotten when it ends."""
    time = Time()
    lim = limiter(time, lock=10)
    await hits(lim, "k", 4)
    time.now += 10
    passed = await hits(lim, "k", 3)
    assert [d.remaining for d in passed] == [2, 1, 0]
    refused = await lim.hit("k")
    assert not refused.allowed
    assert refused.retry_after == 10


async def test_keys_are_independent() -> None:
    time = Time()
    lim = limiter(time)
    await hits(lim, "a", 4)
    assert not (await lim.hit("a")).allowed
    assert [d.allowed for d in await hits(lim, "b", 3)] == [True, True, True]
    assert (await lim.hit("b")).allowed is False


async def test_header_fields() -> None:
    time = Time()
    lim = limiter(time, threshold=30, window=60)
    decision = await lim.hit("k")
    assert decision.headers() == {
        "RateLimit-Policy": '"api";q=30;w=60',
        "RateLimit": '"api";r=29;t=60',
    }
    await hits(lim, "k", 29)
    time.now += 12.5
    refused = await lim.hit("k")
    assert refused.headers() == {
        "RateLimit-Policy": '"api";q=30;w=60',
        "RateLimit": '"api";r=0;t=300',
        "Retry-After": "300",
    }
    for answer in (decision, refused):  # the encoded fields API answers carry say the same
        assert answer.raw_headers() == [
            (name.lower().encode(), value.encode()) for name, value in answer.headers().items()
        ]


async def test_fractional_window_is_rounded_up_in_the_policy() -> None:
    lim = limiter(Time(), window=0.5, lock=1)
    assert (await lim.hit("k")).headers()["RateLimit-Policy"] == '"api";q=3;w=1'


async def test_ping() -> None:
    assert await limiter(Time()).ping() is True


# --- Memory: idle keys are swept -----------------------------------------------------------------


async def test_idle_keys_are_forgotten() -> None:
    time = Time()
    lim = limiter(time, window=60)
    for index in range(100):
        await lim.hit(f"caller-{index}")
    assert len(lim._keys) == 100
    time.now += 60  # every call is now one window old
    await lim.hit("fresh")
    assert set(lim._keys) == {"fresh"}


async def test_active_keys_are_kept_by_the_sweep() -> None:
    time = Time()
    lim = limiter(time, window=60)
    await lim.hit("idle")
    time.now += 30
    await lim.hit("active")
    time.now += 30  # the sweep is due: "idle" is one window old, "active" is not
    await lim.hit("other")
    assert set(lim._keys) == {"active", "other"}
    # And the kept key still counts its call.
    await lim.hit("active")
    await lim.hit("active")
    assert not (await lim.hit("active")).allowed


async def test_locked_keys_survive_the_sweep_until_the_lock_ends() -> None:
    time = Time()
    lim = limiter(time, window=60, lock=300)
    await hits(lim, "locked", 4)
    for _ in range(4):  # several sweeps during the lock
        time.now += 70
        await lim.hit("other")
        assert "locked" in lim._keys
    assert not (await lim.hit("locked")).allowed  # t = 280
    time.now += 60  # t = 340: the lock is over and the next sweep is due
    await lim.hit("other")
    assert "locked" not in lim._keys
    assert (await lim.hit("locked")).allowed


async def test_the_sweep_runs_at_most_once_a_window() -> None:
    time = Time()
    lim = limiter(time, window=60)
    await lim.hit("a")
    time.now += 61
    await lim.hit("b")  # sweeps "a"
    assert set(lim._keys) == {"b"}
    time.now += 1
    await lim.hit("c")
    time.now += 61  # "b" and "c" idle now; the next hit sweeps
    await lim.hit("d")
    assert set(lim._keys) == {"d"}


@pytest.mark.parametrize("threshold", [1, 2, 30])
async def test_any_threshold(threshold: int) -> None:
    time = Time()
    lim = limiter(time, threshold=threshold)
    passed = await hits(lim, "k", threshold)
    assert all(d.allowed for d in passed)
    assert passed[-1].remaining == 0
    assert not (await lim.hit("k")).allowed
