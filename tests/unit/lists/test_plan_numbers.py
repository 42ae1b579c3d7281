"""`plan_numbers`: the columns of a file of numbers (`dnc import`, `compliance check --file`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.lists.errors import EmptyFileError, MissingColumnError
from dialer.lists.model import Reject, RejectReason
from dialer.lists.numbers import plan_numbers, read_numbers


def plan(*rows: list[str]) -> tuple[tuple[int, ...], int, list[int]]:
    """The phone columns, the header row and the numbers of the rows left to read."""
    found, rest = plan_numbers(iter(enumerate(rows, 1)), "f.csv", "")
    return found.phones, found.header_row, [number for number, _ in rest]


def test_a_header_after_title_rows_is_found_as_an_import_finds_it() -> None:
    assert plan(["Стоп-лист на 01.12.2026"], [""], ["ФИО", "Мобильный телефон"], ["Иванов", "+79131234567"]) == (
        (1,), 3, [4])


@pytest.mark.parametrize(
    ("first", "column"),
    [
        (["+79131234567"], 0),
        (["8 (913) 123-45-67", "Иванов"], 0),
        (["Иванов", "89131234567"], 1),
        (["1", "Иванов", "+7 913 123 45 67; 8.913.765.43.21"], 2),  # a row number is no phone
        (["79131234567\u00a0"], 0),
    ],
)
def test_without_a_header_the_first_cell_written_as_a_number_is_the_phone_column(
    first: list[str], column: int
) -> None:
    assert plan([""], first, ["x", "y", "z"]) == ((column,), 0, [1, 2, 3])


@pytest.mark.parametrize(
    "first",
    [
        ["name", "sum"],
        ["Выгрузка 2026"],
        ["тел. 89131234567"],  # words around a number: a title, not a list of numbers
        ["12345"],  # too short to be a number
    ],
)
def test_a_file_with_neither_header_nor_number_names_its_first_row(first: list[str]) -> None:
    with pytest.raises(MissingColumnError, match="no phone column"):
        plan(first, ["+79131234567"])


def test_a_file_of_blank_rows_is_empty() -> None:
    with pytest.raises(EmptyFileError):
        plan([""], ["", " "])


def test_read_numbers_reports_a_repaired_title_row_as_a_note(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text('"Выгрузка от 01.12.2026\nТелефон;ФИО\n89131234567;"Иван\n', encoding="utf-8")
    found = list(read_numbers(path))
    assert [(type(item).__name__, item.row) for item in found] == [("Reject", 1), ("ContactRow", 3), ("Reject", 3)]
    notes = [item for item in found if isinstance(item, Reject)]
    assert {note.reason for note in notes} == {RejectReason.QUOTE_REPAIRED}
    assert [note.column for note in notes] == ["column1", "ФИО"]
