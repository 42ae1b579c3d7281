"""Calling windows in local wall-clock time and the conversion of local times to exact UTC instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from compliance.errors import RulesError

DAY_SECONDS = 24 * 3600
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_clock(text: str, *, allow_midnight_end: bool = False) -> int:
    """Seconds since local midnight of `HH:MM` or `HH:MM:SS`; `24:00` only as a window's end."""
    match = _HHMM.match(text)
    if match is None:
        raise RulesError(f"{text!r} is not a time of day (HH:MM)")
    hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    total = hours * 3600 + minutes * 60 + seconds
    if minutes >= 60 or seconds >= 60 or total > DAY_SECONDS or (total == DAY_SECONDS and not allow_midnight_end):
        raise RulesError(f"{text!r} is not a time of day (00:00 to {'24:00' if allow_midnight_end else '23:59'})")
    return total


def format_clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" if secs == 0 else f"{hours:02d}:{minutes:02d}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Window:
    """Local wall-clock window `[start, end)` in seconds since midnight: start inclusive, end exclusive."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_SECONDS:
            raise RulesError(f"window {format_clock(self.start)}-{format_clock(self.end)}: start must precede end")

    @classmethod
    def parse(cls, text: str) -> Window:
        """`09:10-19:50` (also with `–` or `—`)."""
        parts = re.split(r"\s*[-–—]\s*", text.strip())
        if len(parts) != 2:
            raise RulesError(f"{text!r} is not a window (HH:MM-HH:MM)")
        return cls(parse_clock(parts[0]), parse_clock(parts[1], allow_midnight_end=True))

    def __str__(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"


def seconds_of_day(local: datetime) -> int:
    return local.hour * 3600 + local.minute * 60 + local.second


def local_instant(day: date, seconds: int, zone: tzinfo, after: datetime | None = None) -> datetime:
    """The earliest UTC instant whose wall-clock time in `zone` is at least `seconds` into `day`.

    Normally the instant of that wall-clock time: its first occurrence when clocks go back (the second
    one if `after` is given and the first is not later than it). When the time does not exist (clocks
    jump forward over it), the instant of the jump.
    """
    if seconds >= DAY_SECONDS:
        return local_instant(day + timedelta(days=1), seconds - DAY_SECONDS, zone, after)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    wall = datetime(day.year, day.month, day.day, hours, minutes, secs, tzinfo=zone)
    late = wall.astimezone(UTC)  # fold=0: the offset before a transition
    if late.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        if after is not None and late <= after:
            return wall.replace(fold=1).astimezone(UTC)
        return late
    # In a gap: the jump happens between the two readings; bisect to the first instant at/after `wall`.
    early = wall.replace(fold=1).astimezone(UTC)
    target = wall.replace(tzinfo=None)
    low, high = min(early, late), max(early, late)
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= target:
            high = middle
        else:
            low = middle
    return high
