"""cdr.summary: exported CDR rows added up per campaign and local day, with a total line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cdr.summary import OTHER_OUTCOME, SUMMARY_COLUMNS, TRUNK_COLUMNS, SummaryTally

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


def row(at: datetime, outcome: str, *, billsec: int | None = None, amd: str | None = None,
        ring: Decimal | None = None, campaign: str = "spring", company: str = "acme") -> dict[str, Any]:
    return {"created_at": at, "company": company, "campaign": campaign, "outcome": outcome,
            "billsec": billsec, "amd_status": amd, "ring_seconds": ring, "trunk": "sbc", "ended_at": None}


def test_lines_per_local_day_and_campaign_then_the_total() -> None:
    tally = SummaryTally()
    # 20:59 UTC is 23:59 in Moscow (20 Nov) but 06:59 on 21 Nov in Vladivostok.
    late = datetime(2026, 11, 20, 20, 59, tzinfo=UTC)
    tally.add(row(late, "answered", billsec=40, amd="HUMAN", ring=Decimal("4.5")), MOSCOW)
    tally.add(row(late, "answered", billsec=20, ring=Decimal("2.5")), MOSCOW)  # no AMD: a person
    tally.add(row(late, "answered", billsec=12, amd="MACHINE"), MOSCOW)
    tally.add(row(late, "answered", billsec=0, amd="HUMAN"), MOSCOW)  # no billed time: not counted as human
    tally.add(row(late, "answered", billsec=8, amd="NOTSURE"), MOSCOW)
    tally.add(row(late, "busy", ring=Decimal("1.0")), MOSCOW)
    tally.add(row(late, "no_answer"), MOSCOW)
    tally.add(row(late, "surprise"), MOSCOW)
    tally.add(row(late, "busy", campaign="autumn", company="east"), VLADIVOSTOK)
    tally.add(row(datetime(2026, 11, 20, 21, 0, tzinfo=UTC), "lost"), MOSCOW)  # 00:00 on 21 Nov in Moscow

    lines = list(tally.rows())
    assert [(line.day, line.company, line.campaign) for line in lines] == [
        (date(2026, 11, 20), "acme", "spring"),
        (date(2026, 11, 21), "acme", "spring"),
        (date(2026, 11, 21), "east", "autumn"),
        (None, None, None),
    ]
    day = lines[0]
    assert day.calls == 8
    assert day.value("answered") == 5 and day.value("busy") == 1 and day.value("no_answer") == 1
    assert day.value(OTHER_OUTCOME) == 1 and day.value("congestion") == 0
    assert (day.answered_human, day.answered_machine) == (2, 1)
    assert day.asr == pytest.approx(5 / 8)
    assert day.aht_seconds == pytest.approx((40 + 20 + 12 + 0 + 8) / 5)
    assert day.talk_minutes == pytest.approx(80 / 60)
    assert day.avg_ring_seconds == pytest.approx((4.5 + 2.5 + 1.0) / 3)

    midnight = lines[1]
    assert (midnight.calls, midnight.value("lost"), midnight.asr, midnight.aht_seconds) == (1, 1, 0.0, None)
    assert midnight.avg_ring_seconds is None

    total = lines[-1]
    assert total.calls == 10 == sum(line.calls for line in lines[:-1])
    assert total.value("busy") == 2 and total.value("answered") == 5
    assert total.asr == pytest.approx(5 / 10)
    assert total.aht_seconds == pytest.approx(16.0)
    outcome_columns = [name for name, kind in SUMMARY_COLUMNS[4:] if kind == "count"][:-2]
    for line in lines:
        assert sum(int(str(line.value(name))) for name in outcome_columns) == line.calls


def test_nothing_exported_gives_an_empty_total() -> None:
    (total,) = SummaryTally().rows()
    assert (total.day, total.calls, total.asr, total.aht_seconds, total.talk_minutes) == (None, 0, None, None, 0.0)


def test_each_trunk_s_pace_mean_and_peak_cps_and_peak_channels() -> None:
    tally = SummaryTally()
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def call(offset_s: float, seconds: float | None, trunk: str = "sbc", outcome: str = "answered",
             billsec: int = 10) -> None:
        start = t0 + timedelta(seconds=offset_s)
        tally.add(row(start, outcome, billsec=billsec) | {
            "trunk": trunk, "ended_at": None if seconds is None else start + timedelta(seconds=seconds)}, MOSCOW)

    call(0.0, 30)    # up 0-30
    call(0.2, 5)     # up 0.2-5.2
    call(0.9, None, outcome="lost")  # end unknown: counted at its start only
    call(1.1, 30)    # up 1.1-31.1: three up (0, 0.2 and itself)
    call(6.0, 2)     # 0.2's call ended: three up again (0, 1.1, itself)
    call(6.5, 1, outcome="busy", billsec=0)  # four up: the peak
    call(20.0, 1)    # 6.0 and 6.5 ended: three up
    call(3.0, 1, trunk="other")
    (other, sbc) = tally.trunk_rows()
    assert (other.trunk, other.calls, other.avg_cps, other.peak_cps, other.peak_channels) == ("other", 1, None, 1, 1)
    assert (sbc.calls, sbc.peak_cps, sbc.peak_channels) == (7, 3, 4)  # three started within second 0
    assert sbc.first_call_utc == t0 and sbc.last_call_utc == t0 + timedelta(seconds=20)
    assert sbc.avg_cps == pytest.approx(6 / 20)
    assert (sbc.answered, sbc.asr, sbc.aht_seconds) == (5, pytest.approx(5 / 7), 10.0)
    assert [sbc.value(name) for name, _ in TRUNK_COLUMNS][:2] == ["sbc", 7]
