"""The SQL behind every SQL panel of the Grafana dashboard, one function per panel, reused by reports and API.

Each function returns a `PanelQuery` whose `sql` takes two bind parameters, `:company_id` and `:now`.
The dashboard's `rawSql` is generated from the same text (`PanelQuery.grafana_sql`: `:company_id` ->
the `$company` dashboard variable, `:now` -> `now()`), so the panel and `run_query` cannot drift.
"Today" and "this year" are the company's calendar (`companies.timezone`, via AT TIME ZONE).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from cdr.errors import CdrQueryError

__all__ = [
    "DURATION_RANGES",
    "GRAFANA_PARAMETERS",
    "PanelQuery",
    "Period",
    "Visual",
    "aht_from_cdr",
    "calls_by_duration",
    "calls_by_status",
    "contacts_by_state",
    "cps_from_cdr",
    "dashboard_queries",
    "run_query",
]

# How the dashboard spells each bind parameter.
GRAFANA_PARAMETERS: Mapping[str, str] = {"company_id": "$company", "now": "now()"}
_BIND = re.compile(r"(?<![:\w]):(\w+)\b")

# Buckets of the "calls by duration" panels: (label, from seconds inclusive, to seconds exclusive).
DURATION_RANGES: tuple[tuple[str, int, int | None], ...] = (
    ("0-10 s", 0, 10),
    ("10-30 s", 10, 30),
    ("30-60 s", 30, 60),
    ("1-2 min", 60, 120),
    ("2-5 min", 120, 300),
    ("5-10 min", 300, 600),
    ("10-30 min", 600, 1800),
    ("30+ min", 1800, None),
)

# The company's zone, once per query.
_COMPANY = "co AS (SELECT timezone AS tz FROM companies WHERE id = :company_id)"


class Period(enum.Enum):
    """A window ending at `:now`: a calendar span in the company's zone, or the last N minutes."""

    TODAY = ("today", "today")
    YEAR = ("year", "this year")
    LAST_1_MIN = ("1m", "last minute")
    LAST_5_MIN = ("5m", "last 5 minutes")
    LAST_15_MIN = ("15m", "last 15 minutes")
    LAST_30_MIN = ("30m", "last 30 minutes")
    LAST_60_MIN = ("60m", "last 60 minutes")

    def __init__(self, key: str, label: str) -> None:
        self.key = key
        self.label = label

    @property
    def minutes(self) -> int | None:
        return int(self.key[:-1]) if self.key.endswith("m") else None

    @property
    def start_sql(self) -> str:
        """SQL for the window's first instant (uses `co.tz` for calendar spans)."""
        if self is Period.TODAY:
            return "(date_trunc('day', :now AT TIME ZONE co.tz) AT TIME ZONE co.tz)"
        if self is Period.YEAR:
            return "(date_trunc('year', :now AT TIME ZONE co.tz) AT TIME ZONE co.tz)"
        return f"(:now - interval '{self.minutes} minutes')"


class Visual(enum.StrEnum):
    """How the dashboard draws a query."""

    BARS = "barchart"
    PIE = "piechart"
    TABLE = "table"
    STAT = "stat"


@dataclass(frozen=True, slots=True)
class PanelQuery:
    key: str
    title: str
    sql: str
    visual: Visual
    unit: str = "short"
    source: str = ""  # the call that builds it, e.g. cdr.queries.calls_by_status(Period.TODAY)

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset(_BIND.findall(self.sql))

    def grafana_sql(self) -> str:
        """The panel's rawSql: the same text with Grafana's spelling of each parameter."""
        return _BIND.sub(lambda m: GRAFANA_PARAMETERS[m.group(1)], self.sql)


def _clean(sql: str) -> str:
    return "\n".join(line.rstrip() for line in sql.strip().splitlines())


def calls_by_status(period: Period) -> PanelQuery:
    """Calls started in the period by outcome (status)."""
    sql = f"""
WITH {_COMPANY}
SELECT c.outcome AS status, count(*) AS calls
FROM cdr AS c, co
WHERE c.company_id = :company_id
  AND c.created_at >= {period.start_sql}
  AND c.created_at <= :now
GROUP BY c.outcome
ORDER BY calls DESC, status
"""
    visual = Visual.BARS if period in (Period.TODAY, Period.YEAR) else Visual.PIE
    return PanelQuery(f"calls_by_status_{period.key}", f"Calls by status, {period.label}", _clean(sql), visual,
                      source=f"cdr.queries.calls_by_status(Period.{period.name})")


