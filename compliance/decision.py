"""May this subscriber be called at this instant? Pure: windows and caps in every candidate zone.

Called by the engine at the instant of each origination, so it avoids allocation on the allowed path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache

from compliance.calendar import DayKind
from compliance.caps import CapHistory, CapMetric, CapPeriod, PeriodCounts, period_end, period_label
from compliance.errors import ComplianceError
from compliance.rules import RuleSet
from compliance.timezones import TzResolution
from compliance.windows import local_instant
from compliance.zones import zone_info

# Beyond this the search for the next allowed instant gives up (windows that never meet).
HORIZON = timedelta(days=400)
_DAY = timedelta(days=1)


class ReasonCode(StrEnum):
    OUTSIDE_WINDOW = "outside-window"
    CAP_DAY = "cap-day"
    CAP_WEEK = "cap-week"
    CAP_MONTH = "cap-month"
    ATTEMPT_CAP_DAY = "attempt-cap-day"
    ATTEMPT_CAP_WEEK = "attempt-cap-week"
    ATTEMPT_CAP_MONTH = "attempt-cap-month"
    TIMEZONE_UNKNOWN = "timezone-unknown"  # no zone, or no instant inside the window in every candidate
    NO_WINDOW = "no-window"  # the rule set never opens a window (in the next HORIZON)
    # The number is on the company's do-not-call list (the subscriber refused interaction, FZ-230
    # art. 8): not a rule of `decide`, the dialer checks the list at the instant of dialing.
    DO_NOT_CALL = "do-not-call"
    # The campaign completes a subscriber once a person answered one of their numbers (campaign
    # option `reached complete`), also checked by the dialer: this number is completed, or waits while
    # another of the subscriber's numbers is in a call.
    SUBSCRIBER_REACHED = "subscriber-reached"
    SUBSCRIBER_IN_CALL = "subscriber-in-call"
    # The contact's call list was withdrawn from the campaign (`dialer lists withdraw`).
    LIST_WITHDRAWN = "list-withdrawn"


_CAP_CODES = {
    (CapMetric.ANSWERED, CapPeriod.DAY): ReasonCode.CAP_DAY,
    (CapMetric.ANSWERED, CapPeriod.WEEK): ReasonCode.CAP_WEEK,
    (CapMetric.ANSWERED, CapPeriod.MONTH): ReasonCode.CAP_MONTH,
    (CapMetric.ATTEMPTS, CapPeriod.DAY): ReasonCode.ATTEMPT_CAP_DAY,
    (CapMetric.ATTEMPTS, CapPeriod.WEEK): ReasonCode.ATTEMPT_CAP_WEEK,
    (CapMetric.ATTEMPTS, CapPeriod.MONTH): ReasonCode.ATTEMPT_CAP_MONTH,
}


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str  # for people: `local 21:14 Asia/Novosibirsk, window 09:10-19:50`
    zone: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Decision:
    """`next_allowed_at`: the earliest allowed instant (UTC) at or after `now`; None if there is none."""

    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Who is called: the number and its resolved zone(s); several zones are candidates, strictest wins."""

    phone: str
    zones: tuple[str, ...]
    key: str | None = None  # the caps key (see `cap_key`), for the caller's bookkeeping

    @classmethod
    def from_resolution(cls, phone: str, resolution: TzResolution, key: str | None = None) -> Subscriber:
        return cls(phone, resolution.candidates, key)


@lru_cache(maxsize=4096)
def _zone_infos(names: tuple[str, ...]) -> tuple[tuple[str, tzinfo], ...]:
    return tuple((name, zone_info(name)) for name in names)


def _limits(rules: RuleSet, day: date) -> tuple[DayKind, tuple[int, int] | None]:
    kind = DayKind.WORKDAY if rules.uniform else rules.calendar_impl.kind(day)
    return kind, rules.limits[kind]


def _next_opening(
    t: datetime, day: date, seconds: int, limit: tuple[int, int] | None, zone: tzinfo, rules: RuleSet
) -> datetime | None:
    """Earliest instant after `t` (outside the window) at which this zone's window is open."""
    if limit is not None and seconds < limit[0]:
        opening = local_instant(day, limit[0], zone, after=t)
        if opening > t:
            return opening
    for _ in range(HORIZON.days):
        day += _DAY
        limit = _limits(rules, day)[1]
        if limit is not None:
            opening = local_instant(day, limit[0], zone, after=t)
            if opening > t:
                return opening
    return None


