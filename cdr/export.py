"""CDR export to CSV and XLSX, streamed from PostgreSQL (server-side cursor, xlsxwriter constant memory).

Instants are written in each row's company time zone, text that looks like a formula made inert
(`cdr.tabular`).
"""

from __future__ import annotations

import csv
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol, TextIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cdr.errors import CdrExportError, CdrUnknownCampaignError
from cdr.summary import SUMMARY_COLUMNS, TRUNK_COLUMNS, SummaryTally
from cdr.tabular import (
    Column,
    Escape,
    IsFormula,
    StreamedSheet,
    close_workbook,
    csv_cells,
    open_workbook,
    zone,
    zone_name,
)

__all__ = ["COLUMNS", "ExportFilter", "ExportFormat", "WriteCsv", "WriteXlsx", "export_csv", "export_to_file",
           "export_xlsx"]

# (header, kind): kind says how a value is written.
COLUMNS: tuple[Column, ...] = (
    ("created_at", "instant"),
    ("answered_at", "instant"),
    ("ended_at", "instant"),
    # Not `timezone`: a list import would read a column of that name as each subscriber's zone.
    ("report_timezone", "text"),
    ("company", "text"),
    ("campaign", "text"),
    ("phone", "text"),
    ("subscriber_key", "text"),
    ("outcome", "text"),
    ("disposition", "text"),
    ("hangup_cause", "number"),
    ("amd_status", "text"),
    ("ring_seconds", "seconds"),
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
SELECT c.created_at, c.answered_at, c.ended_at, coalesce(co.timezone, 'UTC') AS report_timezone, co.name AS company,
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


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


WriteCsv = Callable[[AsyncConnection, TextIO], Awaitable[int]]
WriteXlsx = Callable[[AsyncConnection, Path], Awaitable[int]]


async def export_to_file(conn: AsyncConnection, fmt: ExportFormat, path: Path,
                         write_csv: WriteCsv, write_xlsx: WriteXlsx) -> int:
    """Write an export (the CDRs, a campaign's results) to `path` in `fmt`; returns its rows. A CSV file
    is UTF-8 with a BOM, which Excel needs to open it as UTF-8 (Cyrillic names stay readable)."""
    if fmt is ExportFormat.XLSX:
        return await write_xlsx(conn, path)
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            return await write_csv(conn, handle)
    except OSError as exc:
        raise CdrExportError("output", f"{path}: cannot write ({exc.strerror or exc})") from exc


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
        yield dict(row) | {"report_timezone": zone_name(row["report_timezone"])}


async def export_csv(conn: AsyncConnection, flt: ExportFilter, out: TextIO, *, escape: Escape) -> int:
    """Write the CDRs as CSV (header row first) to `out`; returns the number of rows."""
    campaign_id = await _campaign_id(conn, flt)
    writer = csv.writer(out)
    writer.writerow([name for name, _ in COLUMNS])
    count = 0
    async for row in _rows(conn, flt, campaign_id):
        writer.writerow(csv_cells(row, COLUMNS, zone(row["report_timezone"]), escape))
        count += 1
    return count


async def export_xlsx(conn: AsyncConnection, flt: ExportFilter, path: Path, *, is_formula: IsFormula) -> int:
    """Write the CDRs to an XLSX workbook at `path` in constant memory; returns the number of rows.

    More rows than a sheet holds continue on `cdr (2)`, `cdr (3)`... Two last sheets add the exported
    rows up (cdr.summary): `summary` per campaign and local day, `trunks` the pace of each trunk.
    """
    campaign_id = await _campaign_id(conn, flt)
    workbook = open_workbook(path)
    bold = workbook.add_format({"bold": True})
    formats = _Formats(bold=bold, text=workbook.add_format({"quote_prefix": True}), by_kind={
        "day": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "instant": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "ratio": workbook.add_format({"num_format": "0.0%"}), "seconds": workbook.add_format({"num_format": "0.0"}),
        "minutes": workbook.add_format({"num_format": "0.00"}), "rate": workbook.add_format({"num_format": "0.00"}),
    })
    summary = SummaryTally()
    sheet = StreamedSheet(workbook, "cdr", COLUMNS, is_formula)
    count = 0
    try:
        async for row in _rows(conn, flt, campaign_id):
            at = zone(row["report_timezone"])
            summary.add(row, at)
            sheet.write(row, at)
            count += 1
        sheet.finish()
        _write_table(workbook.add_worksheet("summary"), SUMMARY_COLUMNS, summary.rows(), formats, is_formula)
        _write_table(workbook.add_worksheet("trunks"), TRUNK_COLUMNS, summary.trunk_rows(), formats, is_formula)
    finally:
        close_workbook(workbook, path)
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
