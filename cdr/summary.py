"""The summary of exported CDRs: per campaign and local day (the company's calendar), calls by outcome,
answered by a person or a machine, answer-seizure ratio, average handling time, talk and ring time;
and per trunk, its pace: mean and peak calls per second and peak simultaneous calls.

Pure: `SummaryTally.add` takes the export's rows as they stream by (in order of their start), so the
summary covers exactly the rows exported, with the same time zones; `rows()` gives the campaign table,
one line per (day, company, campaign) in order, then the total; `trunk_rows()` one line per trunk.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from ami import Outcome
from compliance import is_human_answer

__all__ = ["OTHER_OUTCOME", "SUMMARY_COLUMNS", "TRUNK_COLUMNS", "SummaryLine", "SummaryTally", "TrunkLine"]

OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
OTHER_OUTCOME = "other"  # an outcome this version does not know (e.g. from a later one)

# (header, kind): kind says how the export writes a value (day, text, count, ratio, seconds, minutes).
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", "day"),
    ("company", "text"),
    ("campaign", "text"),
    ("calls", "count"),
    *((name, "count") for name in OUTCOMES),
    (OTHER_OUTCOME, "count"),
    ("answered_human", "count"),
    ("answered_machine", "count"),
    ("asr", "ratio"),
    ("aht_seconds", "seconds"),
    ("talk_minutes", "minutes"),
    ("avg_ring_seconds", "seconds"),
)

# Instants are written in UTC: a trunk carries the calls of companies in several zones.
TRUNK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trunk", "text"),
    ("calls", "count"),
    ("first_call_utc", "instant"),
    ("last_call_utc", "instant"),
    ("avg_cps", "rate"),
    ("peak_cps", "count"),
    ("peak_channels", "count"),
    ("answered", "count"),
    ("asr", "ratio"),
    ("aht_seconds", "seconds"),
)

_ANSWERED = Outcome.ANSWERED.value


@dataclass(slots=True)
class _Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    human: int = 0
    machine: int = 0
    answered_billsec: int = 0
    ring_seconds: float = 0.0
    rung: int = 0

    def add(self, row: Mapping[str, Any]) -> None:
        outcome = row["outcome"] if row["outcome"] in OUTCOMES else OTHER_OUTCOME
        self.outcomes[outcome] += 1
        if outcome == _ANSWERED:
            billsec = int(row["billsec"] or 0)
            self.answered_billsec += billsec
            amd = (row["amd_status"] or "").strip().upper()
            if is_human_answer("ANSWERED", billsec, amd):
                self.human += 1
            elif amd == "MACHINE":
                self.machine += 1
        ring = row["ring_seconds"]
        if ring is not None:
            self.ring_seconds += float(ring) if isinstance(ring, Decimal) else ring
            self.rung += 1

    def merge(self, other: _Tally) -> None:
        self.outcomes.update(other.outcomes)
        self.human += other.human
        self.machine += other.machine
        self.answered_billsec += other.answered_billsec
        self.ring_seconds += other.ring_seconds
        self.rung += other.rung


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One line of the summary; `day`, `company` and `campaign` are None on the total line."""

    day: date | None
    company: str | None
    campaign: str | None
    calls: int
    outcomes: Mapping[str, int]
    answered_human: int
    answered_machine: int
    asr: float | None  # answered / calls
    aht_seconds: float | None  # mean billsec of answered calls
    talk_minutes: float
    avg_ring_seconds: float | None

    def value(self, column: str) -> object:
        """The value of a SUMMARY_COLUMNS column."""
        if column in OUTCOMES or column == OTHER_OUTCOME:
            return self.outcomes.get(column, 0)
        return getattr(self, column)