def _outside_reason(local: datetime, name: str, kind: DayKind, rules: RuleSet) -> Reason:
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if rules.uniform:
        return Reason(ReasonCode.OUTSIDE_WINDOW, f"local {clock} {name}, window {rules.window_texts[kind]}", name)
    return Reason(
        ReasonCode.OUTSIDE_WINDOW,
        f"local {clock} {name} ({kind} {local.date().isoformat()}), window {rules.window_texts[kind]}",
        name,
    )


def _check(
    t: datetime, name: str, zone: tzinfo, history: CapHistory, rules: RuleSet, reasons: list[Reason] | None
) -> datetime | None:
    """A lower bound on the next allowed instant >= t in this zone (t itself if allowed here).

    None when the window never opens. With `reasons`, also explains why `t` is not allowed.
    """
    local = t.astimezone(zone)
    day = local.date()
    kind = DayKind.WORKDAY if rules.uniform else rules.calendar_impl.kind(day)
    limit = rules.limits[kind]
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    bound: datetime | None = t
    if limit is None or not limit[0] <= seconds < limit[1]:
        bound = _next_opening(t, day, seconds, limit, zone, rules)
        if reasons is None:
            return bound  # caps are checked again at the opening
        reasons.append(_outside_reason(local, name, kind, rules))
    counts: dict[CapMetric, PeriodCounts] = {}
    for cap in rules.caps:
        period_counts = counts.get(cap.metric)
        if period_counts is None:
            period_counts = counts[cap.metric] = history.counts(cap.metric, zone, day)
        if period_counts.total == 0 and cap.limit > 0:
            continue
        count = period_counts.of(cap.period)
        if count < cap.limit:
            continue
        end = period_end(day, cap.period, zone)
        if bound is not None and end > bound:
            bound = end
        if reasons is not None:
            reasons.append(
                Reason(
                    _CAP_CODES[(cap.metric, cap.period)],
                    f"{count} {'answered calls' if cap.metric is CapMetric.ANSWERED else 'attempts'} in local "
                    f"{period_label(day, cap.period)} {name}, limit {cap.limit} per {cap.period}",
                    name,
                )
            )
    return bound


def decide(contact: Subscriber, now: datetime, history: CapHistory, rules: RuleSet) -> Decision:
    """Whether `contact` may be called at `now` (aware), why not, and the exact next allowed instant.

    Allowed only when, in every zone of `contact.zones`, the local time is inside the window of that
    local day's kind and every cap's count in its local period is below the limit.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ComplianceError(f"decide: `now` must be timezone-aware, got {now!r}")
    if now.tzinfo is not UTC:
        now = now.astimezone(UTC)
    if not contact.zones:
        reason = Reason(ReasonCode.TIMEZONE_UNKNOWN, f"no time zone is known for {contact.phone}")
        return Decision(False, (reason,), None)
    zones = _zone_infos(contact.zones)

    reasons: list[Reason] = []
    found: datetime | None = now
    for name, zone in zones:
        bound = _check(now, name, zone, history, rules, reasons)
        if bound is None or found is None:
            found = None
        elif bound > found:
            found = bound
    if not reasons:
        return Decision(True, (), now)

    # Each zone's bound is a lower bound on the answer; move to the latest until all zones agree.
    candidate = found
    while candidate is not None:
        if candidate - now > HORIZON:
            candidate = None
            break
        latest: datetime | None = candidate
        for name, zone in zones:
            bound = _check(candidate, name, zone, history, rules, None)
            if bound is None:
                latest = None
                break
            if latest is not None and bound > latest:
                latest = bound
        if latest == candidate:
            break
        candidate = latest

    if candidate is None:
        if len(zones) > 1:
            reasons.append(
                Reason(
                    ReasonCode.TIMEZONE_UNKNOWN,
                    f"no instant is inside the window in all {len(zones)} candidate zones ({', '.join(contact.zones)})",
                )
            )
        else:
            reasons.append(
                Reason(ReasonCode.NO_WINDOW, f"rules {rules.name} never open a window within {HORIZON.days} days")
            )
    return Decision(False, tuple(reasons), candidate)
