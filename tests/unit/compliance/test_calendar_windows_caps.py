"""Production calendar, windows and local-time instants (DST gaps/folds), cap counting in local periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from compliance import (
    AnsweredCounts,
    AnsweredHistory,
    CapMetric,
    ComplianceError,
    InvalidTimezoneError,
    RulesError,
    Window,
    cap_key,
)
from compliance.calendar import CalendarName, DayKind, calendar_named
from compliance.caps import CapPeriod, PeriodCounts, is_human_answer, period_end
from compliance.windows import local_instant, parse_clock
from compliance.zones import zone_info

RU = calendar_named(CalendarName.RU)
PLAIN = calendar_named(CalendarName.PLAIN)


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2025, 11, 1), DayKind.WORKDAY),  # Saturday made a working day (transfer to Nov 3)
        (date(2025, 11, 3), DayKind.HOLIDAY),  # Monday off, transferred from Nov 1
        (date(2025, 11, 4), DayKind.HOLIDAY),  # Unity Day
        (date(2025, 11, 5), DayKind.WORKDAY),
        (date(2025, 11, 2), DayKind.WEEKEND),
        (date(2026, 1, 9), DayKind.HOLIDAY),  # Friday off, transferred from Jan 3
        (date(2026, 1, 12), DayKind.WORKDAY),
        (date(2026, 3, 9), DayKind.HOLIDAY),  # Women's Day falls on Sunday, moved to Monday
        (date(2026, 5, 9), DayKind.HOLIDAY),  # Victory Day on a Saturday is still a holiday
        (date(2026, 4, 18), DayKind.WEEKEND),
        (date(2024, 12, 28), DayKind.WORKDAY),  # working Saturday of 2024
        (date(2024, 12, 31), DayKind.HOLIDAY),
    ],
)
def test_russian_production_calendar(day: date, kind: DayKind) -> None:
    assert RU.kind(day) is kind


def test_plain_calendar() -> None:
    assert PLAIN.kind(date(2025, 11, 1)) is DayKind.WEEKEND
    assert PLAIN.kind(date(2025, 11, 4)) is DayKind.WORKDAY


def test_windows_parse_and_validate() -> None:
    window = Window.parse("09:10-19:50")
    assert (window.start, window.end) == (9 * 3600 + 600, 19 * 3600 + 3000)
    assert str(window) == "09:10-19:50"
    assert str(Window.parse("00:00 – 24:00")) == "00:00-24:00"
    assert parse_clock("08:00:30") == 8 * 3600 + 30
    for bad in ("19:50-09:10", "9-10", "25:00-26:00", "09:60-10:00", "24:00-24:00", "10:00-10:00"):
        with pytest.raises(RulesError):
            Window.parse(bad)


def test_local_instant_ordinary_day() -> None:
    novosibirsk = zone_info("Asia/Novosibirsk")
    assert local_instant(date(2026, 4, 20), 9 * 3600 + 600, novosibirsk) == datetime(2026, 4, 20, 2, 10, tzinfo=UTC)
    assert local_instant(date(2026, 4, 20), 24 * 3600, novosibirsk) == datetime(2026, 4, 20, 17, 0, tzinfo=UTC)


def test_local_instant_in_a_dst_gap_is_the_jump() -> None:
    new_york = zone_info("America/New_York")
    # 2026-03-08 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    instant = local_instant(date(2026, 3, 8), 2 * 3600 + 1800, new_york)
    assert instant == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert instant.astimezone(new_york).strftime("%H:%M") == "03:00"


def test_local_instant_in_a_fold_is_the_first_then_the_second() -> None:
    new_york = zone_info("America/New_York")
    # 2026-11-01 01:30 happens twice (EDT then EST).
    first = local_instant(date(2026, 11, 1), 3600 + 1800, new_york)
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert local_instant(date(2026, 11, 1), 3600 + 1800, new_york, after=first) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_history_counts_in_the_local_calendar() -> None:
    omsk = zone_info("Asia/Omsk")  # UTC+6
    history = AnsweredHistory(
        answered=(
            datetime(2026, 4, 19, 17, 59, tzinfo=UTC),  # 23:59 Sunday Apr 19 local: last week
            datetime(2026, 4, 19, 18, 0, tzinfo=UTC),  # 00:00 Monday Apr 20 local
            datetime(2026, 4, 20, 10, 0, tzinfo=UTC),  # Monday Apr 20 local
            datetime(2026, 3, 31, 18, 30, tzinfo=UTC),  # Apr 1 00:30 local
            datetime(2026, 3, 31, 17, 30, tzinfo=UTC),  # Mar 31 23:30 local
        ),
        attempts=(datetime(2026, 4, 20, 10, 0, tzinfo=UTC),),
    )
    assert history.counts(CapMetric.ANSWERED, omsk, date(2026, 4, 20)) == PeriodCounts(day=2, week=2, month=4)
    assert history.counts(CapMetric.ANSWERED, omsk, date(2026, 4, 19)) == PeriodCounts(day=1, week=1, month=4)
    assert history.counts(CapMetric.ATTEMPTS, omsk, date(2026, 4, 20)) == PeriodCounts(1, 1, 1)
    # The same instants in UTC fall on other days.
    assert history.counts(CapMetric.ANSWERED, zone_info("UTC"), date(2026, 4, 20)).day == 1


def test_history_requires_aware_instants() -> None:
    with pytest.raises(ComplianceError, match="timezone-aware"):
        AnsweredHistory(answered=(datetime(2026, 4, 20, 10),))


def test_counts_apply_to_the_periods_of_their_instant() -> None:
    moscow = zone_info("Europe/Moscow")
    counts = AnsweredCounts(at=datetime(2026, 4, 29, 12, tzinfo=UTC), day=1, week=2, month=5, attempts_day=3)
    assert counts.counts(CapMetric.ANSWERED, moscow, date(2026, 4, 29)) == PeriodCounts(1, 2, 5)
    assert counts.counts(CapMetric.ANSWERED, moscow, date(2026, 4, 30)) == PeriodCounts(0, 2, 5)
    assert counts.counts(CapMetric.ANSWERED, moscow, date(2026, 5, 1)) == PeriodCounts(0, 2, 0)
    assert counts.counts(CapMetric.ANSWERED, moscow, date(2026, 5, 4)) == PeriodCounts(0, 0, 0)
    assert counts.counts(CapMetric.ATTEMPTS, moscow, date(2026, 4, 29)) == PeriodCounts(3, 0, 0)
    with pytest.raises(ComplianceError):
        AnsweredCounts(at=datetime(2026, 4, 29, 12, tzinfo=UTC), day=-1)


def test_period_ends_are_local_midnights() -> None:
    vladivostok = zone_info("Asia/Vladivostok")  # UTC+10
    day = date(2026, 12, 30)  # Wednesday
    assert period_end(day, CapPeriod.DAY, vladivostok) == datetime(2026, 12, 30, 14, tzinfo=UTC)
    assert period_end(day, CapPeriod.WEEK, vladivostok) == datetime(2027, 1, 3, 14, tzinfo=UTC)
    assert period_end(day, CapPeriod.MONTH, vladivostok) == datetime(2026, 12, 31, 14, tzinfo=UTC)
    assert period_end(date(2026, 2, 10), CapPeriod.MONTH, vladivostok) == datetime(2026, 2, 28, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("disposition", "billsec", "amd", "counts"),
    [
        ("ANSWERED", 12, "HUMAN", True),
        ("answered", 1, None, True),
        ("ANSWERED", 12, "human", True),
        ("ANSWERED", 12, "", True),
        ("ANSWERED", 12, "NOTSURE", False),
        ("ANSWERED", 12, "HANGUP", False),
        ("ANSWERED", 0, "HUMAN", False),
        ("ANSWERED", 30, "MACHINE", False),
        ("NO ANSWER", 0, None, False),
        ("BUSY", 0, None, False),
        (None, None, None, False),
    ],
)
def test_human_answer(disposition: str | None, billsec: int | None, amd: str | None, counts: bool) -> None:
    assert is_human_answer(disposition, billsec, amd) is counts


def test_cap_key_prefers_the_subscriber_id() -> None:
    assert cap_key("+79131234567", "  A-17 ") == "id:A-17"
    assert cap_key("+79131234567", "") == "tel:+79131234567"
    assert cap_key("+79131234567") == "tel:+79131234567"


def test_day_boundary_of_history_follows_zone_and_not_server_time() -> None:
    kamchatka = zone_info("Asia/Kamchatka")  # UTC+12
    instant = datetime(2026, 4, 20, 11, 59, 59, tzinfo=UTC)  # 23:59:59 local
    history = AnsweredHistory(answered=(instant,))
    assert history.counts(CapMetric.ANSWERED, kamchatka, date(2026, 4, 20)).day == 1
    assert history.counts(CapMetric.ANSWERED, kamchatka, date(2026, 4, 21)).day == 0
    assert (instant + timedelta(seconds=1)).astimezone(kamchatka).date() == date(2026, 4, 21)


@pytest.mark.parametrize("name", ["Europe", "Mars/Olympus", "../../etc/passwd", "Asia/"])
def test_zone_info_names_what_is_not_a_zone(name: str) -> None:
    with pytest.raises(InvalidTimezoneError, match="unknown time zone"):
        zone_info(name)
