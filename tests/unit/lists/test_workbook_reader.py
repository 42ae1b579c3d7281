"""Workbook rows via python-calamine: typed cells as text, sheets by name, corrupt files."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import xlsxwriter

from dialer.lists.errors import CorruptWorkbookError, SheetNotFoundError
from dialer.lists.workbook_reader import WorkbookRows, cell_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (79131234567.0, "79131234567"),
        (12.5, "12.5"),
        (7, "7"),
        (True, "TRUE"),
        ("=1+2", "=1+2"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        ("", ""),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text  # type: ignore[arg-type]


def _workbook(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("Должники")
    first.write_row(0, 0, ["Телефон", "ФИО"])
    first.write_number(1, 0, 89131234567)
    first.write_string(1, 1, "Иванов")
    second = book.add_worksheet("Second")
    second.write_row(2, 1, ["phone", "name"])  # data starting at B3
    second.write_row(3, 1, ["+79141234567", "Петров"])
    book.close()


def test_first_sheet_by_default_and_named_sheet(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    _workbook(path)
    with path.open("rb") as stream:
        first = list(WorkbookRows(stream, "list.xlsx", None))
        assert first == [(1, ["Телефон", "ФИО"]), (2, ["89131234567", "Иванов"])]
        named = WorkbookRows(stream, "list.xlsx", "Second")
        # Row numbers are the sheet's own, also when the data starts lower than A1.
        assert [(n, cells) for n, cells in named if any(cells)] == [
            (3, ["phone", "name"]),
            (4, ["+79141234567", "Петров"]),
        ]
        with pytest.raises(SheetNotFoundError, match=r"no sheet named 'Nope'; sheets: 'Должники', 'Second'"):
            WorkbookRows(stream, "list.xlsx", "Nope")


def test_without_a_name_the_first_sheet_that_holds_the_list(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Инструкция").write_column(0, 0, ["Выгрузка из CRM", "", "Звонить с 9 до 20"])
    book.add_worksheet("Пусто")
    book.add_worksheet("Абоненты").write_row(1, 0, ["Телефон", "ФИО"])
    book.add_worksheet("Ещё").write_row(0, 0, ["Телефон"])
    book.close()

    def holds_list(rows: Iterator[list[str]]) -> bool:
        return any("Телефон" in row for row in rows)

    with path.open("rb") as stream:
        chosen = WorkbookRows(stream, "export.xlsx", None, holds_list=holds_list)
        assert (chosen.sheet_name, list(chosen)[-1]) == ("Абоненты", (2, ["Телефон", "ФИО"]))
        # A list split over sheets: the others are said, not read.
        assert chosen.unread_sheets == ("Ещё",)
        # Named, or no sheet holding it: as before, nothing said.
        named = WorkbookRows(stream, "export.xlsx", "Инструкция", holds_list=holds_list)
        assert (named.sheet_name, named.unread_sheets) == ("Инструкция", ())
        assert WorkbookRows(stream, "export.xlsx", None, holds_list=lambda rows: False).sheet_name == "Инструкция"
        first = WorkbookRows(stream, "export.xlsx", None, holds_list=lambda rows: True)
        assert (first.sheet_name, first.unread_sheets) == ("Инструкция", ("Пусто", "Абоненты", "Ещё"))


def test_truncated_xlsx_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    _workbook(path)
    data = path.read_bytes()
    with pytest.raises(CorruptWorkbookError, match=r"^list\.xlsx: not a readable XLSX/XLS workbook"):
        WorkbookRows(io.BytesIO(data[: len(data) // 2]), "list.xlsx", None)
