"""The phone values of a file read exactly as a call list import reads them, storing nothing.

For `dialer compliance check --file`: the same encodings, workbooks, title rows, header names, cells
with several numbers and time zone columns as `dialer lists import`. A file whose first row is
already a number (no header at all) is read as one column of numbers.
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
from dialer.lists.rows import RowInterpreter
from dialer.lists.sources import open_source, row_source
from dialer.lists.timezones import ZoneResolver

__all__ = ["read_numbers"]


def read_numbers(path: Path, *, sheet: str | None = None, registry: Registry | None = None,
                 subscriber_column: str = "additional") -> Iterator[ContactRow | Reject]:
    """Each phone value of the file in order: a ContactRow (E.164 and time zone) or a Reject (why not),
    notes on repaired rows included. CallListError when the file cannot be read as a list."""
    with open_source(path) as file:
        source = row_source(file, sheet)
        rows = iter(source)
        read: list[tuple[int, list[str]]] = []

        def recorded() -> Iterator[tuple[int, list[str]]]:
            for item in rows:
                read.append(item)
                yield item

        try:
            plan = find_header(recorded(), file.name, subscriber_column, subscriber_explicit=False)
        except MissingColumnError:
            first = next((cells for _, cells in read if any(cell.strip() for cell in cells)), None)
            if first is None or not any(ch.isdigit() for ch in "".join(first)):
                raise
            plan = _headerless(first, subscriber_column)
            rows = itertools.chain(read, rows)
        else:
            for number in list(source.problems):
                if number <= plan.header_row:
                    del source.problems[number]  # a repaired title or header row: nothing to check
        interpreter = RowInterpreter(plan, ZoneResolver(registry))
        problems = source.problems
        found: list[ContactRow] = []
        rejects: list[Reject] = []
        for number, cells in rows:
            interpreter.interpret(number, cells, source.bad_bytes_seen, found, rejects,
                                  problems.pop(number, None) if problems else None)
            yield from found
            yield from rejects
            found.clear()
            rejects.clear()


def _headerless(first: list[str], subscriber_column: str) -> ColumnPlan:
    """The first column holds the numbers; the others are extra values."""
    plan = plan_columns(["phone", *[""] * (len(first) - 1)], 0, subscriber_column)
    assert plan is not None
    return plan
