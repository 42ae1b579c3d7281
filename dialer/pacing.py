"""Pacing: calls per second by token bucket, concurrent channels by limiter, congestion back-off.

Why these shapes:

- `TokenBucket` is GCRA (the "virtual scheduling" form of a token bucket): each call gets an
  absolute slot on the monotonic clock, `tat, tat + 1/rate, tat + 2/rate...`. Sleeping until an
  absolute instant instead of "sleep 1/rate after the last call" keeps the schedule free of drift:
  on this kind of machine 50 CPS scheduled this way achieved 49.997/s (ASTERISK_NOTES). `burst`
  lets idle time bank at most `burst` calls; 1 means strictly evenly spaced, which is what carriers
  police.
- `ChannelLimiter` is a semaphore whose limit can change while calls are up (a worker's share of a
  trunk's channels changes when workers come and go). Lowering it never hangs up a call: it only
  stops new ones until enough calls end.
- `CongestionControl` is AIMD, like TCP: a burst of carrier congestion (Q.850 cause 34/38, AMI
  Reason 8) halves the trunk's rate; each calm second gives a fixed part of the ceiling back.
  A single congested call is normal (a number can be congested); only a burst backs off.
- `share_of` / `channel_share_of` split a limit among the live workers serving the same trunk or
  campaign (the `workers` table, renewed with each heartbeat), so N workers together keep the limit.

Everything here is pure or loop-local: time comes from an injected `PacingClock`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ChannelLimiter",
    "CongestionControl",
    "LoopClock",
    "PacingClock",
    "Signal",
    "TokenBucket",
    "channel_share_of",
    "share_of",
]


class PacingClock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return at (not before) `deadline` on the `monotonic()` clock."""
        ...


_TIMER_SLACK = 0.0012


