"""Time as the AMI layer sees it, injectable so tests can drive it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


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