def _line(key: tuple[date | None, str | None, str | None], tally: _Tally) -> SummaryLine:
    calls = sum(tally.outcomes.values())
    answered = tally.outcomes[_ANSWERED]
    return SummaryLine(
        day=key[0], company=key[1], campaign=key[2], calls=calls, outcomes=dict(tally.outcomes),
        answered_human=tally.human, answered_machine=tally.machine,
        asr=answered / calls if calls else None,
        aht_seconds=tally.answered_billsec / answered if answered else None,
        talk_minutes=tally.answered_billsec / 60,
        avg_ring_seconds=tally.ring_seconds / tally.rung if tally.rung else None,
    )


@dataclass(frozen=True, slots=True)
class TrunkLine:
    trunk: str
    calls: int
    first_call_utc: datetime
    last_call_utc: datetime
    avg_cps: float | None  # calls / seconds from the first start to the last; None for a single call
    peak_cps: int  # most calls started within one second
    peak_channels: int  # most calls up at once (a call whose end is unknown counts at its start only)
    answered: int
    asr: float
    aht_seconds: float | None

    def value(self, column: str) -> object:
        """The value of a TRUNK_COLUMNS column."""
        return getattr(self, column)


@dataclass(slots=True)
class _TrunkTally:
    first: datetime
    last: datetime
    calls: int = 0
    second: int = 0  # the whole UTC second of the latest start, and how many started in it
    in_second: int = 0
    peak_cps: int = 0
    ends: list[datetime] = field(default_factory=list)  # a heap: the ends of the calls still up
    peak_channels: int = 0
    answered: int = 0
    answered_billsec: int = 0

    def add(self, row: Mapping[str, Any]) -> None:
        start: datetime = row["created_at"]
        self.calls += 1
        self.last = start
        second = int(start.timestamp() // 1)
        self.in_second = self.in_second + 1 if second == self.second else 1
        self.second = second
        self.peak_cps = max(self.peak_cps, self.in_second)
        while self.ends and self.ends[0] <= start:
            heapq.heappop(self.ends)
        heapq.heappush(self.ends, max(row["ended_at"] or start, start))
        self.peak_channels = max(self.peak_channels, len(self.ends))
        if row["outcome"] == _ANSWERED:
            self.answered += 1
            self.answered_billsec += int(row["billsec"] or 0)

    def line(self, trunk: str) -> TrunkLine:
        span = (self.last - self.first).total_seconds()
        return TrunkLine(
            trunk=trunk, calls=self.calls, first_call_utc=self.first.astimezone(UTC),
            last_call_utc=self.last.astimezone(UTC),
            avg_cps=(self.calls - 1) / span if span > 0 else None, peak_cps=self.peak_cps,
            peak_channels=self.peak_channels, answered=self.answered, asr=self.answered / self.calls,
            aht_seconds=self.answered_billsec / self.answered if self.answered else None,
        )


@dataclass(slots=True)
class SummaryTally:
    """Adds up exported CDR rows (mappings with created_at, company, campaign, outcome, billsec,
    amd_status, ring_seconds) by the company's local day of the call's start."""

    _groups: dict[tuple[date, str, str], _Tally] = field(default_factory=dict)
    _trunks: dict[str, _TrunkTally] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any], zone: tzinfo) -> None:
        created: datetime = row["created_at"]
        key = (created.astimezone(zone).date(), row["company"] or "", row["campaign"] or "")
        tally = self._groups.get(key)
        if tally is None:
            tally = self._groups[key] = _Tally()
        tally.add(row)
        trunk = row["trunk"] or ""
        pace = self._trunks.get(trunk)
        if pace is None:
            pace = self._trunks[trunk] = _TrunkTally(first=created, last=created)
        pace.add(row)

    def rows(self) -> Iterator[SummaryLine]:
        total = _Tally()
        for key in sorted(self._groups):
            tally = self._groups[key]
            total.merge(tally)
            yield _line(key, tally)
        yield _line((None, None, None), total)

    def trunk_rows(self) -> Iterator[TrunkLine]:
        for trunk in sorted(self._trunks):
            yield self._trunks[trunk].line(trunk)
