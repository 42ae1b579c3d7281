"""Every SQL panel query on real PostgreSQL with generated CDRs, against aggregates computed in Python."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr import CdrRecord, CdrWriter
from cdr.queries import DURATION_RANGES, PanelQuery, Period, dashboard_queries, run_query
from tests.integration.cdr.factories import contact, tenant

# 20:30 UTC is already tomorrow in Yekaterinburg (UTC+5): "today" there began at 19:00 UTC.
NOW = datetime(2026, 6, 15, 20, 30, 0, 123456, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Yekaterinburg")
OUTCOMES = ["answered", "busy", "no_answer", "congestion", "invalid_number", "failed"]
TRUNKS = ["sbx-a", "sbx-b"]


@dataclass
class World:
    company_id: int
    records: list[CdrRecord]  # of the company under test
    contacts: Counter[str]


def period_start(period: Period) -> datetime:
    local = NOW.astimezone(ZONE)
    if period is Period.TODAY:
        return datetime.combine(local.date(), time(0), tzinfo=ZONE).astimezone(UTC)
    if period is Period.YEAR:
        return datetime.combine(date(local.year, 1, 1), time(0), tzinfo=ZONE).astimezone(UTC)
    assert period.minutes is not None
    return NOW - timedelta(minutes=period.minutes)


def generate(rng: random.Random, company_id: int, count: int, prefix: str) -> list[CdrRecord]:
    today = period_start(Period.TODAY)
    year = period_start(Period.YEAR)
    starts = (
        # the edges: exactly at a window's start is in, a microsecond before is out
        [today, today - timedelta(microseconds=1), year, year - timedelta(microseconds=1),
         NOW - timedelta(minutes=15), NOW, NOW + timedelta(seconds=1)]
        + [NOW - timedelta(seconds=rng.uniform(0, 3600)) for _ in range(count // 2)]
        + [NOW - timedelta(seconds=rng.uniform(0, 86400 * 2)) for _ in range(count // 4)]
        + [NOW - timedelta(days=rng.uniform(0, 400)) for _ in range(count // 4)]
    )
    records = []
    for i, created in enumerate(starts):
        outcome = rng.choice(OUTCOMES)
        answered = outcome == "answered"
        ring = rng.uniform(0.5, 20)
        billsec = rng.choice([0, 3, 9, 10, 29, 30, 59, 60, 61, 119, 120, 299, 300, 599, 600, 1799, 1800, 2400]) \
            if answered else 0
        answered_at = created + timedelta(seconds=ring) if answered else None
        ended_at = (answered_at + timedelta(seconds=billsec + rng.random())) if answered_at else (
            created + timedelta(seconds=ring))
        records.append(CdrRecord(
            channel_id=f"{prefix}-{i}", phone=f"+7900{i:07d}", created_at=created, outcome=outcome,
            company_id=company_id, campaign_id=None, trunk=rng.choice(TRUNKS), answered_at=answered_at,
            ended_at=ended_at, billsec=billsec,
        ))
    return records


@pytest.fixture
async def world(database: AsyncEngine) -> World:
    rng = random.Random(8)
    async with database.begin() as conn:
        a = await tenant(conn, company="acme", campaign="a1", timezone="Asia/Yekaterinburg")
        a2 = await tenant(conn, company="acme-2nd-campaign-holder", campaign="a2", timezone="UTC")
        # a second campaign of the same company
        await conn.execute(text("UPDATE campaigns SET company_id = :c WHERE id = :id"),
                           {"c": a.company_id, "id": a2.campaign_id})
        b = await tenant(conn, company="other", campaign="b1", timezone="America/New_York")
        contacts: Counter[str] = Counter()
        states = ["ready", "dialing", "done", "failed", "excluded"]
        for i in range(120):
            state = states[i % 5] if i % 7 else "ready"
            await contact(conn, a if i % 2 else a2, f"+7911{i:07d}", state=state)
            contacts[state] += 1
            await contact(conn, b, f"+7922{i:07d}", state="done")  # another company's
    mine = generate(rng, a.company_id, 2000, "a")
    theirs = generate(rng, b.company_id, 400, "b")
    writer = CdrWriter(database, batch_size=1000)
    for record in mine + theirs:
        writer.submit(record)
    await writer.aclose()
    return World(a.company_id, mine, contacts)


def in_period(at: datetime | None, period: Period, *, open_start: bool = False) -> bool:
    start = period_start(period)
    return at is not None and (start < at if open_start else start <= at) and at <= NOW


def expect_status(w: World, period: Period) -> list[dict[str, Any]]:
    counted = Counter(r.outcome for r in w.records if in_period(r.created_at, period))
    return [{"status": s, "calls": n} for s, n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))]


def expect_duration(w: World, period: Period) -> list[dict[str, Any]]:
    out = []
    for label, lo, hi in DURATION_RANGES:
        n = sum(1 for r in w.records if r.outcome == "answered" and in_period(r.created_at, period)
                and r.billsec >= lo and (hi is None or r.billsec < hi))
        out.append({"duration": label, "calls": n})
    return out


def expect_contacts(w: World) -> list[dict[str, Any]]:
    return [{"state": s, "contacts": n} for s, n in sorted(w.contacts.items(), key=lambda kv: (-kv[1], kv[0]))]


def expect_cps(w: World, period: Period) -> list[dict[str, Any]]:
    seconds = max((NOW - period_start(period)).total_seconds(), 1)
    calls = [r for r in w.records if in_period(r.created_at, period, open_start=True)]
    per_trunk = Counter(r.trunk or "" for r in calls)
    return [{"trunk": "all", "cps": len(calls) / seconds}] + [
        {"trunk": t, "cps": per_trunk[t] / seconds} for t in sorted(per_trunk)
    ]


def expect_aht(w: World, period: Period) -> list[dict[str, Any]]:
    billsecs = [r.billsec for r in w.records if r.outcome == "answered"
                and in_period(r.ended_at, period, open_start=True)]
    return [{"aht_seconds": sum(billsecs) / len(billsecs) if billsecs else None, "answered_calls": len(billsecs)}]


def expectation(query: PanelQuery) -> Callable[[World], list[dict[str, Any]]]:
    family, _, key = query.key.rpartition("_")
    period = next((p for p in Period if p.key == key), None)
    table: dict[str, Callable[[World], list[dict[str, Any]]]] = {}
    if period is not None:
        table = {
            "calls_by_status": lambda w: expect_status(w, period),
            "calls_by_duration": lambda w: expect_duration(w, period),
            "cps_from_cdr": lambda w: expect_cps(w, period),
            "aht_from_cdr": lambda w: expect_aht(w, period),
        }
    table["contacts_by"] = expect_contacts
    return table[family]


def approx_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("query", dashboard_queries(), ids=lambda q: q.key)
async def test_panel_query_returns_the_expected_aggregates(
    database: AsyncEngine, world: World, query: PanelQuery
) -> None:
    async with database.connect() as conn:
        got = await run_query(conn, query, company_id=world.company_id, now=NOW)
    expected = expectation(query)(world)
    assert got == approx_rows(expected)
    # The data exercises the panel: something is counted (else the test could not fail).
    assert any(v for row in expected for v in row.values() if isinstance(v, int | float) and v), expected


@pytest.mark.parametrize("period", list(Period), ids=lambda p: p.key)
async def test_every_period_of_the_status_and_duration_queries(
    database: AsyncEngine, world: World, period: Period
) -> None:
    from cdr.queries import calls_by_duration, calls_by_status

    async with database.connect() as conn:
        status = await run_query(conn, calls_by_status(period), company_id=world.company_id, now=NOW)
        duration = await run_query(conn, calls_by_duration(period), company_id=world.company_id, now=NOW)
    assert status == expect_status(world, period)
    assert duration == expect_duration(world, period)


@pytest.mark.parametrize("query", dashboard_queries(), ids=lambda q: q.key)
async def test_dashboard_form_of_the_sql_gives_the_same_rows(
    database: AsyncEngine, world: World, query: PanelQuery
) -> None:
    # now() is the transaction's start: one transaction makes both forms see the same instant.
    async with database.begin() as conn:
        now = (await conn.execute(text("SELECT now()"))).scalar_one()
        bound = await run_query(conn, query, company_id=world.company_id, now=now)
        grafana = query.grafana_sql().replace("$company", str(world.company_id))
        assert not re.search(r"(?<![:\w]):\w", grafana), grafana
        as_grafana = [dict(r._mapping) for r in await conn.execute(text(grafana))]
    assert as_grafana == bound
