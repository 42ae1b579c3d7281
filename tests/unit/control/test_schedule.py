"""Campaign schedules in the company's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialer.errors import InvalidValueError
from dialer.schedule import parse_schedule

MSK = ZoneInfo("Europe/Moscow")
NSK = ZoneInfo("Asia/Novosibirsk")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("mon-fri 09:00-18:00", "mon-fri 09:00-18:00"),
        ("Mon-Fri 9:00 - 18:00; sat 10:00-14:00", "mon-fri 09:00-18:00, sat 10:00-14:00"),
        ("daily 08:00-24:00", "daily 08:00-24:00"),
        ("sun 10:00-11:00", "sun 10:00-11:00"),
    ],
)
def test_parse_and_spec(spec: str, canonical: str) -> None:
    assert parse_schedule(spec).spec() == canonical
    assert parse_schedule(canonical).spec() == canonical


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("weekdays 09:00-18:00", "DAYS HH:MM-HH:MM"),
        ("mon-xyz 09:00-18:00", "unknown day 'xyz'"),
        ("fri-mon 09:00-18:00", "runs backwards"),
        ("mon 18:00-09:00", "cannot cross midnight"),
        ("mon 25:00-26:00", "not a time of day"),
        ("mon 09:00", "DAYS HH:MM-HH:MM"),
    ],
)
def test_parse_rejects(spec: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        parse_schedule(spec)
    assert info.value.field == "schedule"


def test_open_in_the_company_zone() -> None:
    schedule = parse_schedule("mon-fri 09:00-18:00")
    # Monday 2026-03-02 06:00 UTC = 09:00 Moscow (UTC+3) = 13:00 Novosibirsk (UTC+7)
    assert schedule.is_open(utc(2026, 3, 2, 6, 0), MSK)
    assert not schedule.is_open(utc(2026, 3, 2, 5, 59), MSK)
    assert not schedule.is_open(utc(2026, 3, 2, 15, 0), MSK)  # 18:00 Moscow: closed (end excluded)
    assert schedule.is_open(utc(2026, 3, 2, 2, 0), NSK)  # 09:00 Novosibirsk
    assert not schedule.is_open(utc(2026, 3, 7, 8, 0), MSK)  # Saturday


def test_next_open() -> None:
    schedule = parse_schedule("mon-fri 09:00-18:00")
    at = utc(2026, 3, 2, 7, 0)
    assert schedule.next_open(at, MSK) == at  # already open
    # Friday 18:30 Moscow -> Monday 09:00 Moscow = 06:00 UTC
    assert schedule.next_open(utc(2026, 3, 6, 15, 30), MSK) == utc(2026, 3, 9, 6, 0)
    # Monday 05:00 Moscow -> 09:00 the same day
    assert schedule.next_open(utc(2026, 3, 2, 2, 0), MSK) == utc(2026, 3, 2, 6, 0)
