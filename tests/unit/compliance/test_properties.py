"""Hypothesis properties of decide() against a naive oracle written independently here.

- For any instant, zone(s) and history, `allowed` equals "inside the window in every zone and under every cap"
  (so `allowed` implies both).
- `next_allowed_at` is itself allowed, and no earlier instant is: checked just before it and by stepping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance import RUSSIA_ZONES, AnsweredHistory, Subscriber, decide, load_rules
from compliance.regions import YAKUTIA_ZONES

# Written out again here rather than read from RuleSet: name -> (workday, day off, (day, week, month caps)).
ORACLE_RULES: dict[str, tuple[tuple[time, time], tuple[time, time], tuple[int, int, int] | None, bool]] = {
    "fz230-twin": ((time(9, 10), time(19, 50)), (time(9, 10), time(19, 50)), (2, 4, 16), False),
    "fz230-law": ((time(8), time(22)), (time(9), time(20)), (1, 2, 8), True),
    "tcpa": ((time(8), time(21)), (time(8), time(21)), None, False),
}

SINGLE_ZONES = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Irkutsk",
    "Asia/Chita",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Anadyr",
    # Daylight saving time and odd offsets.
    "America/New_York",
    "Europe/Berlin",
    "America/Santiago",  # DST changes at midnight: some local days start at 01:00
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",
    "Pacific/Chatham",
]
ZONE_SETS = [(zone,) for zone in SINGLE_ZONES] + [
    YAKUTIA_ZONES,
    RUSSIA_ZONES,
    ("America/New_York", "America/Los_Angeles"),
]

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2030, 12, 31, tzinfo=UTC)


@cache
def russian_calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def oracle_allowed(zones: tuple[str, ...], instant: datetime, answered: tuple[datetime, ...], rules: str) -> bool:
    workday, day_off, caps, production_calendar = ORACLE_RULES[rules]
    for name in zones:
        zone = ZoneInfo(name)
        local = instant.astimezone(zone)
        today = local.date()
        is_workday = russian_calendar(today.year).is_working_day(today) if production_calendar else today.weekday() < 5
        start, end = workday if is_workday else day_off
        if not start <= local.time().replace(tzinfo=None) < end:
            return False
        if caps is None:
            continue
        local_days = [moment.astimezone(zone).date() for moment in answered]
        per_day = sum(day == today for day in local_days)
        per_week = sum(day.isocalendar()[:2] == today.isocalendar()[:2] for day in local_days)
        per_month = sum((day.year, day.month) == (today.year, today.month) for day in local_days)
        if per_day >= caps[0] or per_week >= caps[1] or per_month >= caps[2]:
            return False
    return True


instants = st.datetimes(
    min_value=START.replace(tzinfo=None), max_value=END.replace(tzinfo=None), timezones=st.just(UTC)
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[tuple[str, ...], datetime, tuple[datetime, ...], str]:
    zones = draw(st.sampled_from(ZONE_SETS))
    now = draw(instants)
    rules = draw(st.sampled_from(sorted(ORACLE_RULES)))
    offsets = draw(st.lists(st.integers(min_value=0, max_value=40 * 86400), max_size=18))
    answered = tuple(now - timedelta(seconds=seconds) for seconds in offsets)
    return zones, now, answered, rules


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_allowed_iff_inside_every_window_and_under_every_cap(
    scenario: tuple[tuple[str, ...], datetime, tuple[datetime, ...], str],
) -> None:
    zones, now, answered, rules = scenario
    decision = decide(Subscriber("+79131234567", zones), now, AnsweredHistory(answered), load_rules(rules))
    assert decision.allowed == oracle_allowed(zones, now, answered, rules), decision
    if decision.allowed:
        assert decision.next_allowed_at == now
        assert decision.reasons == ()
    else:
        assert decision.reasons


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(min_value=1, max_value=400))
def test_next_allowed_at_is_allowed_and_nothing_earlier_is(
    scenario: tuple[tuple[str, ...], datetime, tuple[datetime, ...], str], phase: int
) -> None:
    zones, now, answered, rules = scenario
    subscriber = Subscriber("+79131234567", zones)
    history = AnsweredHistory(answered)
    rule_set = load_rules(rules)
    decision = decide(subscriber, now, history, rule_set)
    found = decision.next_allowed_at
    assert found is not None  # every zone set above has windows that meet
    assert found >= now
    assert found.tzinfo is UTC
    assert oracle_allowed(zones, found, answered, rules)
    assert decide(subscriber, found, history, rule_set).allowed
    if found == now:
        return
    assert not oracle_allowed(zones, found - timedelta(microseconds=1), answered, rules)
    assert not oracle_allowed(zones, found - timedelta(seconds=1), answered, rules)
    # Step from now to the answer; allowed stretches last at least 40 minutes, so a 7-minute step
    # (shifted by `phase` seconds) cannot jump over one.
    step = timedelta(minutes=7)
    probe = now + timedelta(seconds=phase % 420)
    while probe < found:
        assert not oracle_allowed(zones, probe, answered, rules), probe
        probe += step


def test_oracle_agrees_on_known_points() -> None:
    moscow = ("Europe/Moscow",)
    # Sanity of the oracle itself: Monday 2026-04-20 08:00 MSK allowed by the law, 07:59:59 not.
    assert oracle_allowed(moscow, datetime(2026, 4, 20, 5, tzinfo=UTC), (), "fz230-law")
    assert not oracle_allowed(moscow, datetime(2026, 4, 20, 4, 59, 59, tzinfo=UTC), (), "fz230-law")
    assert not oracle_allowed(moscow, datetime(2026, 3, 9, 5, 30, tzinfo=UTC), (), "fz230-law")  # holiday
    assert russian_calendar(2025).is_working_day(date(2025, 11, 1))