def calls_by_duration(period: Period) -> PanelQuery:
    """Answered calls (outcome answered) started in the period by billed duration, every bucket present."""
    buckets = ",\n    ".join(
        f"({i}, '{label}', {lo}, {'NULL::int' if hi is None else hi})"
        for i, (label, lo, hi) in enumerate(DURATION_RANGES, start=1)
    )
    sql = f"""
WITH {_COMPANY},
buckets (ord, label, lo, hi) AS (VALUES
    {buckets}),
answered AS (
    SELECT c.billsec FROM cdr AS c, co
    WHERE c.company_id = :company_id
      AND c.outcome = 'answered'
      AND c.created_at >= {period.start_sql}
      AND c.created_at <= :now)
SELECT b.label AS duration, count(a.billsec) AS calls
FROM buckets AS b
LEFT JOIN answered AS a ON a.billsec >= b.lo AND (b.hi IS NULL OR a.billsec < b.hi)
GROUP BY b.ord, b.label
ORDER BY b.ord
"""
    visual = Visual.BARS if period in (Period.TODAY, Period.YEAR) else Visual.PIE
    return PanelQuery(f"calls_by_duration_{period.key}", f"Calls by duration, {period.label}", _clean(sql), visual,
                      source=f"cdr.queries.calls_by_duration(Period.{period.name})")


def contacts_by_state() -> PanelQuery:
    """Volume of contacts of the company's campaigns by state (ready, dialing, done, failed, excluded)."""
    sql = """
SELECT ct.state, count(*) AS contacts
FROM contacts AS ct
JOIN campaigns AS cp ON cp.id = ct.campaign_id
WHERE cp.company_id = :company_id
GROUP BY ct.state
ORDER BY contacts DESC, ct.state
"""
    return PanelQuery("contacts_by_state", "Volume of contacts by state", _clean(sql), Visual.BARS,
                      source="cdr.queries.contacts_by_state()")


def cps_from_cdr(period: Period) -> PanelQuery:
    """Originations per second over the period, per trunk and for all trunks ('all')."""
    sql = f"""
WITH {_COMPANY},
w AS (SELECT {period.start_sql} AS since FROM co),
calls AS (
    SELECT coalesce(c.trunk, '') AS trunk FROM cdr AS c, w
    WHERE c.company_id = :company_id
      AND c.created_at > w.since
      AND c.created_at <= :now),
span AS (SELECT greatest(extract(epoch FROM :now - w.since)::float8, 1) AS seconds FROM w),
rates AS (
    SELECT 0 AS ord, 'all' AS trunk, count(*) / (SELECT seconds FROM span) AS cps FROM calls
    UNION ALL
    SELECT 1, trunk, count(*) / (SELECT seconds FROM span) FROM calls GROUP BY trunk)
SELECT trunk, cps FROM rates
ORDER BY ord, trunk
"""
    return PanelQuery(f"cps_from_cdr_{period.key}", f"CPS from CDR, {period.label}", _clean(sql), Visual.TABLE,
                      unit="reqps", source=f"cdr.queries.cps_from_cdr(Period.{period.name})")


def aht_from_cdr(period: Period) -> PanelQuery:
    """Average handling time: mean billsec of answered calls (outcome answered) that ended in the period."""
    sql = f"""
WITH {_COMPANY},
w AS (SELECT {period.start_sql} AS since FROM co)
SELECT avg(c.billsec)::float8 AS aht_seconds, count(*) AS answered_calls
FROM cdr AS c, w
WHERE c.company_id = :company_id
  AND c.outcome = 'answered'
  AND c.ended_at > w.since
  AND c.ended_at <= :now
  -- no call lasts a day: lets ix_cdr_company_created bound the scan
  AND c.created_at > w.since - interval '1 day'
  AND c.created_at <= :now
"""
    return PanelQuery(f"aht_from_cdr_{period.key}", f"Average handling time from CDR, {period.label}",
                      _clean(sql), Visual.STAT, unit="s", source=f"cdr.queries.aht_from_cdr(Period.{period.name})")


def dashboard_queries() -> tuple[PanelQuery, ...]:
    """Every SQL panel of config/grafana/dashboards/dialer.json, in dashboard order."""
    return (
        calls_by_status(Period.TODAY),
        calls_by_status(Period.YEAR),
        calls_by_status(Period.LAST_15_MIN),
        calls_by_status(Period.LAST_30_MIN),
        calls_by_duration(Period.TODAY),
        calls_by_duration(Period.YEAR),
        calls_by_duration(Period.LAST_15_MIN),
        calls_by_duration(Period.LAST_60_MIN),
        contacts_by_state(),
        cps_from_cdr(Period.TODAY),
        aht_from_cdr(Period.TODAY),
        aht_from_cdr(Period.YEAR),
    )


async def run_query(
    conn: AsyncConnection, query: PanelQuery, *, company_id: int, now: datetime
) -> list[dict[str, Any]]:
    """Rows of a panel query for one company at instant `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise CdrQueryError(f"{query.key}: now must be timezone-aware, got {now.isoformat()}")
    values = {"company_id": company_id, "now": now}
    result = await conn.execute(text(query.sql), {k: values[k] for k in query.parameters})
    return [dict(row._mapping) for row in result]
