"""The phone values of a file read exactly as a call list import reads them, storing nothing.

For `dialer compliance check --file`: the same encodings, workbooks, title rows, header names, cells
with several numbers and time zone columns as `dialer lists import`. A file whose first row is
already a number (no header at all) is a list of numbers (`plan_numbers`, shared with `dnc import`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from compliance import Registry
from dialer.lists.chunks import find_header
from dialer.lists.columns import ColumnPlan, plan_columns
from dialer.lists.errors import MissingColumnError
from dialer.lists.model import ContactRow, Reject
from dialer.lists.phones import written_as_number
from dialer.lists.rows import RowInterpreter
from dialer.lists.sources import open_source, row_source
from dialer.lists.timezones import ZoneResolver

__all__ = ["plan_numbers", "read_numbers"]


def read_numbers(path: Path, *, sheet: str | None = None, registry: Registry | None = None,
                 subscriber_column: str = "additional") -> Iterator[ContactRow | Reject]:
    """Each phone value of the file in order: a ContactRow (E.164 and time zone) or a Reject (why not),
    notes on repaired rows included. CallListError when the file cannot be read as a list."""
    with open_source(path) as file:
        source = row_source(file, sheet)
        plan, rows = plan_numbers(iter(source), file.name, subscriber_column)
        interpreter = RowInterpreter(plan, ZoneResolver(registry))
        problems = source.problems
        for number in sorted(n for n in problems if n <= plan.header_row):
            yield interpreter.header_note(number, problems.pop(number))  # a repaired title or header row
        found: list[ContactRow] = []
        rejects: list[Reject] = []
        for number, cells in rows:
            interpreter.interpret(number, cells, source.bad_bytes_seen, found, rejects,
                                  problems.pop(number, None) if problems else None)
            yield from found
            yield from rejects
            found.clear()
            rejects.clear()


def plan_numbers(
    rows: Iterator[tuple[int, list[str]]], where: str, subscriber_column: str
) -> tuple[ColumnPlan, Iterator[tuple[int, list[str]]]]:
    """The columns of a file of numbers, and its rows from the first one to read.

    The header is found as a call list import finds it (title rows passed over). A file with no header,
    whose first filled row holds a number, is a list of numbers: the first cell of that row that is
    written as a number (`written_as_number`) is the phone column, and every row is read (header_row 0).
    Otherwise the import's MissingColumnError or EmptyFileError.
    """
    read: list[tuple[int, list[str]]] = []

    def recorded() -> Iterator[tuple[int, list[str]]]:
        for item in rows:
            read.append(item)
            yield item

    try:
        return find_header(recorded(), where, subscriber_column, subscriber_explicit=False), rows
    except MissingColumnError:
        first = next((cells for _, cells in read if any(cell.strip() for cell in cells)), [])
        column = next((i for i, cell in enumerate(first) if written_as_number(cell)), None)
        if column is None:
            raise
        headers = [""] * len(first)
        headers[column] = "phone"
        plan = plan_columns(headers, 0, subscriber_column)
        assert plan is not None
        return plan, itertools.chain(read, rows)

