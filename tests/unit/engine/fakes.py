"""A fake monotonic clock for pacing tests: time moves only when a sleeper asks it to."""

from __future__ import annotations

import asyncio


class FakeClock:
    """`sleep_until` jumps the clock to the deadline (after yielding once, so other tasks run)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep_until(self, deadline: float) -> None:
        self.sleeps.append(deadline)
        await asyncio.sleep(0)
        self.now = max(self.now, deadline)
