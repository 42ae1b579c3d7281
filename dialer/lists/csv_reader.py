"""Rows of a CSV/TSV file as lists of strings, streamed: encoding and delimiter detected, any line length.

Bytes the detected encoding cannot decode do not fail the file: they are kept as lone surrogates
(U+DC80..U+DCFF, `surrogateescape`) and the importer rejects the rows holding them.

A quoted cell may span lines (a multi-line comment). A quote that is never closed would swallow every
later line into one cell, so a quoted cell that runs past its line end is watched, and taken for an
unclosed quote when
- the file ends inside it; or
- the lines it runs over look like rows of the table (as many cells as the table's rows, numbers
  where its rows have numbers, see `_RowShape`): two of them and nothing else, three in a row, or
  one closed by a quote that opens a cell (`8913;"Petr"`: a proper closing quote is followed by a
  delimiter or the line end).
Then the cell is read up to the end of its own line (for a cell in the middle of the row that leaves
the row short: the quote is read as a stray character instead, if the line then has the table's
number of cells), the row goes on with a `quote-repaired` note in the reject report, and the lines
after it are read again as rows. A quoted cell running over MAX_QUOTED_LINES lines or
MAX_QUOTED_CHARS characters is followed no further (memory stays bounded): its row is rejected
(`quoted-cell-too-long`) and the lines after its first are read again as rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter, deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from dialer.lists.encoding import TextEncoding, detect_encoding
from dialer.lists.errors import CallListError
from dialer.lists.model import RejectReason, RowProblem

# A 10 MB cell (a long comment, a cell of thousands of numbers) is data, not an attack; the csv
# module's default limit is 128 KiB.
FIELD_SIZE_LIMIT = 256 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))

DELIMITERS = (";", ",", "\t")
_BLOCK = 1 << 16
_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 50
_BAD_BYTES = re.compile("[\udc80-\udcff]")

# How far a quoted cell is followed across lines (a long multi-line comment is data; a whole file
# swallowed by an unclosed quote is not).
MAX_QUOTED_LINES = 10_000
MAX_QUOTED_CHARS = 16 * 1024 * 1024
# Lines looking like rows inside a quoted cell that make it an unclosed quote (see the module docstring).
_ROWS_ONLY = 2
_ROWS_IN_A_ROW = 3
_SHAPE_LINES = 500
_NUMBER_PUNCTUATION = str.maketrans("", "", " \t\u00a0+()-./;,")
_LINE_BREAKS = re.compile("[\r\n]")


def has_bad_bytes(cells: list[str]) -> bool:
    """True when a row holds bytes the file's encoding could not decode."""
    return any(_BAD_BYTES.search(cell) for cell in cells)


def _holds_bad_bytes(text: str) -> bool:
    """True when decoded text holds bytes its encoding could not decode (see `has_bad_bytes`)."""
    try:
        # Encoding refuses any lone surrogate, and reads a block six times faster than the search.
        text.encode("utf-16-le")
    except UnicodeEncodeError:
        return _BAD_BYTES.search(text) is not None
    return False


def sniff_delimiter(sample: str) -> str:
    """The delimiter among `;`, `,` and tab that splits the sample into the most consistent table.

    For each candidate, records are parsed (quotes respected) and the most common field count is the
    table's width. A width above one wins, then the share of records having it, then the width: so a
    title line above the header does not matter, and a one-column file whose cells hold `a,b` number
    lists gets a delimiter that leaves those cells whole.
    """
    # The sample may end inside a record: drop its last line when there is more than one.
    cut = max(sample.rfind("\n"), sample.rfind("\r"))
    if cut > 0:
        sample = sample[:cut]
    best: tuple[bool, float, int, int] | None = None
    chosen = ","
    for priority, delimiter in enumerate(reversed(DELIMITERS)):
        widths: list[int] = []
        for record in csv.reader(io.StringIO(sample, newline=None), delimiter=delimiter, strict=False):
            if any(record):
                widths.append(len(record))
                if len(widths) >= _SNIFF_RECORDS:
                    break
        if not widths:
            continue
        width = max(set(widths), key=lambda w: (widths.count(w), w))
        consistency = round(widths.count(width) / len(widths), 1)
        score = (width > 1, consistency, width, priority)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def _is_number(cell: str) -> bool:
    digits = cell.translate(_NUMBER_PUNCTUATION)
    return digits.isascii() and digits.isdigit()


