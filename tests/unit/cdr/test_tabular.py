"""Streamed sheets and CSV cells shared by the exports."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from python_calamine import CalamineWorkbook

from cdr import tabular
from dialer.lists.excel_safety import escape_formula, looks_like_formula

COLUMNS = (("at", "instant"), ("n", "number"), ("ring", "seconds"), ("note", "text"))
NSK = ZoneInfo("Asia/Novosibirsk")


def test_a_sheet_continues_past_the_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "SHEET_ROWS", 3)
    path = tmp_path / "x.xlsx"
    workbook = tabular.open_workbook(path)
    sheet = tabular.StreamedSheet(workbook, "rows", COLUMNS, looks_like_formula)
    for n in range(7):
        sheet.write({"at": datetime(2026, 1, 1, n, tzinfo=UTC), "n": n, "ring": Decimal("1.5"), "note": "=1+1"}, NSK)
    sheet.finish()
    empty = tabular.StreamedSheet(workbook, "none", COLUMNS, looks_like_formula)
    empty.finish()
    tabular.close_workbook(workbook, path)
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["rows", "rows (2)", "rows (3)", "none"]
    sheets = [book.get_sheet_by_name(name).to_python() for name in book.sheet_names]
    assert [len(rows) for rows in sheets] == [4, 4, 2, 1]  # a header each
    assert all(rows[0] == ["at", "n", "ring", "note"] for rows in sheets)
    assert [row[1] for rows in sheets[:3] for row in rows[1:]] == list(range(7))
    first = sheets[0][1]
    assert first[0] == datetime(2026, 1, 1, 7, 0)  # midnight UTC on Novosibirsk's wall clock
    assert (first[2], first[3]) == (1.5, "=1+1")  # a string, never a formula


def test_csv_cells() -> None:
    row = {"at": datetime(2026, 1, 1, tzinfo=UTC), "n": 3, "ring": None, "note": "+7 913"}
    assert tabular.csv_cells(row, COLUMNS, NSK, escape_formula) == ["2026-01-01T07:00:00+07:00", "3", "", "'+7 913"]


def test_a_broken_zone_is_utc() -> None:
    assert tabular.zone("Mars/Olympus") is UTC and tabular.zone_name("Mars/Olympus") == "UTC"
    assert tabular.zone_name("Asia/Novosibirsk") == "Asia/Novosibirsk"
