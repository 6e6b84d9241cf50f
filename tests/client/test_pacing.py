"""The pacing governor with a fake clock: no test here waits."""

from __future__ import annotations

import threading

import pytest

from lmsplans.client import Governor, RateLimitedError, RateLimitPolicy, RefreshBudget, Ticket
from lmsplans.client._pacing import parse_rate_limit_headers

API = "GET /api/v1/learners/{learnerId}/learning-plans/progress"


class FakeTime:
    """A clock that moves only when slept on (or told to)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds


def governor(time: FakeTime, **kwargs: object) -> Governor:
    return Governor(
        RateLimitPolicy(threshold=30, window_seconds=60, lock_seconds=300),
        clock=time.clock,
        sleep=time.sleep,
        margin_seconds=0.0,
        **kwargs,  # type: ignore[arg-type]
    )


def call(gov: Governor, time: FakeTime, headers: dict[str, str] | None = None) -> float:
    """One paced call taking no time; returns when it was sent."""
    ticket = gov.acquire(API)
    sent = time.now
    gov.settle(ticket, headers)
    return sent


def sliding_window_holds(sent: list[float], threshold: int, window: float) -> bool:
    return all(sum(1 for t in sent if start <= t < start + window) <= threshold for start in sent)


def test_a_burst_then_each_call_when_its_slot_leaves_the_window() -> None:
    time = FakeTime()
    gov = governor(time)
    sent = [call(gov, time) for _ in range(95)]
    assert sent[:30] == [1000.0] * 30  # the threshold at once: no wait before it
    assert sent[30:60] == [1060.0] * 30  # then exactly when the window has slid
    assert sent[90:] == [1180.0] * 5
    assert sliding_window_holds(sent, 30, 60)
    stats = gov.stats(API)
    assert stats.calls == 95 and stats.locks == 0


def test_apis_are_paced_separately() -> None:
    time = FakeTime()
    gov = governor(time)
    for _ in range(30):
        gov.settle(gov.acquire(API))
    other = gov.try_acquire("GET /api/v1/learning-plans")
    assert isinstance(other, Ticket)
    assert gov.try_acquire(API) == pytest.approx(60.0)


def test_the_servers_policy_is_adopted() -> None:
    time = FakeTime()
    gov = governor(time)
    policy = {"RateLimit-Policy": '"api";q=10;w=2', "RateLimit": '"api";r=9;t=2'}
    first = call(gov, time, {k.lower(): v for k, v in policy.items()})
    sent = [first] + [call(gov, time, {"ratelimit-policy": '"api";q=10;w=2'}) for _ in range(24)]
    assert sliding_window_holds(sent, 10, 2.0)
    assert sent[-1] == pytest.approx(1004.0)  # 25 calls at 10 per 2 s: bursts at 0, 2 and 4
    assert gov.stats(API).threshold == 10 and gov.stats(API).window_seconds == 2.0


def test_calls_made_elsewhere_with_the_same_user_are_counted() -> None:
    time = FakeTime()
    gov = governor(time)
    # The server says 20 calls are already in its window: another process made 19 of them.
    call(gov, time, {"ratelimit-policy": '"api";q=30;w=60', "ratelimit": '"api";r=10;t=60'})
    allowed = 0
    while isinstance(ticket := gov.try_acquire(API), Ticket):
        gov.settle(ticket)
        allowed += 1
    assert allowed == 10


def test_a_lock_holds_every_call_then_the_window_starts_empty() -> None:
    time = FakeTime()
    gov = governor(time)
    for _ in range(12):
        call(gov, time)
    gov.lock(API, 300)
    assert gov.try_acquire(API) == pytest.approx(300)
    sent = [call(gov, time) for _ in range(30)]
    assert sent == [1300.0] * 30  # the whole threshold right after the lock
    assert gov.stats(API).locks == 1


def test_a_slot_given_back_is_not_counted() -> None:
    time = FakeTime()
    gov = governor(time)
    for _ in range(29):
        call(gov, time)
    ticket = gov.acquire(API)
    assert not isinstance(gov.try_acquire(API), Ticket)  # the 30th slot is reserved
    gov.release(ticket)
    assert isinstance(gov.try_acquire(API), Ticket)


def test_calls_in_flight_hold_their_slots() -> None:
    time = FakeTime()
    gov = governor(time)
    tickets = [gov.acquire(API) for _ in range(30)]
    assert gov.try_acquire(API) == pytest.approx(0.01)  # poll until one completes
    time.now += 5
    for t in tickets:
        gov.settle(t)  # stamped when the answers arrive, not when sent
    assert gov.try_acquire(API) == pytest.approx(60.0)


def test_threads_share_the_threshold() -> None:
    time = FakeTime()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            time.now += seconds

    gov = Governor(RateLimitPolicy(30, 60), clock=time.clock, sleep=sleep, margin_seconds=0.0)
    sent: list[float] = []

    def work() -> None:
        for _ in range(20):
            ticket = gov.acquire(API)
            with lock:
                sent.append(time.now)
            gov.settle(ticket)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(sent) == 80
    # Sent times are read after the fact; all that matters is that no window held over 30.
    assert sum(1 for t in sent if t < sent[0] + 60) <= 30


def test_rate_limit_headers_are_parsed() -> None:
    assert parse_rate_limit_headers(
        {"ratelimit-policy": '"api";q=30;w=60', "ratelimit": '"api";r=29;t=58'}
    ) == (30, 60.0, 29, 58.0)
    assert parse_rate_limit_headers(
        {"ratelimit-limit": "100", "ratelimit-remaining": "7", "ratelimit-reset": "3"}
    ) == (100, None, 7, 3.0)
    assert parse_rate_limit_headers({"ratelimit-policy": "10;w=1"}) == (10, 1.0, None, None)
    assert parse_rate_limit_headers({"ratelimit": "garbage"}) == (None, None, None, None)
    assert parse_rate_limit_headers({}) == (None, None, None, None)


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimitPolicy(threshold=0)
    with pytest.raises(ValueError):
        RateLimitPolicy(window_seconds=0)


def test_the_refresh_budget_allows_ten_in_ten_minutes() -> None:
    time = FakeTime()
    budget = RefreshBudget(clock=time.clock)
    for _ in range(10):
        budget.spend()
        time.now += 30
    with pytest.raises(RateLimitedError) as refused:
        budget.spend()
    assert refused.value.retry_after == pytest.approx(300)
    time.now += 300
    budget.spend()
    assert budget.used == 10


# --- a store shared by processes (a file), with the fake clock ------------------------------


def shared(time: FakeTime, path: object, **kwargs: object) -> Governor:
    """A governor over the state file `path`, as a process of its own would open it."""
    from lmsplans.client._pacing_store import PacingStore

    store = PacingStore(path)  # type: ignore[arg-type]
    return governor(time, store=store, scope="http://x 1234", wall_clock=time.clock, **kwargs)


def test_a_restarted_process_knows_the_window_it_is_in(tmp_path: object) -> None:
    time = FakeTime()
    state = f"{tmp_path}/pacing.sqlite3"
    first = shared(time, state)
    sent = [call(first, time) for _ in range(20)]  # then it is killed
    second = shared(time, state)  # at once
    sent += [call(second, time) for _ in range(40)]
    assert sent[:30] == [pytest.approx(1000.0)] * 30  # it made only the 10 calls left
    assert sent[30] == pytest.approx(1060.0)
    assert sliding_window_holds(sent, 30, 60)


def test_two_processes_share_the_threshold(tmp_path: object) -> None:
    time = FakeTime()
    state = f"{tmp_path}/pacing.sqlite3"
    one, two = shared(time, state), shared(time, state)
    sent = []
    for _ in range(45):
        sent += [call(one, time), call(two, time)]
    assert sliding_window_holds(sorted(sent), 30, 60)
    assert sorted(sent)[30] == pytest.approx(1060.0)  # not 60 calls in the first minute
    other_scope = governor(time, store=one.store, scope="http://x other-user")
    assert isinstance(other_scope.try_acquire(API), Ticket)  # another user: its own budget


def test_a_lock_and_the_servers_policy_are_seen_by_the_next_process(tmp_path: object) -> None:
    time = FakeTime()
    state = f"{tmp_path}/pacing.sqlite3"
    first = shared(time, state)
    call(first, time, {"ratelimit-policy": '"api";q=10;w=2', "ratelimit": '"api";r=9;t=2'})
    first.lock(API, 30)
    second = shared(time, state)
    assert second.stats(API).threshold == 10 and second.stats(API).window_seconds == 2.0
    assert second.try_acquire(API) == pytest.approx(30, abs=0.01)


def test_a_reservation_of_a_killed_process_holds_its_slot_until_it_is_stale(
    tmp_path: object,
) -> None:
    from lmsplans.client._pacing_store import STALE_SECONDS

    time = FakeTime()
    state = f"{tmp_path}/pacing.sqlite3"
    killed = shared(time, state)
    for _ in range(29):
        call(killed, time)
    killed.acquire(API)  # sent, never answered: the process died
    second = shared(time, state)
    assert second.try_acquire(API) == pytest.approx(60, abs=0.01)  # 29 settled + 1 in flight
    time.now += 60
    sent = [call(second, time) for _ in range(29)]
    assert sent == [1060.0] * 29
    assert not isinstance(second.try_acquire(API), Ticket)  # the dead call still holds one
    time.now = 1000 + 60 + STALE_SECONDS + 1  # ... until it is stale
    assert [call(second, time) for _ in range(30)] == [time.now] * 30


def test_headroom_keeps_calls_free_for_someone_else() -> None:
    time = FakeTime()
    gov = governor(time, headroom=1)
    sent = [call(gov, time) for _ in range(30)]
    assert sent[:29] == [1000.0] * 29 and sent[29] == 1060.0
    with pytest.raises(ValueError):
        governor(time, headroom=-1)


def test_the_estimate_includes_the_waits_the_window_imposes() -> None:
    time = FakeTime()
    gov = governor(time)
    assert gov.estimate(API, 0) == 0.0
    assert gov.estimate(API, 30, call_seconds=0.1) == pytest.approx(3.0)  # one burst
    assert gov.estimate(API, 31, call_seconds=0.1) == pytest.approx(60.2)  # then a window
    for _ in range(30):
        call(gov, time)
    assert gov.estimate(API, 1) == pytest.approx(60.0)  # the window is full now
    many = gov.estimate(API, 1199, call_seconds=0.05)
    assert 39 * 60 < many < 41 * 60  # 1,199 learners at 30 a minute: about 40 minutes
    gov.lock(API, 300)
    assert gov.estimate(API, 1) == pytest.approx(300.0)
