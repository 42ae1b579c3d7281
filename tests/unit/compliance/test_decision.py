"""decide(): window edges to the second, weekends, holidays, transfers, caps, candidates, next_allowed_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from compliance import (
    RUSSIA_ZONES,
    AnsweredCounts,
    AnsweredHistory,
    ComplianceError,
    Decision,
    InvalidTimezoneError,
    ReasonCode,
    RuleSet,
    Subscriber,
    TzResolution,
    TzSource,
    decide,
    load_rules,
)
from compliance.regions import YAKUTIA_ZONES

TWIN = load_rules("fz230-twin")
LAW = load_rules("fz230-law")
TCPA = load_rules("tcpa")
NONE = AnsweredHistory()

NOVOSIBIRSK = Subscriber("+79131234567", ("Asia/Novosibirsk",))  # UTC+7
MOSCOW = Subscriber("+79161234567", ("Europe/Moscow",))  # UTC+3
NEW_YORK = Subscriber("+12125551234", ("America/New_York",))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def at_local(subscriber: Subscriber, *parts: int) -> datetime:
    from compliance.zones import zone_info

    return datetime(*parts, tzinfo=zone_info(subscriber.zones[0])).astimezone(UTC)  # type: ignore[misc]


def check(
    subscriber: Subscriber,
    now: datetime,
    rules: RuleSet,
    history: AnsweredHistory | AnsweredCounts = NONE,
    allowed: bool = True,
    next_at: datetime | None = None,
) -> Decision:
    decision = decide(subscriber, now, history, rules)
    assert decision.allowed is allowed, decision
    assert decision.next_allowed_at == (now if allowed else next_at), decision
    return decision


# fz230-twin: 09:10-19:50 local every day.
def test_twin_window_edges_to_the_second() -> None:
    day = (2026, 4, 20)
    opening = at_local(NOVOSIBIRSK, *day, 9, 10)
    assert opening == utc(2026, 4, 20, 2, 10)
    check(NOVOSIBIRSK, at_local(NOVOSIBIRSK, *day, 9, 9, 59), TWIN, allowed=False, next_at=opening)
    check(NOVOSIBIRSK, opening, TWIN)
    check(NOVOSIBIRSK, at_local(NOVOSIBIRSK, *day, 19, 49, 59), TWIN)
    check(NOVOSIBIRSK, at_local(NOVOSIBIRSK, *day, 19, 49, 59, 999999), TWIN)
    check(
        NOVOSIBIRSK,
        at_local(NOVOSIBIRSK, *day, 19, 50),
        TWIN,
        allowed=False,
        next_at=at_local(NOVOSIBIRSK, 2026, 4, 21, 9, 10),
    )


def test_twin_weekend_is_like_any_day() -> None:
    check(NOVOSIBIRSK, at_local(NOVOSIBIRSK, 2026, 4, 18, 9, 10), TWIN)  # Saturday
    check(NOVOSIBIRSK, at_local(NOVOSIBIRSK, 2026, 5, 9, 19, 49, 59), TWIN)  # Victory Day


def test_reason_message_names_local_time_zone_and_window() -> None:
    decision = decide(NOVOSIBIRSK, utc(2026, 4, 20, 14, 14), NONE, TWIN)
    assert [str(reason) for reason in decision.reasons] == [
        "outside-window: local 21:14 Asia/Novosibirsk, window 09:10-19:50"
    ]
    assert decision.reasons[0].zone == "Asia/Novosibirsk"


# fz230-law: workdays 08:00-22:00, weekends and holidays 09:00-20:00 by the production calendar.
def test_law_workday_edges() -> None:
    day = (2026, 4, 20)  # Monday
    check(MOSCOW, at_local(MOSCOW, *day, 7, 59, 59), LAW, allowed=False, next_at=at_local(MOSCOW, *day, 8, 0))
    check(MOSCOW, at_local(MOSCOW, *day, 8, 0), LAW)
    check(MOSCOW, at_local(MOSCOW, *day, 21, 59, 59), LAW)
    check(MOSCOW, at_local(MOSCOW, *day, 22, 0), LAW, allowed=False, next_at=at_local(MOSCOW, 2026, 4, 21, 8, 0))


def test_law_weekend_edges_and_friday_night() -> None:
    saturday = (2026, 4, 18)
    check(MOSCOW, at_local(MOSCOW, *saturday, 8, 30), LAW, allowed=False, next_at=at_local(MOSCOW, *saturday, 9))
    check(MOSCOW, at_local(MOSCOW, *saturday, 8, 59, 59), LAW, allowed=False, next_at=at_local(MOSCOW, *saturday, 9))
    check(MOSCOW, at_local(MOSCOW, *saturday, 9, 0), LAW)
    check(MOSCOW, at_local(MOSCOW, *saturday, 19, 59, 59), LAW)
    # Saturday 20:00 -> Sunday 09:00; Sunday 20:00 -> Monday 08:00.
    check(MOSCOW, at_local(MOSCOW, *saturday, 20, 0), LAW, allowed=False, next_at=at_local(MOSCOW, 2026, 4, 19, 9))
    check(MOSCOW, at_local(MOSCOW, 2026, 4, 19, 20), LAW, allowed=False, next_at=at_local(MOSCOW, 2026, 4, 20, 8))
    check(MOSCOW, at_local(MOSCOW, 2026, 4, 17, 22), LAW, allowed=False, next_at=at_local(MOSCOW, *saturday, 9))


def test_law_public_holiday_uses_the_day_off_window() -> None:
    holiday = (2026, 3, 9)  # Monday off: Women's Day fell on Sunday
    decision = check(
        MOSCOW, at_local(MOSCOW, *holiday, 8, 30), LAW, allowed=False, next_at=at_local(MOSCOW, *holiday, 9)
    )
    assert str(decision.reasons[0]) == (
        "outside-window: local 08:30 Europe/Moscow (holiday 2026-03-09), window 09:00-20:00"
    )
    check(MOSCOW, at_local(MOSCOW, *holiday, 9), LAW)
    check(MOSCOW, at_local(MOSCOW, *holiday, 20), LAW, allowed=False, next_at=at_local(MOSCOW, 2026, 3, 10, 8))
    # New Year holidays: Jan 1..8 2026, then a transferred day off on Friday Jan 9.
    check(MOSCOW, at_local(MOSCOW, 2026, 1, 8, 21), LAW, allowed=False, next_at=at_local(MOSCOW, 2026, 1, 9, 9))
    check(MOSCOW, at_local(MOSCOW, 2026, 1, 9, 8, 30), LAW, allowed=False, next_at=at_local(MOSCOW, 2026, 1, 9, 9))


def test_law_transferred_working_saturday_and_day_off_monday() -> None:
    # 2025: Saturday Nov 1 is a working day, Monday Nov 3 a day off, Tuesday Nov 4 Unity Day.
    check(MOSCOW, at_local(MOSCOW, 2025, 11, 1, 8, 0), LAW)
    check(MOSCOW, at_local(MOSCOW, 2025, 11, 1, 21, 59, 59), LAW)
    check(MOSCOW, at_local(MOSCOW, 2025, 11, 3, 8, 0), LAW, allowed=False, next_at=at_local(MOSCOW, 2025, 11, 3, 9))
    check(MOSCOW, at_local(MOSCOW, 2025, 11, 4, 20), LAW, allowed=False, next_at=at_local(MOSCOW, 2025, 11, 5, 8))


def test_tcpa_edges_with_daylight_saving() -> None:
    day = (2026, 3, 8)  # DST starts at 02:00 local
    check(NEW_YORK, at_local(NEW_YORK, *day, 7, 59, 59), TCPA, allowed=False, next_at=utc(2026, 3, 8, 12, 0))
    check(NEW_YORK, utc(2026, 3, 8, 12, 0), TCPA)  # 08:00 EDT
    check(NEW_YORK, at_local(NEW_YORK, *day, 20, 59, 59), TCPA)
    check(NEW_YORK, at_local(NEW_YORK, *day, 21), TCPA, allowed=False, next_at=utc(2026, 3, 9, 12, 0))
    check(NEW_YORK, utc(2026, 1, 5, 13, 0), TCPA)  # 08:00 EST


def test_end_margin_keeps_ringing_inside_the_window(tmp_path: Path) -> None:
    path = tmp_path / "margin.toml"
    path.write_text('extends = "fz230-twin"\nend_margin_seconds = 120\n', encoding="utf-8")
    rules = load_rules(str(path))
    day = (2026, 4, 20)
    check(NOVOSIBIRSK, at_local(NOVOSIBIRSK, *day, 19, 47, 59), rules)
    decision = check(
        NOVOSIBIRSK,
        at_local(NOVOSIBIRSK, *day, 19, 48),
        rules,
        allowed=False,
        next_at=at_local(NOVOSIBIRSK, 2026, 4, 21, 9, 10),
    )
    assert "window 09:10-19:50 (last start 19:48)" in decision.reasons[0].message


# Caps: answered-by-human calls per local day / ISO week / month.
def test_twin_day_cap_moves_to_tomorrow_window() -> None:
    now = at_local(NOVOSIBIRSK, 2026, 4, 20, 12)
    one = AnsweredHistory((at_local(NOVOSIBIRSK, 2026, 4, 20, 10),))
    check(NOVOSIBIRSK, now, TWIN, one)
    two = AnsweredHistory((at_local(NOVOSIBIRSK, 2026, 4, 20, 0, 0, 1), at_local(NOVOSIBIRSK, 2026, 4, 20, 10)))
    decision = check(NOVOSIBIRSK, now, TWIN, two, allowed=False, next_at=at_local(NOVOSIBIRSK, 2026, 4, 21, 9, 10))
    assert [reason.code for reason in decision.reasons] == [ReasonCode.CAP_DAY]
    assert decision.reasons[0].message == ("2 answered calls in local day 2026-04-20 Asia/Novosibirsk, limit 2 per day")
    # A call at 23:59:59 local yesterday does not count today, even though it is the same UTC day.
    yesterday = AnsweredHistory(
        (at_local(NOVOSIBIRSK, 2026, 4, 19, 23, 59, 59), at_local(NOVOSIBIRSK, 2026, 4, 20, 10))
    )
    check(NOVOSIBIRSK, now, TWIN, yesterday)


def test_twin_week_and_month_caps() -> None:
    # Four answered calls Mon+Tue of ISO week 17 (2026-04-20..26): capped until Monday Apr 27 09:10.
    week = AnsweredHistory(tuple(at_local(NOVOSIBIRSK, 2026, 4, day, hour) for day in (20, 21) for hour in (10, 11)))
    now = at_local(NOVOSIBIRSK, 2026, 4, 23, 12)
    decision = check(NOVOSIBIRSK, now, TWIN, week, allowed=False, next_at=at_local(NOVOSIBIRSK, 2026, 4, 27, 9, 10))
    assert [reason.code for reason in decision.reasons] == [ReasonCode.CAP_WEEK]
    # Sixteen in April: capped until May 1 09:10 local.
    month = AnsweredHistory(
        tuple(at_local(NOVOSIBIRSK, 2026, 4, day, hour) for day in (1, 2, 8, 9, 14, 15, 21, 22) for hour in (10, 11))
    )
    decision = check(
        NOVOSIBIRSK,
        at_local(NOVOSIBIRSK, 2026, 4, 28, 12),
        TWIN,
        month,
        allowed=False,
        next_at=at_local(NOVOSIBIRSK, 2026, 5, 1, 9, 10),
    )
    assert [reason.code for reason in decision.reasons] == [ReasonCode.CAP_MONTH]


def test_law_caps_land_on_the_right_kind_of_day() -> None:
    friday = at_local(MOSCOW, 2026, 4, 17, 12)
    one = AnsweredHistory((at_local(MOSCOW, 2026, 4, 17, 10),))
    # Capped for Friday; Saturday's window opens at 09:00 (weekend).
    check(MOSCOW, friday, LAW, one, allowed=False, next_at=at_local(MOSCOW, 2026, 4, 18, 9))
    # Two this week: next Monday 08:00.
    two = AnsweredHistory((at_local(MOSCOW, 2026, 4, 14, 10), at_local(MOSCOW, 2026, 4, 16, 10)))
    check(MOSCOW, friday, LAW, two, allowed=False, next_at=at_local(MOSCOW, 2026, 4, 20, 8))
    # Capped and outside the window at once: both reasons, the later bound wins.
    late = at_local(MOSCOW, 2026, 4, 17, 23)
    decision = check(MOSCOW, late, LAW, two, allowed=False, next_at=at_local(MOSCOW, 2026, 4, 20, 8))
    assert [reason.code for reason in decision.reasons] == [ReasonCode.OUTSIDE_WINDOW, ReasonCode.CAP_WEEK]


def test_counts_from_a_ledger_or_the_cli() -> None:
    now = at_local(MOSCOW, 2026, 4, 29, 12)  # Wednesday
    check(MOSCOW, now, LAW, AnsweredCounts(at=now, day=0, week=1, month=7))
    check(
        MOSCOW,
        now,
        LAW,
        AnsweredCounts(at=now, day=1, week=1, month=1),
        allowed=False,
        next_at=at_local(MOSCOW, 2026, 4, 30, 8),
    )
    # Eight this month: the month ends on Thursday Apr 30; May 1 is a public holiday (09:00).
    check(
        MOSCOW,
        now,
        LAW,
        AnsweredCounts(at=now, day=0, week=0, month=8),
        allowed=False,
        next_at=at_local(MOSCOW, 2026, 5, 1, 9),
    )


def test_attempt_caps(tmp_path: Path) -> None:
    path = tmp_path / "attempts.toml"
    path.write_text('extends = "tcpa"\n[attempt_caps]\nday = 3\n', encoding="utf-8")
    rules = load_rules(str(path))
    now = at_local(NEW_YORK, 2026, 6, 10, 12)
    attempts = AnsweredHistory(attempts=tuple(at_local(NEW_YORK, 2026, 6, 10, 9, minute) for minute in (0, 10, 20)))
    decision = check(NEW_YORK, now, rules, attempts, allowed=False, next_at=at_local(NEW_YORK, 2026, 6, 11, 8))
    assert decision.reasons[0].code is ReasonCode.ATTEMPT_CAP_DAY


# Several candidate zones: allowed only inside the window in every one (strictest wins).
def test_yakutia_candidates_intersect_windows() -> None:
    yakutia = Subscriber("+79019319000", YAKUTIA_ZONES)  # UTC+9, +10, +11
    check(yakutia, utc(2026, 4, 20, 0, 9, 59), TWIN, allowed=False, next_at=utc(2026, 4, 20, 0, 10))  # 09:10 at +9
    check(yakutia, utc(2026, 4, 20, 0, 10), TWIN)
    check(yakutia, utc(2026, 4, 20, 8, 49, 59), TWIN)
    decision = check(yakutia, utc(2026, 4, 20, 8, 50), TWIN, allowed=False, next_at=utc(2026, 4, 21, 0, 10))
    assert [reason.zone for reason in decision.reasons] == ["Asia/Srednekolymsk"]  # 19:50 at +11


def test_unknown_russian_number_gets_the_all_russia_intersection() -> None:
    russia = Subscriber("+79990000000", RUSSIA_ZONES)
    # 09:10 in Kaliningrad (UTC+2) = 07:10 UTC; 19:50 in Kamchatka (UTC+12) = 07:50 UTC.
    check(russia, utc(2026, 4, 20, 7, 9, 59), TWIN, allowed=False, next_at=utc(2026, 4, 20, 7, 10))
    check(russia, utc(2026, 4, 20, 7, 49, 59), TWIN)
    check(russia, utc(2026, 4, 20, 7, 50), TWIN, allowed=False, next_at=utc(2026, 4, 21, 7, 10))


def test_candidates_whose_windows_never_meet_are_timezone_unknown(tmp_path: Path) -> None:
    path = tmp_path / "short.toml"
    path.write_text('[windows]\neveryday = "10:00-13:00"\n', encoding="utf-8")
    rules = load_rules(str(path))
    russia = Subscriber("+79990000000", RUSSIA_ZONES)
    decision = decide(russia, utc(2026, 4, 20, 7), NONE, rules)
    assert decision.allowed is False
    assert decision.next_allowed_at is None
    assert decision.reasons[-1].code is ReasonCode.TIMEZONE_UNKNOWN


def test_no_zone_at_all_is_never_allowed() -> None:
    unknown = Subscriber.from_resolution("+80012345678", TzResolution(None, TzSource.UNKNOWN, ()))
    decision = decide(unknown, utc(2026, 4, 20, 7), NONE, TWIN)
    assert decision == Decision(False, decision.reasons, None)
    assert [reason.code for reason in decision.reasons] == [ReasonCode.TIMEZONE_UNKNOWN]


def test_rules_without_any_window(tmp_path: Path) -> None:
    path = tmp_path / "closed.toml"
    path.write_text('[windows]\neveryday = "none"\n', encoding="utf-8")
    decision = decide(MOSCOW, utc(2026, 4, 20, 7), NONE, load_rules(str(path)))
    assert decision.next_allowed_at is None
    assert [reason.code for reason in decision.reasons] == [ReasonCode.OUTSIDE_WINDOW, ReasonCode.NO_WINDOW]


def test_now_must_be_aware_and_any_offset_is_accepted() -> None:
    with pytest.raises(ComplianceError, match="timezone-aware"):
        decide(MOSCOW, datetime(2026, 4, 20, 12), NONE, TWIN)
    plus_three = datetime(2026, 4, 20, 12, tzinfo=UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    decision = decide(MOSCOW, plus_three, NONE, TWIN)
    assert decision.allowed
    assert decision.next_allowed_at == utc(2026, 4, 20, 12)
    assert decision.next_allowed_at.tzinfo is UTC  # type: ignore[union-attr]


def test_unknown_zone_name_is_an_error() -> None:
    with pytest.raises(InvalidTimezoneError):
        decide(Subscriber("+79131234567", ("Asia/Atlantis",)), utc(2026, 4, 20, 7), NONE, TWIN)


def test_fixed_offset_zone_from_a_list() -> None:
    subscriber = Subscriber("+79131234567", ("UTC+05:30",))
    check(subscriber, utc(2026, 4, 20, 3, 40), TWIN)  # 09:10 at +05:30
    check(subscriber, utc(2026, 4, 20, 3, 39, 59), TWIN, allowed=False, next_at=utc(2026, 4, 20, 3, 40))


def test_next_allowed_at_is_exact_within_a_microsecond() -> None:
    opening = at_local(NOVOSIBIRSK, 2026, 4, 20, 9, 10)
    decision = decide(NOVOSIBIRSK, opening - timedelta(microseconds=1), NONE, TWIN)
    assert decision.next_allowed_at == opening
