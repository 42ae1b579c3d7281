"""CDR export to CSV and XLSX, streamed from PostgreSQL (server-side cursor, xlsxwriter constant memory).

Instants are written in each row's company time zone (ISO 8601 with offset in CSV; local Excel
date-times plus a `timezone` column in XLSX). A text value such as `=HYPERLINK(...)` is made inert
before a spreadsheet opens it, by the caller's formula guard (`dialer.lists.excel_safety`, injected so
that cdr does not import dialer): in CSV a leading apostrophe (`escape_formula`); in XLSX, where a
string cell is never evaluated, the value as it is with Excel's own text marker (the `quote_prefix`
style: not shown, and the value stays text when the cell is edited).
"""

from __future__ import annotations

import csv
import enum
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import xlsxwriter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cdr.errors import CdrExportError, CdrUnknownCampaignError
from cdr.summary import SUMMARY_COLUMNS, TRUNK_COLUMNS, SummaryTally

__all__ = ["COLUMNS", "ExportFilter", "ExportFormat", "export_csv", "export_xlsx"]

Escape = Callable[[str], str]
IsFormula = Callable[[str], bool]

# (header, kind): kind says how a value is written.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("created_at", "instant"),
    ("answered_at", "instant"),
    ("ended_at", "instant"),
    ("timezone", "text"),
    ("company", "text"),
    ("campaign", "text"),
    ("phone", "text"),
    ("subscriber_key", "text"),
    ("outcome", "text"),
    ("disposition", "text"),
    ("hangup_cause", "number"),
    ("amd_status", "text"),
    ("ring_seconds", "number"),
    ("billsec", "number"),
    ("trunk", "text"),
    ("worker_id", "text"),
    ("channel_id", "text"),
    ("linked_id", "text"),
    ("attempt_id", "number"),
    ("contact_id", "number"),
    ("source", "text"),
)

_SQL = """
SELECT c.created_at, c.answered_at, c.ended_at, coalesce(co.timezone, 'UTC') AS timezone, co.name AS company,
       cp.name AS campaign, c.phone, c.subscriber_key, c.outcome, c.disposition, c.hangup_cause, c.amd_status,
       c.ring_seconds, c.billsec, c.trunk, c.worker_id, c.channel_id, c.linked_id, c.attempt_id, c.contact_id,
       c.source
FROM cdr AS c
LEFT JOIN campaigns AS cp ON cp.id = c.campaign_id
LEFT JOIN companies AS co ON co.id = coalesce(c.company_id, cp.company_id)
WHERE (CAST(:campaign_id AS integer) IS NULL OR c.campaign_id = :campaign_id)
  AND (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR c.created_at < :until)
ORDER BY c.created_at, c.id
"""