class LoopClock:
    """The real clock: `time.monotonic` (the clock uvloop and asyncio timers run on)."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        # uvloop timers may fire up to ~1 ms early (ASTERISK_NOTES): one timer with that much slack, so
        # that the loop does not spin through zero-timeout polls on the last millisecond; the loop below
        # still guarantees the instant.
        if (delay := deadline - time.monotonic()) > 0:
            await asyncio.sleep(delay + _TIMER_SLACK)
        while (delay := deadline - time.monotonic()) > 0:  # noqa: ASYNC110 - a timer, not a wait for state
            await asyncio.sleep(delay)


class Signal:
    """Wakes every task waiting on it when fired (a reusable, edge-triggered event)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def mark(self) -> asyncio.Event:
        """The current generation, for `wait(since=...)` after the caller's own awaits."""
        return self._event

    async def wait(self, max_seconds: float | None = None, *, since: asyncio.Event | None = None) -> bool:
        """True if fired, False after `max_seconds`. The event is captured before the first await, so a
        fire between a caller's check and this wait is not lost; a caller that awaits something between
        its check and the wait takes a `mark()` before it and passes it as `since`, so that a fire during
        that await is not lost either."""
        event = self._event if since is None else since
        if max_seconds is None:
            await event.wait()
            return True
        # asyncio.timeout, not wait_for: no task per wait (dispatchers wait here for every call).
        try:
            async with asyncio.timeout(max_seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True


class TokenBucket:
    """Calls per second as absolute slots on the monotonic clock (GCRA)."""

    def __init__(self, rate: float, clock: PacingClock, *, burst: float = 1.0) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._clock = clock
        self._burst = burst
        self._rate = 0.0
        self.set_rate(rate)
        self._tat = clock.monotonic()  # theoretical arrival time of the next call

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        """Change the pace; slots already handed out keep their time, later ones use the new interval."""
        if not rate > 0 or math.isinf(rate):
            raise ValueError(f"rate must be a positive number, not {rate}")
        self._rate = rate

    @property
    def interval(self) -> float:
        return 1.0 / self._rate

    def reserve(self) -> float:
        """Take the next slot and return its absolute instant (maybe in the past: go at once)."""
        now = self._clock.monotonic()
        tolerance = (self._burst - 1.0) * self.interval
        tat = max(self._tat, now - tolerance)
        self._tat = tat + self.interval
        return tat

    def refund(self, slot: float) -> None:
        """Give back the slot `reserve` returned, when nothing was dialled in it.

        Only the latest slot can be given back: a slot handed out later must keep its distance.
        """
        if math.isclose(self._tat, slot + self.interval, abs_tol=1e-9):
            self._tat = slot

    async def acquire(self) -> float:
        """Wait for the next slot; returns its instant."""
        slot = self.reserve()
        if slot > self._clock.monotonic():
            await self._clock.sleep_until(slot)
        return slot


class ChannelLimiter:
    """Concurrent calls under a limit that may change at any time. Not awaited: callers poll `try_acquire`
    and wait on a shared `Signal` that every release and limit change fires (one wake-up for many limiters).
    """

    def __init__(self, limit: int, changed: Signal | None = None) -> None:
        self._limit = max(0, limit)
        self._in_use = 0
        self.changed = changed if changed is not None else Signal()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def available(self) -> int:
        return max(0, self._limit - self._in_use)

    def set_limit(self, limit: int) -> None:
        if limit != self._limit:
            self._limit = max(0, limit)
            self.changed.fire()

    def try_acquire(self) -> bool:
        if self._in_use < self._limit:
            self._in_use += 1
            return True
        return False

    def release(self) -> None:
        if self._in_use <= 0:
            raise RuntimeError("ChannelLimiter released more often than acquired")
        self._in_use -= 1
        self.changed.fire()


@dataclass(frozen=True, slots=True)
class CongestionSettings:
    """AIMD tuning. Defaults: back off when at least 5 of the calls ended in the last 5 s and 30% of
    them were congested; halve; never below 10% of the ceiling; regain 5% of the ceiling per second."""

    window_s: float = 5.0
    min_events: int = 5
    threshold: float = 0.3
    decrease: float = 0.5
    floor_fraction: float = 0.1
    increase_fraction_per_s: float = 0.05


class CongestionControl:
    """A trunk's current rate under carrier congestion: multiplicative decrease, additive increase."""

    def __init__(self, ceiling: float, clock: PacingClock, settings: CongestionSettings | None = None) -> None:
        self._clock = clock
        self._settings = settings or CongestionSettings()
        self._ceiling = ceiling
        self._rate = ceiling
        self._updated = clock.monotonic()
        self._last_decrease = -math.inf
        self._events: deque[tuple[float, bool]] = deque()
        self.backoffs = 0

    @property
    def ceiling(self) -> float:
        return self._ceiling

    def set_ceiling(self, ceiling: float) -> None:
        """The share of the trunk's CPS changed; keep the same backed-off fraction of it."""
        fraction = self.rate() / self._ceiling if self._ceiling > 0 else 1.0
        self._ceiling = ceiling
        self._rate = ceiling * fraction

    def rate(self) -> float:
        now = self._clock.monotonic()
        s = self._settings
        if self._rate < self._ceiling:
            regained = self._ceiling * s.increase_fraction_per_s * (now - self._updated)
            self._rate = min(self._ceiling, self._rate + regained)
        self._updated = now
        return self._rate

    def on_call_end(self, congested: bool) -> bool:
        """Record one call's end; True when this burst made the rate back off."""
        now = self._clock.monotonic()
        s = self._settings
        self._events.append((now, congested))
        while self._events and self._events[0][0] < now - s.window_s:
            self._events.popleft()
        if not congested or len(self._events) < s.min_events:
            return False
        congested_count = sum(1 for _, c in self._events if c)
        # One back-off per window: the calls that reported this burst were placed at the old rate.
        if congested_count / len(self._events) < s.threshold or now - self._last_decrease < s.window_s:
            return False
        current = self.rate()
        self._rate = max(self._ceiling * s.floor_fraction, current * s.decrease)
        self._last_decrease = now
        self.backoffs += 1
        return True


def share_of(limit: float, live_workers: int) -> float:
    """A worker's part of a rate limit shared by `live_workers` workers (itself included)."""
    return limit / max(1, live_workers)


def channel_share_of(limit: int, workers: Sequence[str], me: str) -> int:
    """A worker's part of a channel limit: equal parts, the remainder to the first workers by id,
    so that the parts add up to exactly `limit` whatever the number of workers."""
    ordered = sorted(set(workers) | {me})
    base, extra = divmod(limit, len(ordered))
    return base + (1 if ordered.index(me) < extra else 0)
