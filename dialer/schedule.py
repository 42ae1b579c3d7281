"""A campaign's own calling schedule (`mon-fri 09:00-18:00`) in its company's time zone (pure).

It narrows, never widens, the subscriber's legal window that compliance/ decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.errors import InvalidValueError

__all__ = ["Schedule", "ScheduleWindow", "parse_schedule"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENTRY = re.compile(
    r"^(?P<days>daily|[a-z]{3}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """Open on `weekdays` (0 = Monday) from `start` to `end` local time; `end` None means midnight."""

    weekdays: frozenset[int]
    start: time
    end: time | None

    def spec(self) -> str:
        days = sorted(self.weekdays)
        if len(days) == 7:
            day_text = "daily"
        elif len(days) == 1:
            day_text = DAYS[days[0]]
        else:
            day_text = f"{DAYS[days[0]]}-{DAYS[days[-1]]}"
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{day_text} {self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True, slots=True)
class Schedule:
    windows: tuple[ScheduleWindow, ...]

    def spec(self) -> str:
        return ", ".join(w.spec() for w in self.windows)

    def is_open(self, at: datetime, zone: ZoneInfo) -> bool:
        local = at.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        return any(
            local.weekday() in w.weekdays and w.start <= clock and (w.end is None or clock < w.end)
            for w in self.windows
        )

    def next_open(self, at: datetime, zone: ZoneInfo) -> datetime:
        """`at` if the schedule is open then, else the (UTC) instant it next opens."""
        if self.is_open(at, zone):
            return at
        local = at.astimezone(zone)
        candidates: list[datetime] = []
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            for window in self.windows:
                if day.weekday() in window.weekdays:
                    opens = datetime.combine(day, window.start, tzinfo=zone)
                    if opens > at:
                        candidates.append(opens)
        return min(candidates).astimezone(UTC)


def _parse_time(text: str, field_name: str, *, allow_24: bool) -> time | None:
    hours, minutes = (int(p) for p in text.split(":"))
    if allow_24 and hours == 24 and minutes == 0:
        return None
    if hours > 23 or minutes > 59:
        raise InvalidValueError(field_name, f"{text!r} is not a time of day (HH:MM)")
    return time(hours, minutes)


def _parse_days(text: str, field_name: str) -> frozenset[int]:
    if text == "daily":
        return frozenset(range(7))
    first, _, last = text.partition("-")
    for name in (first, last or first):
        if name not in DAYS:
            raise InvalidValueError(field_name, f"unknown day {name!r} (use {', '.join(DAYS)} or daily)")
    lo, hi = DAYS.index(first), DAYS.index(last or first)
    if hi < lo:
        raise InvalidValueError(field_name, f"day range {text!r} runs backwards (write e.g. mon-fri)")
    return frozenset(range(lo, hi + 1))


def parse_schedule(text: str, *, field_name: str = "schedule") -> Schedule:
    """`mon-fri 09:00-18:00, sat 10:00-14:00` (entries separated by `,` or `;`)."""
    entries = [e.strip().lower() for e in re.split(r"[,;]", text) if e.strip()]
    if not entries:
        raise InvalidValueError(field_name, "empty schedule (use e.g. 'mon-fri 09:00-18:00')")
    windows: list[ScheduleWindow] = []
    for entry in entries:
        match = _ENTRY.match(entry)
        if match is None:
            raise InvalidValueError(
                field_name, f"{entry!r} must be 'DAYS HH:MM-HH:MM', e.g. 'mon-fri 09:00-18:00'"
            )
        start = _parse_time(match["start"], field_name, allow_24=False)
        end = _parse_time(match["end"], field_name, allow_24=True)
        assert start is not None
        if end is not None and end <= start:
            raise InvalidValueError(
                field_name, f"{entry!r}: the end must be after the start (windows cannot cross midnight)"
            )
        windows.append(ScheduleWindow(_parse_days(match["days"], field_name), start, end))
    return Schedule(tuple(windows))