def _cells_alone(line: str, delimiter: str) -> list[str] | None:
    """The cells of one line read by itself, or None when its own quoting is broken or runs past it."""
    try:
        return next(csv.reader((line,), delimiter=delimiter, strict=True), [])
    except csv.Error:
        return None


def _closes_opening_a_cell(line: str, delimiter: str) -> bool:
    """Whether the quote that closes a quoted cell on this line is followed by text, not by a delimiter
    or the line end: then it is no closing quote but the opening one of a cell of a swallowed row."""
    start = 0
    while (at := line.find('"', start)) >= 0:
        after = line[at + 1 : at + 2]
        if after != '"':
            return after not in (delimiter, "\r", "\n", "")
        start = at + 2  # a doubled quote inside the cell
    return False


@dataclass(frozen=True, slots=True)
class _RowShape:
    """What a row of the table looks like, learnt from the first lines, each read alone: its number of
    cells (the most common), and the columns that hold numbers (the phone column, for one)."""

    delimiter: str
    width: int
    numbers: tuple[int, ...]

    @classmethod
    def learn(cls, lines: list[str], delimiter: str) -> _RowShape:
        rows: list[list[str]] = []
        for line in lines[:_SHAPE_LINES]:
            cells = _cells_alone(line, delimiter)
            if cells and any(cell.strip() for cell in cells):
                rows.append(cells)
        widths = Counter(len(cells) for cells in rows)
        if not widths:
            return cls(delimiter, 0, ())
        width = max(widths, key=lambda w: (widths[w], w))
        numbers: list[int] = []
        for column in range(width):
            filled = [cells[column].strip() for cells in rows if len(cells) == width and cells[column].strip()]
            found = sum(1 for cell in filled if _is_number(cell))
            if found >= 2 and found >= 0.75 * len(filled):
                numbers.append(column)
        return cls(delimiter, width, tuple(numbers))

    @property
    def usable(self) -> bool:
        """A one-column table's rows look like the lines of any multi-line cell of it: no judging."""
        return self.width > 1

    def is_row(self, line: str, closing: bool = False) -> bool | None:
        """Whether the line, read alone, looks like a row of the table; None for a blank line.

        `closing`: a line that may itself open a quoted cell it does not close (one more unclosed
        quote) is judged with that cell closed at its end.
        """
        if not line.strip():
            return None
        cells = _cells_alone(line, self.delimiter)
        if cells is None and closing:
            cells = _cells_alone(_closed_at_line_end(line), self.delimiter)
        if cells is None or len(cells) != self.width:
            return False
        if not self.numbers:
            return True
        found = False
        for column in self.numbers:
            cell = cells[column].strip()
            if cell:
                if not _is_number(cell):
                    return False
                found = True
        return found


@dataclass(frozen=True, slots=True)
class _Block:
    """Whole lines of the file, each ending with "\\n"; `quoted`: some hold a quote."""

    lines: list[str]
    quoted: bool


