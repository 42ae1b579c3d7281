"""Caps on calls per subscriber per local day, ISO week and calendar month, and the history they count.

FZ-230 art. 7 p. 3 limits "interactions" by telephone; we count a call as one when a human answered it:
disposition ANSWERED, billsec > 0 and AMD status HUMAN or no AMD at all (`is_human_answer`; MACHINE,
NOTSURE and HANGUP are not counted, issue 9). Caps are keyed by the
subscriber (the call list's id column) else the E.164 number, across all campaigns of a company.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol

from compliance.errors import ComplianceError
from compliance.windows import local_instant


class CapPeriod(StrEnum):
    DAY = "day"  # local calendar day
    WEEK = "week"  # local ISO week, Monday to Sunday
    MONTH = "month"  # local calendar month


class CapMetric(StrEnum):
    ANSWERED = "answered"  # calls answered by a human (the legal caps)
    ATTEMPTS = "attempts"  # every origination attempt (optional, stricter house rules)


@dataclass(frozen=True, slots=True)
class Cap:
    period: CapPeriod
    limit: int
    metric: CapMetric = CapMetric.ANSWERED

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ComplianceError(f"cap per {self.period}: limit must be 0 or more, got {self.limit}")


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """Events in the local day, ISO week and month that contain one local date."""

    day: int = 0
    week: int = 0
    month: int = 0

    @property
    def total(self) -> int:
        """Events in the union of the three periods (0 means nothing to count)."""
        return self.day + self.week + self.month

    def of(self, period: CapPeriod) -> int:
        if period is CapPeriod.DAY:
            return self.day
        if period is CapPeriod.WEEK:
            return self.week
        return self.month


_NONE = PeriodCounts()


class CapHistory(Protocol):
    """What caps need to know about a subscriber's past calls."""

    def counts(self, metric: CapMetric, zone: tzinfo, day: date) -> PeriodCounts:
        """Events of `metric` in the local day `day` of `zone`, its ISO week and its month."""
        ...


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _check_aware(instants: Iterable[datetime], name: str) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ComplianceError(f"{name}: call instants must be timezone-aware (UTC), got {instant!r}")


@dataclass(frozen=True, slots=True)
class AnsweredHistory:
    """Instants (aware, UTC) of a subscriber's human-answered calls and, optionally, of all attempts.

    Give at least the calls of the current local month (e.g. the last 32 days): older ones never count.
    """

    answered: tuple[datetime, ...] = ()
    attempts: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        _check_aware(self.answered, "answered")
        _check_aware(self.attempts, "attempts")

    def counts(self, metric: CapMetric, zone: tzinfo, day: date) -> PeriodCounts:
        instants = self.answered if metric is CapMetric.ANSWERED else self.attempts
        if not instants:
            return _NONE
        week_start = _week_start(day)
        week_end = week_start + timedelta(days=7)
        on_day = in_week = in_month = 0
        for instant in instants:
            local = instant.astimezone(zone).date()
            if local == day:
                on_day += 1
            if week_start <= local < week_end:
                in_week += 1
            if local.month == day.month and local.year == day.year:
                in_month += 1
        return PeriodCounts(on_day, in_week, in_month)


@dataclass(frozen=True, slots=True)
class AnsweredCounts:
    """Counts already known for the local periods that contain the instant `at` (e.g. a ledger, the CLI).

    They apply to the day, week and month of `at` in each zone asked about; later periods start at 0.
    """

    at: datetime
    day: int = 0
    week: int = 0
    month: int = 0
    attempts_day: int = 0
    attempts_week: int = 0
    attempts_month: int = 0

    def __post_init__(self) -> None:
        _check_aware((self.at,), "at")
        for name in ("day", "week", "month", "attempts_day", "attempts_week", "attempts_month"):
            if getattr(self, name) < 0:
                raise ComplianceError(f"{name}: a count of calls cannot be negative")

    def counts(self, metric: CapMetric, zone: tzinfo, day: date) -> PeriodCounts:
        origin = self.at.astimezone(zone).date()
        if metric is CapMetric.ANSWERED:
            values = (self.day, self.week, self.month)
        else:
            values = (self.attempts_day, self.attempts_week, self.attempts_month)
        return PeriodCounts(
            values[0] if origin == day else 0,
            values[1] if _week_start(origin) == _week_start(day) else 0,
            values[2] if (origin.year, origin.month) == (day.year, day.month) else 0,
        )


def period_end(day: date, period: CapPeriod, zone: tzinfo) -> datetime:
    """UTC instant at which the local `period` containing `day` ends (next local midnight boundary)."""
    if period is CapPeriod.DAY:
        following = day + timedelta(days=1)
    elif period is CapPeriod.WEEK:
        following = _week_start(day) + timedelta(days=7)
    else:
        following = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return local_instant(following, 0, zone)


def period_label(day: date, period: CapPeriod) -> str:
    if period is CapPeriod.DAY:
        return f"day {day.isoformat()}"
    if period is CapPeriod.WEEK:
        year, week, _ = day.isocalendar()
        return f"week {year}-W{week:02d}"
    return f"month {day.year}-{day.month:02d}"


# AMI / CDR values (Asterisk CDR disposition and the AMD() application's AMDSTATUS).
_ANSWERED = "ANSWERED"
_HUMAN = "HUMAN"


def is_human_answer(disposition: str | None, billsec: int | None, amd_status: str | None) -> bool:
    """Whether a call counts toward the caps: answered, billed time > 0, and AMD said HUMAN or did
    not run (no status). MACHINE, NOTSURE and HANGUP are stored and reported but not counted
    (caps count calls answered by a human only, issue 9)."""
    amd = (amd_status or "").strip().upper()
    return (
        (disposition or "").strip().upper() == _ANSWERED
        and (billsec or 0) > 0
        and amd in ("", _HUMAN)
    )


def cap_key(phone_e164: str, subscriber_id: str | None = None) -> str:
    """The key caps are counted under: `id:<subscriber id>` when the list gives one, else `tel:<E.164>`."""
    if subscriber_id is not None and subscriber_id.strip():
        return f"id:{subscriber_id.strip()}"
    return f"tel:{phone_e164}"
