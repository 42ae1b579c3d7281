"""Kinds of local days (workday, weekend, public holiday) under a production calendar."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

import holidays


class DayKind(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # a public holiday or a day off transferred onto a weekday


class CalendarName(StrEnum):
    PLAIN = "plain"  # Saturday and Sunday are weekends; no holidays
    RU = "ru"  # Russian production calendar (Labour Code art. 112 holidays and government transfers)


class Calendar(Protocol):
    name: CalendarName

    def kind(self, day: date) -> DayKind: ...


class PlainCalendar:
    """Saturday and Sunday are weekends, every other day is a workday."""

    name = CalendarName.PLAIN

    def kind(self, day: date) -> DayKind:
        return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY


class RussianCalendar:
    """The Russian production calendar from the `holidays` package, with its transfers.

    A Saturday made a working day by a government transfer is a WORKDAY; a weekday made a day off
    (transfer or holiday falling on a weekend) is a HOLIDAY. Built a year at a time and cached.
    """

    name = CalendarName.RU

    def __init__(self) -> None:
        self._days: dict[date, DayKind] = {}
        self._years: set[int] = set()

    def kind(self, day: date) -> DayKind:
        found = self._days.get(day)
        if found is None:
            self._load(day.year)
            found = self._days[day]
        return found

    def _load(self, year: int) -> None:
        if year in self._years:  # pragma: no cover - every day of a loaded year is in _days
            return
        calendar = holidays.country_holidays("RU", years=year)
        day = date(year, 1, 1)
        while day.year == year:
            if calendar.is_working_day(day):
                self._days[day] = DayKind.WORKDAY
            elif day in calendar:
                self._days[day] = DayKind.HOLIDAY
            else:
                self._days[day] = DayKind.WEEKEND
            day += timedelta(days=1)
        self._years.add(year)


_PLAIN = PlainCalendar()
_RU = RussianCalendar()


def calendar_named(name: CalendarName) -> Calendar:
    """The shared instance of a calendar (the Russian one caches its years)."""
    return _RU if name is CalendarName.RU else _PLAIN