class _Unclosed(Exception):
    """Raised by the feed through csv.reader: the quoted cell being read is taken for an unclosed quote."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


_NEVER_CLOSED = "never-closed"
_SWALLOWS_ROWS = "swallows-rows"
_TOO_LONG = "too-long"


class _Feed:
    """The lines csv.reader reads; keeps those of the record being read, and watches a quoted cell
    that runs over lines. Lines to read again (after a repair) come first."""

    def __init__(self, lines: list[str], start: int, blocks: Iterator[_Block], shape: _RowShape) -> None:
        self._lines = lines
        self._next = start
        self._blocks = blocks
        self._shape = shape
        self.replay: deque[str] = deque()
        self.record: list[str] = []  # the consumer clears it after each record
        self.rows = 0  # lines inside the quoted cell that look like rows
        self.others = 0  # and lines that do not
        self._streak = 0
        self._chars = 0

    def __iter__(self) -> _Feed:
        return self

    def _source(self) -> str | None:
        """The next line of the block, or of the next blocks while a record runs on past its end;
        None at the end of the file, or of the block between records."""
        while self._next >= len(self._lines):
            block = next(self._blocks, None) if self.record else None
            if block is None:
                return None
            self._lines, self._next = block.lines, 0
        line = self._lines[self._next]
        self._next += 1
        return line

    def __next__(self) -> str:
        line = self.replay.popleft() if self.replay else self._source()
        record = self.record
        if line is None:
            if record:
                raise _Unclosed(_NEVER_CLOSED)
            raise StopIteration
        record.append(line)
        if len(record) > 1:
            self._continued(line)
        return line

    def _continued(self, line: str) -> None:
        """One more line of a record: its quoted cell ran past the line end before."""
        record = self.record
        if len(record) == 2:
            self.rows = self.others = self._streak = 0
            self._chars = len(record[0])
        self._chars += len(line)
        if len(record) > MAX_QUOTED_LINES or self._chars > MAX_QUOTED_CHARS:
            raise _Unclosed(_TOO_LONG)
        if '"' in line or not self._shape.usable:
            return  # it may close the cell: judged with the whole record
        looks = self._shape.is_row(line)
        if looks is None:
            return
        if looks:
            self.rows += 1
            self._streak += 1
            if self._streak >= _ROWS_IN_A_ROW or (self.rows >= _ROWS_ONLY and not self.others):
                raise _Unclosed(_SWALLOWS_ROWS)
        else:
            self.others += 1
            self._streak = 0

    def swallowed_rows(self) -> bool:
        """For a record read to its end over several lines: whether its closing line shows an unclosed quote."""
        closing = self.record[-1]
        if not self._shape.usable or not self._shape.is_row(closing, closing=True):
            return False
        if _closes_opening_a_cell(closing, self._shape.delimiter):
            return True
        return self.rows + 1 >= _ROWS_ONLY and not self.others


def _closed_at_line_end(line: str) -> str:
    """The line with its open quoted cell closed at the line end."""
    body = line[:-1] if line.endswith("\n") else line
    if body.endswith("\r"):
        body = body[:-1]
    return body + '"\n'


def _without_line_breaks(line: str) -> str:
    """A line whose stray CR/LF (in an unquoted cell, which the csv module refuses) become spaces."""
    end = len(line) - len(line.rstrip("\r\n"))
    return _LINE_BREAKS.sub(" ", line[: len(line) - end]) + line[len(line) - end :]


_WHY = {
    _NEVER_CLOSED: "unclosed quote: the quote opening this cell is never closed; ",
    _SWALLOWS_ROWS: "unclosed quote: the quoted cell runs on over lines that look like rows; ",
}
_TOO_LONG_MESSAGE = (
    f"a quoted cell runs on over {MAX_QUOTED_LINES:,} lines or {MAX_QUOTED_CHARS >> 20} MiB (an unclosed "
    "quote?): the row is left out, the lines after its first line are read as rows"
)
_CLOSED = "the cell is read to the end of its line, the lines after it as rows"
_DROPPED = (
    "the quote is read as a stray character (then the line has as many cells as the other rows), "
    "the lines after it as rows"
)


def _stray_quote_dropped(line: str, cells: list[str], delimiter: str) -> list[str] | None:
    """The cells of a line whose last cell opens a quote it does not close (`cells`: that cell closed at
    the line end), that quote read as a stray character instead; None if it cannot be."""
    body = _closed_at_line_end(line)[:-2]
    # Inside a cell still open at the line end every quote is a doubled one.
    at = len(body) - len(cells[-1].replace('"', '""')) - 1
    if at < 0 or body[at] != '"' or (at > 0 and body[at - 1] != delimiter):
        return None
    return _cells_alone(body[:at] + body[at + 1 :], delimiter)


class CsvRows:
    """The rows of a CSV file (seekable binary stream), numbered from 1 as a spreadsheet shows them."""

    unread_sheets: tuple[str, ...] = ()  # a text file has no sheets

    def __init__(self, stream: BinaryIO, where: str, size: int) -> None:
        self._stream = stream
        self.size = size
        self.encoding: TextEncoding = detect_encoding(stream, where)
        stream.seek(self.encoding.bom)
        head = stream.read(_SNIFF_BYTES)
        sample = codecs.getincrementaldecoder(self.encoding.codec)("replace").decode(head, final=False)
        # Classic Mac OS line ends (CR only) are still written by some exporters.
        self._newline = "\r" if "\n" not in sample and "\r" in sample else "\n"
        self.delimiter = sniff_delimiter(sample)
        # The last line of the sample may be cut short.
        self._shape = _RowShape.learn(sample.split(self._newline)[:-1], self.delimiter)
        self._where = where
        self.bad_bytes_seen = False
        # Rows read with a repair or to be rejected whole, by row number; the importer takes them out.
        self.problems: dict[int, RowProblem] = {}
        stream.seek(self.encoding.bom)

    @property
    def description(self) -> str:
        name = {";": "';'", ",": "','", "\t": "tab"}[self.delimiter]
        return f"CSV, {self.encoding.label}, {name}-separated"

    def position(self) -> int:
        """Bytes consumed so far (for progress)."""
        return self._stream.tell()

    def _blocks(self) -> Iterator[_Block]:
        decoder = codecs.getincrementaldecoder(self.encoding.codec)("surrogateescape")
        newline = self._newline
        pending: list[str] = []  # the start of a line that goes on in the next read
        read = self._stream.read
        while True:
            data = read(_BLOCK)
            text = decoder.decode(data, final=not data)
            if "\x00" in text:
                text = text.replace("\x00", "")  # a stray NUL of an export (see `detect_encoding`)
            if text:
                if not self.bad_bytes_seen and _holds_bad_bytes(text):
                    self.bad_bytes_seen = True
                lines = text.split(newline)
                last = lines.pop()
                if lines:
                    quoted = '"' in text
                    if pending:
                        pending.append(lines[0])
                        lines[0] = "".join(pending)
                        quoted = quoted or '"' in lines[0]
                        pending.clear()
                    # The csv module wants each line to end with "\n" (or "\r\n"); a lone CR line end becomes LF.
                    yield _Block([line + "\n" for line in lines], quoted)
                if last:
                    pending.append(last)
            if not data:
                break
        if pending:
            last = "".join(pending)
            yield _Block([last], '"' in last)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every record; a quoted field may span lines (see the module docstring).

        A block of lines without quotes has one record per line: the csv module reads it alone. The
        other blocks are read through a `_Feed`, which watches records that run over lines.
        """
        blocks = self._blocks()
        number = 0
        delimiter = self.delimiter
        for block in blocks:
            start = 0
            if not block.quoted:
                reader = csv.reader(block.lines, delimiter=delimiter, strict=False)
                try:
                    for cells in reader:
                        number += 1
                        yield number, cells
                    continue
                except csv.Error:
                    start = reader.line_num - 1  # the failed line, read again below
            number = yield from self._read_watched(_Feed(block.lines, start, blocks, self._shape), number)

    def _read_watched(self, feed: _Feed, number: int) -> Generator[tuple[int, list[str]], None, int]:
        """The rows of the feed's block (and of the next ones, while a record runs on into them)."""
        record = feed.record
        while True:
            reader = csv.reader(feed, delimiter=self.delimiter, strict=False)
            try:
                for cells in reader:
                    number += 1
                    if len(record) > 1 and feed.swallowed_rows():
                        cells = self._repair(number, feed, _SWALLOWS_ROWS)
                    record.clear()
                    yield number, cells
                return number
            except _Unclosed as unclosed:
                number += 1
                cells = self._repair(number, feed, unclosed.why)
                record.clear()
                yield number, cells
            except csv.Error as exc:
                # A stray CR (or LF in a CR file) inside an unquoted cell: a space, not a failed file.
                fixed = [_without_line_breaks(line) for line in record]
                if fixed == record:
                    raise CallListError(f"{self._where}: row {number + 1}: {exc}") from exc
                record.clear()
                feed.replay.extendleft(reversed(fixed))

    def _repair(self, number: int, feed: _Feed, why: str) -> list[str]:
        """The cells of the record's first line with its open quoted cell closed at the line end (or,
        when that leaves the row short and dropping the quote gives it the table's cells, without the
        quote); the record's other lines go back to be read as rows."""
        first, *rest = feed.record
        feed.replay.extendleft(reversed(rest))
        cells = next(csv.reader((_closed_at_line_end(first),), delimiter=self.delimiter, strict=False))
        field, how = len(cells) - 1, _CLOSED
        width = self._shape.width
        if len(cells) < width:
            # A cell in the middle of the row: the cells after it are on the line, delimited as usual.
            dropped = _stray_quote_dropped(first, cells, self.delimiter)
            if dropped is not None and len(dropped) == width:
                cells, how = dropped, _DROPPED
        if why == _TOO_LONG:
            self.problems[number] = RowProblem(field, RejectReason.QUOTED_CELL_TOO_LONG, _TOO_LONG_MESSAGE)
        else:
            self.problems[number] = RowProblem(field, RejectReason.QUOTE_REPAIRED, _WHY[why] + how)
        return cells
