"""Streamed tables written as CSV or XLSX rows: the CDR export and the contact results share them.

A row is a mapping of column name to value; a column's kind says how its value is written:
- `instant`: an aware datetime in the row's zone (ISO 8601 with offset in CSV; in XLSX, whose cells
  have no zone, the wall clock, the zone being in a column of its own);
- `number`, and `seconds` (shown with three decimals in XLSX);
- `text`: made inert when it looks like a formula, by the caller's guard (`dialer.lists.excel_safety`,
  injected so that cdr does not import dialer): in CSV a leading apostrophe (`escape`); in XLSX,
  where a string cell is never evaluated, the value as it is with Excel's own text marker (the
  `quote_prefix` style: not shown, and the value stays text when the cell is edited).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.workbook import Workbook

from cdr.errors import CdrExportError

Escape = Callable[[str], str]
IsFormula = Callable[[str], bool]
Column = tuple[str, str]  # (header, kind)

# Excel's sheet limit is 1,048,576 rows; one is the header.
SHEET_ROWS = 1_048_575

_ZONES: dict[str, tzinfo] = {}


def zone(name: str) -> tzinfo:
    """The zone named, or UTC for a name that is none (a company with a broken zone still exports)."""
    found = _ZONES.get(name)
    if found is None:
        try:
            found = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            found = UTC
        _ZONES[name] = found
    return found


def zone_name(name: str) -> str:
    """The name of the zone `zone(name)` writes in: `name`, or `UTC` for a broken one."""
    return name if zone(name) is not UTC else "UTC"


def csv_cells(row: Mapping[str, Any], columns: Sequence[Column], at: tzinfo, escape: Escape) -> list[str]:
    """A row's CSV cells: instants in `at`, text escaped."""
    cells: list[str] = []
    for name, kind in columns:
        value = row.get(name)
        if value is None:
            cells.append("")
        elif kind == "instant":
            cells.append(value.astimezone(at).isoformat())
        elif kind in ("number", "seconds"):
            cells.append(str(value))
        else:
            cells.append(escape(str(value)))
    return cells


def open_workbook(path: Path) -> Workbook:
    """A constant-memory workbook that never turns text into formulas, URLs or numbers."""
    try:
        return xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                              "strings_to_urls": False, "strings_to_numbers": False})
    except OSError as exc:
        raise CdrExportError("output", f"{path}: cannot write ({exc.strerror or exc})") from exc


def close_workbook(workbook: Workbook, path: Path) -> None:
    """Write the workbook out; a path that cannot be written is the `output` option's error."""
    try:
        workbook.close()
    except FileCreateError as exc:  # xlsxwriter's wrapper of the OSError of creating the file
        cause = exc.__cause__ or exc.__context__ or exc
        raise CdrExportError("output", f"{path}: cannot write ({getattr(cause, 'strerror', None) or cause})") from exc
    except OSError as exc:
        raise CdrExportError("output", f"{path}: cannot write ({exc.strerror or exc})") from exc


class StreamedSheet:
    """Rows written in order to sheet `name`, continued on `name (2)`, `name (3)`... past Excel's
    limit; `finish` leaves a header-only sheet when no row came."""

    def __init__(self, workbook: Workbook, name: str, columns: Sequence[Column], is_formula: IsFormula) -> None:
        self._workbook = workbook
        self._name = name
        self._columns = tuple(columns)
        self._is_formula = is_formula
        self._bold = workbook.add_format({"bold": True})
        self._when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._seconds = workbook.add_format({"num_format": "0.000"})
        self._text = workbook.add_format({"quote_prefix": True})
        self._sheets = 0
        self._sheet: Any = None
        self._row = 0

    def _next_sheet(self) -> None:
        self._sheets += 1
        name = self._name if self._sheets == 1 else f"{self._name} ({self._sheets})"
        self._sheet = self._workbook.add_worksheet(name)
        for col, (name, kind) in enumerate(self._columns):
            self._sheet.write_string(0, col, name, self._bold)
            self._sheet.set_column(col, col, 20 if kind == "instant" else 14)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write(self, row: Mapping[str, Any], at: tzinfo) -> None:
        """One row, its instants as wall-clock times in `at`."""
        if self._sheet is None or self._row > SHEET_ROWS:
            self._next_sheet()
        sheet = self._sheet
        for col, (name, kind) in enumerate(self._columns):
            value = row.get(name)
            if value is None:
                continue
            if kind == "instant":
                sheet.write_datetime(self._row, col, value.astimezone(at).replace(tzinfo=None), self._when)
            elif kind in ("number", "seconds"):
                number = float(value) if isinstance(value, Decimal) else value
                sheet.write_number(self._row, col, number, self._seconds if kind == "seconds" else None)
            else:
                value = str(value)
                sheet.write_string(self._row, col, value, self._text if self._is_formula(value) else None)
        self._row += 1

    def finish(self) -> None:
        if self._sheet is None:
            self._next_sheet()
