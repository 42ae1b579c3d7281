"""The worker's wall clock against PostgreSQL's.

Compliance decides with the worker's clock (the calling window at the instant of origination), while
leases, heartbeats and retry times are the database's. A host whose clock is off (NTP stopped, a VM
resumed from a snapshot) would dial outside the window at its edges: a worker whose clock disagrees
with PostgreSQL's by more than `max_clock_skew_seconds` holds its dialing until they agree again
(`ClockGuard`), and every heartbeat reports the offset (`dialer_clock_offset_seconds`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from ami import ClockSample

__all__ = ["ClockGuard", "read_clock"]

log = logging.getLogger(__name__)


async def read_clock(conn: psycopg.AsyncConnection[Any], wall: Callable[[], datetime]) -> ClockSample:
    before = wall()
    cursor = await conn.execute("SELECT clock_timestamp()")
    row = await cursor.fetchone()
    after = wall()
    assert row is not None
    return ClockSample.between(before, row[0], after)


class ClockGuard:
    """Holds dialing while the clocks disagree beyond the limit; says so once each way."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.held = False
        self._last: ClockSample | None = None

    @property
    def problem(self) -> str | None:
        """What /healthz says while held."""
        if not self.held or self._last is None:
            return None
        return f"clock {abs(self._last.offset_s):.1f} s {_side(self._last)} PostgreSQL's"

    def update(self, reading: ClockSample) -> bool:
        """Apply a reading; True when the hold changed."""
        self._last = reading
        held = reading.beyond(self.limit_s)
        if held == self.held:
            return False
        self.held = held
        if held:
            log.error("this worker's clock is %.1f s %s PostgreSQL's (more than %.1f s): no call is placed "
                      "until they agree (is NTP running on both hosts?)", abs(reading.offset_s), _side(reading),
                      self.limit_s)
        else:
            log.info("this worker's clock agrees with PostgreSQL's again (%.3f s): dialing resumes", reading.offset_s)
        return True


def _side(reading: ClockSample) -> str:
    return "behind" if reading.offset_s > 0 else "ahead of"
