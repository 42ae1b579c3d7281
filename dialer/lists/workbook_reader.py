"""Rows of an XLSX/XLS/ODS sheet as lists of strings, via python-calamine's row iterator.

Cells come back typed; they are turned into the text a person sees: a phone number stored as a
number (79131234567.0) becomes `79131234567`, dates become ISO 8601.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, WorksheetNotFound

from dialer.lists.errors import CorruptWorkbookError, SheetNotFoundError
from dialer.lists.model import RowProblem

Cell = int | float | str | bool | dt.time | dt.date | dt.datetime | dt.timedelta


def cell_text(value: Cell) -> str:
    """The text of a cell as a person reads it, never a float artefact like `79131234567.0`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


class WorkbookRows:
    """The rows of one sheet, numbered as the spreadsheet shows them: the sheet named, else the first
    sheet whose rows `holds_list` accepts (an instructions sheet before the list is passed over),
    else the first sheet."""

    def __init__(self, stream: BinaryIO, where: str, sheet: str | None,
                 holds_list: Callable[[Iterator[list[str]]], bool] | None = None) -> None:
        stream.seek(0)
        try:
            workbook = CalamineWorkbook.from_filelike(stream)
        except PasswordError as exc:
            raise CorruptWorkbookError(f"{where}: the workbook is password-protected") from exc
        except CalamineError as exc:
            raise CorruptWorkbookError(f"{where}: not a readable XLSX/XLS workbook ({exc})") from exc
        except Exception as exc:  # calamine surfaces zip/xml failures as various exception types
            raise CorruptWorkbookError(f"{where}: not a readable XLSX/XLS workbook ({exc})") from exc
        names = workbook.sheet_names
        if not names:
            raise CorruptWorkbookError(f"{where}: the workbook has no sheets")
        # Other sheets holding a list too (a list split over sheets): not read, but said.
        self.unread_sheets: tuple[str, ...] = ()
        try:
            self._sheet = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
            if sheet is None and holds_list is not None and len(names) > 1:
                lists: list[str] = []
                for name in names:
                    candidate = self._sheet if name == names[0] else workbook.get_sheet_by_name(name)
                    if holds_list(_head(candidate)):
                        if not lists:
                            self._sheet, sheet = candidate, name
                        lists.append(name)
                self.unread_sheets = tuple(lists[1:])
        except WorksheetNotFound as exc:
            raise SheetNotFoundError(
                f"{where}: no sheet named {sheet!r}; sheets: {', '.join(repr(n) for n in names)}"
            ) from exc
        except Exception as exc:
            raise CorruptWorkbookError(f"{where}: sheet {sheet or names[0]!r} cannot be read ({exc})") from exc
        self.sheet_name = sheet or names[0]
        end = self._sheet.end
        # iter_rows starts at the sheet's first row (A1) even when the data starts lower.
        self.size = end[0] + 1 if end else 0
        self.bad_bytes_seen = False
        self.problems: dict[int, RowProblem] = {}  # cells come whole from the workbook: none
        self._done = 0

    @property
    def description(self) -> str:
        return f"workbook, sheet {self.sheet_name!r}"

    def position(self) -> int:
        """Rows consumed so far (for progress)."""
        return self._done

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        number = 1
        for row in self._sheet.iter_rows():
            self._done += 1
            yield number, [cell_text(value) for value in row]
            number += 1


def _head(sheet: Any) -> Iterator[list[str]]:
    """The rows of a calamine sheet as text."""
    return ([cell_text(value) for value in row] for row in sheet.iter_rows())
