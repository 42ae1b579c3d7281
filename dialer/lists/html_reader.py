"""Rows of an HTML table: the "Excel" export of web CRMs (Bitrix24's `.xls` is an HTML page with a table),
and of an Excel 2003 XML sheet (SpreadsheetML: `Row` and `Cell` for `tr` and `td`), which older systems
export as `.xls` or `.xml`.

Excel opens such a file as a sheet, so people upload it as one. The page is read as a stream twice, in
blocks: once to pick the table (the first whose first rows name a phone column, else the first with
rows), then to yield that table's rows as text, as a person sees the cells: tags dropped, entities
read, white space collapsed, a line break (`<br>`, a paragraph) kept as a line break (several numbers
in a cell), a cell spanning columns followed by empty ones so that the columns stay in place.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import BinaryIO

from dialer.lists.columns import HEADER_SEARCH_ROWS
from dialer.lists.csv_reader import has_bad_bytes
from dialer.lists.encoding import TextEncoding, detect_encoding
from dialer.lists.errors import EmptyFileError, UnreadableEncodingError
from dialer.lists.model import RowProblem

__all__ = ["HtmlTableRows", "looks_like_html"]

_BLOCK = 1 << 20
_HEAD = 4096
_MARKERS = (b"<html", b"<table", b"<!doctype html", b"urn:schemas-microsoft-com:office:spreadsheet")
_ROWS = frozenset({"tr", "row"})
_CELLS = frozenset({"td", "th", "cell"})
_CHARSET = re.compile(rb"""(?:<meta[^>]+charset|<\?xml[^>]+encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BREAKS = frozenset({"br", "p", "div", "li"})
_SKIPPED = frozenset({"script", "style", "head", "title", "comment"})
_MAX_SPAN = 1000


def looks_like_html(head: bytes) -> bool:
    """Whether a file's first bytes are an HTML page or table (after a BOM and white space)."""
    text = head[:_HEAD].lower().replace(b"\x00", b"")  # UTF-16 markup is ASCII with NULs between
    start = text.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    return start.startswith(b"<") and any(marker in text for marker in _MARKERS)


def _number(value: str | None, default: int) -> int:
    """A count from an attribute (a span, an index), within reason."""
    return min(_MAX_SPAN, int(value)) if value is not None and value.isdigit() else default


class _Tables(HTMLParser):
    """Collects finished rows as `(table number, cells)`; tables numbered from 0 in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[int, list[str]]] = []
        self._tables: list[int] = []  # open tables, innermost last
        self._count = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._span = 1
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "table":
            self._tables.append(self._count)
            self._count += 1
        elif not self._tables:
            return
        elif tag in _ROWS:
            self._end_row()
            self._row = []
        elif tag in _CELLS:
            self._end_cell()
            if self._row is None:
                self._row = []
            self._cell = []
            named = dict(attrs)
            self._span = _number(named.get("colspan"), 1) + _number(named.get("ss:mergeacross"), 0)
            # SpreadsheetML leaves empty cells out and numbers the next one (`ss:Index`, from 1).
            self._row.extend([""] * (_number(named.get("ss:index"), 0) - 1 - len(self._row)))
        elif tag in _BREAKS and self._cell is not None:
            self._cell.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in _CELLS:
            self._end_cell()
        elif tag in _ROWS:
            self._end_row()
        elif tag == "table" and self._tables:
            self._end_row()
            self._tables.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is None or self._row is None:
            return
        lines = ("".join(self._cell)).split("\n")
        self._row.append("\n".join(text for line in lines if (text := " ".join(line.split()))))
        self._row.extend([""] * (self._span - 1))
        self._cell = None
        self._span = 1

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None and self._tables:
            self.rows.append((self._tables[-1], self._row))
        self._row = None


class HtmlTableRows:
    """The rows of one table of an HTML page, numbered from 1 as the table shows them."""

    unread_sheets: tuple[str, ...] = ()  # a page has tables, not sheets

    def __init__(self, stream: BinaryIO, where: str, size: int,
                 holds_list: Callable[[Iterator[list[str]]], bool] | None = None) -> None:
        self._stream = stream
        self._where = where
        self.size = size
        self.encoding = _encoding(stream, where)
        self.bad_bytes_seen = False
        self.problems: dict[int, RowProblem] = {}
        self.table = self._pick(holds_list)
        self._position = 0

    @property
    def description(self) -> str:
        return f"HTML table {self.table + 1}, {self.encoding.label}"

    def position(self) -> int:
        """Bytes consumed so far (for progress)."""
        return self._position

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        self._stream.seek(self.encoding.bom)
        decoder = codecs.getincrementaldecoder(self.encoding.codec)("surrogateescape")
        parser = _Tables()
        while True:
            data = self._stream.read(_BLOCK)
            self._position = self._stream.tell()
            parser.feed(decoder.decode(data, final=not data))
            if not data:
                parser.close()
            yield from parser.rows
            parser.rows.clear()
            if not data:
                return

    def _pick(self, holds_list: Callable[[Iterator[list[str]]], bool] | None) -> int:
        """The first table (in document order) whose first filled rows `holds_list` accepts, else the
        first with a filled row; read only as far as needed to tell."""
        heads: dict[int, list[list[str]]] = {}
        checked = 0  # tables before this one were checked and passed over
        for table, cells in self._rows():
            head = heads.setdefault(table, [])
            if len(head) < HEADER_SEARCH_ROWS and any(cells):
                head.append(cells)
            if len(head) == HEADER_SEARCH_ROWS:
                if holds_list is None:
                    break
                found = self._first_holding(heads, checked, table + 1, holds_list)
                if found is not None:
                    return found
                checked = max(checked, table + 1)
        if holds_list is not None:
            found = self._first_holding(heads, checked, max(heads, default=-1) + 1, holds_list)
            if found is not None:
                return found
        filled = [table for table in sorted(heads) if heads[table]]
        if not filled:
            raise EmptyFileError(f"{self._where}: the HTML page has no table rows")
        return filled[0]

    @staticmethod
    def _first_holding(heads: dict[int, list[list[str]]], start: int, end: int,
                       holds_list: Callable[[Iterator[list[str]]], bool]) -> int | None:
        for table in range(start, end):
            if table in heads and holds_list(iter(heads[table])):
                return table
        return None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        number = 0
        for table, cells in self._rows():
            if table != self.table:
                continue
            number += 1
            if not self.bad_bytes_seen and has_bad_bytes(cells):
                self.bad_bytes_seen = True
            yield number, cells


def _encoding(stream: BinaryIO, where: str) -> TextEncoding:
    """The encoding the bytes show (as for a CSV file); between single-byte encodings, which the bytes
    cannot always tell apart, the page's declared charset decides."""
    stream.seek(0)
    declared = _CHARSET.search(stream.read(_HEAD))
    detected = detect_encoding(stream, where)
    if declared is None or detected.codec.startswith("utf"):
        return detected
    label = declared.group(1).decode("ascii")
    try:
        codec = codecs.lookup(label).name
    except LookupError as exc:
        raise UnreadableEncodingError(f"{where}: the page declares an unknown charset {label!r}") from exc
    if codec.startswith("utf"):  # declared UTF, but the bytes are not: they decide
        return detected
    return TextEncoding(codec, label, 0)
