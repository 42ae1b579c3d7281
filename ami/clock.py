"""Time as the AMI layer sees it, injectable so tests can drive it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "ClockSample", "SystemClock"]


@dataclass(frozen=True, slots=True)
class ClockSample:
    """Another host's clock against ours, read over a round trip."""

    offset_s: float  # their clock minus ours: positive when ours is behind
    uncertainty_s: float  # half the round trip the reading took

    @classmethod
    def between(cls, before: datetime, theirs: datetime, after: datetime) -> ClockSample:
        """Their clock read as `theirs` between our `before` and `after`: against our midpoint."""
        half = (after - before) / 2
        return cls((theirs - (before + half)).total_seconds(), half.total_seconds())

    def beyond(self, limit_s: float) -> bool:
        """Off by more than `limit_s` for certain, whatever the round trip hid."""
        return abs(self.offset_s) - self.uncertainty_s > limit_s


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC instant."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for timeouts and deadlines."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