# Excel's sheet limit is 1,048,576 rows; one is the header.
_SHEET_ROWS = 1_048_575


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which CDRs: a campaign by name, calls started in [since, until) (aware instants)."""

    campaign: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                raise CdrExportError(name, f"{value.isoformat()}: give a time zone offset (e.g. +03:00 or Z)")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise CdrExportError("since", f"{self.since.isoformat()} is not before until {self.until.isoformat()}")


async def _campaign_id(conn: AsyncConnection, flt: ExportFilter) -> int | None:
    if flt.campaign is None:
        return None
    campaign_id = (await conn.execute(
        text("SELECT id FROM campaigns WHERE name = :n"), {"n": flt.campaign}
    )).scalar_one_or_none()
    if campaign_id is None:
        raise CdrUnknownCampaignError("campaign", f"{flt.campaign!r}: no such campaign")
    return int(campaign_id)


async def _rows(conn: AsyncConnection, flt: ExportFilter, campaign_id: int | None) -> AsyncIterator[dict[str, Any]]:
    result = await conn.stream(
        text(_SQL), {"campaign_id": campaign_id, "since": flt.since, "until": flt.until}
    )
    async for row in result.mappings():
        yield dict(row)


_ZONES: dict[str, tzinfo] = {}


def _zone(name: str) -> tzinfo:
    zone = _ZONES.get(name)
    if zone is None:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone = UTC  # a company with a broken zone still exports; its rows say UTC
        _ZONES[name] = zone
    return zone


def _zone_name(row: dict[str, Any]) -> str:
    zone = _zone(row["timezone"])
    return str(row["timezone"]) if zone is not UTC else "UTC"


async def export_csv(conn: AsyncConnection, flt: ExportFilter, out: TextIO, *, escape: Escape) -> int:
    """Write the CDRs as CSV (header row first) to `out`; returns the number of rows."""
    campaign_id = await _campaign_id(conn, flt)
    writer = csv.writer(out)
    writer.writerow([name for name, _ in COLUMNS])
    count = 0
    async for row in _rows(conn, flt, campaign_id):
        zone = _zone(row["timezone"])
        cells: list[str] = []
        for name, kind in COLUMNS:
            value: Any = _zone_name(row) if name == "timezone" else row[name]
            if value is None:
                cells.append("")
            elif kind == "instant":
                cells.append(value.astimezone(zone).isoformat())
            elif kind == "number":
                cells.append(str(value))
            else:
                cells.append(escape(str(value)))
        writer.writerow(cells)
        count += 1
    return count


async def export_xlsx(conn: AsyncConnection, flt: ExportFilter, path: Path, *, is_formula: IsFormula) -> int:
    """Write the CDRs to an XLSX workbook at `path` in constant memory; returns the number of rows.

    More rows than a sheet holds continue on `cdr (2)`, `cdr (3)`... Two last sheets add the exported
    rows up (cdr.summary): `summary` per campaign and local day, `trunks` the pace of each trunk.
    """
    campaign_id = await _campaign_id(conn, flt)
    try:
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "strings_to_numbers": False})
    except OSError as exc:
        raise CdrExportError("output", f"{path}: cannot write ({exc.strerror or exc})") from exc
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    seconds = workbook.add_format({"num_format": "0.000"})
    text = workbook.add_format({"quote_prefix": True})
    formats = _Formats(bold=bold, text=text, by_kind={
        "day": workbook.add_format({"num_format": "yyyy-mm-dd"}), "instant": when,
        "ratio": workbook.add_format({"num_format": "0.0%"}), "seconds": workbook.add_format({"num_format": "0.0"}),
        "minutes": workbook.add_format({"num_format": "0.00"}), "rate": workbook.add_format({"num_format": "0.00"}),
    })
    summary = SummaryTally()
    count = 0
    sheet = None
    sheet_row = 0
    try:
        async for row in _rows(conn, flt, campaign_id):
            if sheet is None or sheet_row > _SHEET_ROWS:
                sheet = workbook.add_worksheet("cdr" if sheet is None else f"cdr ({count // _SHEET_ROWS + 1})")
                for col, (name, kind) in enumerate(COLUMNS):
                    sheet.write_string(0, col, name, bold)
                    sheet.set_column(col, col, 20 if kind == "instant" else 14)
                sheet.freeze_panes(1, 0)
                sheet_row = 1
            zone = _zone(row["timezone"])
            summary.add(row, zone)
            for col, (name, kind) in enumerate(COLUMNS):
                value: Any = _zone_name(row) if name == "timezone" else row[name]
                if value is None:
                    continue
                if kind == "instant":
                    # Excel has no time zones: the company's wall clock, the zone in its own column.
                    sheet.write_datetime(sheet_row, col, value.astimezone(zone).replace(tzinfo=None), when)
                elif kind == "number":
                    number = float(value) if isinstance(value, Decimal) else value
                    sheet.write_number(sheet_row, col, number, seconds if name == "ring_seconds" else None)
                else:
                    value = str(value)
                    sheet.write_string(sheet_row, col, value, text if is_formula(value) else None)
            sheet_row += 1
            count += 1
        if sheet is None:  # no rows: still a valid workbook with the header
            sheet = workbook.add_worksheet("cdr")
            for col, (name, _) in enumerate(COLUMNS):
                sheet.write_string(0, col, name, bold)
        _write_table(workbook.add_worksheet("summary"), SUMMARY_COLUMNS, summary.rows(), formats, is_formula)
        _write_table(workbook.add_worksheet("trunks"), TRUNK_COLUMNS, summary.trunk_rows(), formats, is_formula)
    finally:
        try:
            workbook.close()
        except OSError as exc:
            raise CdrExportError("output", f"{path}: cannot write ({exc.strerror or exc})") from exc
    return count


@dataclass(frozen=True, slots=True)
class _Formats:
    bold: Format
    text: Format
    by_kind: Mapping[str, Format]  # a cdr.summary column kind's number format


class _Line(Protocol):
    def value(self, column: str) -> object: ...


def _write_table(sheet: Worksheet, columns: tuple[tuple[str, str], ...], lines: Iterable[_Line],
                 formats: _Formats, is_formula: IsFormula) -> None:
    """A summary table (cdr.summary's columns and lines); a line with nothing in its first column is the total."""
    for col, (name, kind) in enumerate(columns):
        sheet.write_string(0, col, name, formats.bold)
        sheet.set_column(col, col, 20 if kind == "instant" else 12 if kind in ("day", "text") else 10)
    sheet.freeze_panes(1, 0)
    for row_number, line in enumerate(lines, start=1):
        for col, (name, kind) in enumerate(columns):
            value = line.value(name)
            if value is None and col == 0:
                sheet.write_string(row_number, col, "total", formats.bold)
            elif value is None:
                continue
            elif isinstance(value, datetime):
                sheet.write_datetime(row_number, col, value.replace(tzinfo=None), formats.by_kind[kind])
            elif isinstance(value, date):
                sheet.write_datetime(row_number, col, datetime.combine(value, time()), formats.by_kind[kind])
            elif isinstance(value, int | float):
                sheet.write_number(row_number, col, value, formats.by_kind.get(kind))
            else:
                sheet.write_string(row_number, col, str(value), formats.text if is_formula(str(value)) else None)
