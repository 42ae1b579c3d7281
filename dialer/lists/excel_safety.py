"""Formula injection guard for values written back to spreadsheets (CSV opened in Excel, XLSX exports).

Call-list cells are stored as uploaded (less a guard `escape_formula` added); a value such as
`=HYPERLINK(...)` or `+7 913...` is only data. When such a value goes back out to a file a spreadsheet
will open, `escape_formula` makes it inert. OWASP "CSV Injection": a leading `=`, `+`, `-`, `@`, tab
or carriage return starts a formula.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: str) -> bool:
    """True when a spreadsheet could read `value` as a formula."""
    return value.startswith(FORMULA_PREFIXES)


def escape_formula(value: str) -> str:
    """`value` made inert for a spreadsheet: a leading apostrophe when it looks like a formula.

    For CSV: readers show the apostrophe, which is the safe side. An XLSX string cell is never
    evaluated: write the value itself with `write_string` (never `write`, which may parse formulas) and
    a `quote_prefix` format, Excel's own text marker, which is not shown.
    """
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_formula(value: str) -> str:
    """`escape_formula` undone: `'+79131234567` (a cell of a CSV this product or a careful export
    wrote) is `+79131234567` again. A list import reads every cell this way, so that an export read
    back keys the caps by the same ids and keeps its columns' values (a subscriber id, an amount of
    `-500`, a zone of `+03:00`)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value
