"""Token bucket, channel limiter, congestion back-off and shares: the pure pacing rules."""

from __future__ import annotations

import asyncio

import pytest

from dialer.pacing import (
    ChannelLimiter,
    CongestionControl,
    CongestionSettings,
    LoopClock,
    Signal,
    TokenBucket,
    channel_share_of,
    share_of,
)
from tests.unit.engine.fakes import FakeClock


async def test_bucket_slots_are_absolute_and_evenly_spaced() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, clock)
    start = clock.now
    slots = [await bucket.acquire() for _ in range(101)]
    # 101 calls at 50 CPS span exactly 2 s: slot k is at start + k/50, no drift accumulates.
    for k, slot in enumerate(slots):
        assert slot == pytest.approx(start + k / 50, abs=1e-9)
    assert clock.now == pytest.approx(start + 2.0)


async def test_bucket_does_not_catch_up_after_idle_beyond_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock, burst=3)
    clock.advance(60)  # a minute idle banks at most `burst` calls
    first = [bucket.reserve() for _ in range(3)]
    assert all(s <= clock.now for s in first)
    fourth = bucket.reserve()
    assert fourth == pytest.approx(clock.now + 0.1)


async def test_bucket_rate_change_applies_to_later_slots() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock)
    a = bucket.reserve()
    b = bucket.reserve()
    bucket.set_rate(2)
    c = bucket.reserve()
    d = bucket.reserve()
    assert b - a == pytest.approx(0.1)
    assert c - b == pytest.approx(0.1)  # b's slot was handed out at the old rate: c follows b by 0.1
    assert d - c == pytest.approx(0.5)


def test_bucket_refund_only_the_latest_slot() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock)
    a = bucket.reserve()
    b = bucket.reserve()
    bucket.refund(a)  # not the latest: b keeps its distance, nothing changes
    assert bucket.reserve() == pytest.approx(b + 0.1)
    c = bucket.reserve()
    bucket.refund(c)
    assert bucket.reserve() == pytest.approx(c)


def test_bucket_rejects_bad_rates() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, FakeClock())
    with pytest.raises(ValueError):
        TokenBucket(1, FakeClock(), burst=0.5)


async def test_real_clock_sleep_until_is_not_early() -> None:
    clock = LoopClock()
    deadline = clock.monotonic() + 0.02
    await clock.sleep_until(deadline)
    assert clock.monotonic() >= deadline


async def test_limiter_counts_and_wakes_on_release_and_limit_change() -> None:
    changed = Signal()
    limiter = ChannelLimiter(2, changed)
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    waiter = asyncio.ensure_future(changed.wait())
    await asyncio.sleep(0)
    limiter.release()
    assert await asyncio.wait_for(waiter, 1) is True
    assert limiter.try_acquire()
    waiter = asyncio.ensure_future(changed.wait())
    await asyncio.sleep(0)
    limiter.set_limit(1)  # lowering never hangs up: in_use stays above the limit until calls end
    assert await asyncio.wait_for(waiter, 1) is True
    assert limiter.in_use == 2 and limiter.available == 0
    limiter.release()
    assert not limiter.try_acquire()
    limiter.release()
    assert limiter.try_acquire()
    with pytest.raises(RuntimeError):
        ChannelLimiter(1).release()


async def test_signal_wait_times_out_without_fire() -> None:
    assert await Signal().wait(0.01) is False


async def test_a_fire_after_a_mark_ends_a_later_wait_since_it() -> None:
    signal = Signal()
    mark = signal.mark()
    signal.fire()  # e.g. while the waiter was awaiting a query
    assert await signal.wait(0.01) is False  # a plain wait only sees fires from now on
    assert await asyncio.wait_for(signal.wait(60, since=mark), 1) is True
    assert await signal.wait(0.01, since=signal.mark()) is False


def test_congestion_burst_halves_and_calm_recovers() -> None:
    clock = FakeClock()
    control = CongestionControl(40, clock, CongestionSettings())
    for _ in range(5):
        clock.advance(0.1)
        control.on_call_end(congested=False)
    assert control.rate() == 40
    backed_off = [control.on_call_end(congested=True) for _ in range(3)]
    assert not control.on_call_end(congested=True)  # one back-off per window
    assert backed_off == [False, False, True]  # 3 of 8 calls congested crosses 30%
    assert control.rate() == pytest.approx(20)
    clock.advance(5)  # 5% of the ceiling per calm second: 5 s give back 10 CPS
    assert control.rate() == pytest.approx(30)
    clock.advance(60)
    assert control.rate() == pytest.approx(40)


def test_congestion_single_congested_numbers_do_not_back_off() -> None:
    clock = FakeClock()
    control = CongestionControl(20, clock)
    for i in range(200):
        clock.advance(0.05)
        assert not control.on_call_end(congested=(i % 10 == 3))  # 10% congested numbers are normal
    assert control.rate() == 20


def test_congestion_never_below_floor() -> None:
    clock = FakeClock()
    control = CongestionControl(10, clock, CongestionSettings(window_s=1, min_events=1, increase_fraction_per_s=0))
    for _ in range(20):
        clock.advance(1.5)
        control.on_call_end(congested=True)
    assert control.rate() == pytest.approx(1.0)
    control.set_ceiling(20)  # a bigger share keeps the backed-off fraction
    assert control.rate() == pytest.approx(2.0)


def test_shares_add_up_to_the_limit() -> None:
    workers = ["b", "a", "c"]
    assert sum(channel_share_of(10, workers, w) for w in workers) == 10
    assert [channel_share_of(10, workers, w) for w in ("a", "b", "c")] == [4, 3, 3]
    assert channel_share_of(2, workers, "c") == 0
    assert channel_share_of(5, [], "me") == 5  # alone (not yet registered): the whole limit
    assert share_of(50, 3) == pytest.approx(50 / 3)
    assert share_of(50, 0) == 50
