"""Rows of a CSV/TSV file as lists of strings, streamed: encoding and delimiter detected, any line length.

Bytes the detected encoding cannot decode do not fail the file: they are kept as lone surrogates
(U+DC80..U+DCFF, `surrogateescape`) and the importer rejects the rows holding them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from dialer.lists.encoding import TextEncoding, detect_encoding

# A 10 MB cell (a long comment, a cell of thousands of numbers) is data, not an attack; the csv
# module's default limit is 128 KiB.
FIELD_SIZE_LIMIT = 256 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))

DELIMITERS = (";", ",", "\t")
_BLOCK = 1 << 16
_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 50
_BAD_BYTES = re.compile("[\udc80-\udcff]")


def has_bad_bytes(cells: list[str]) -> bool:
    """True when a row holds bytes the file's encoding could not decode."""
    return any(_BAD_BYTES.search(cell) for cell in cells)


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


class CsvRows:
    """The rows of a CSV file (seekable binary stream), numbered from 1 as a spreadsheet shows them."""

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
        self.bad_bytes_seen = False
        stream.seek(self.encoding.bom)

    @property
    def description(self) -> str:
        name = {";": "';'", ",": "','", "\t": "tab"}[self.delimiter]
        return f"CSV, {self.encoding.label}, {name}-separated"

    def position(self) -> int:
        """Bytes consumed so far (for progress)."""
        return self._stream.tell()

    def _lines(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding.codec)("surrogateescape")
        newline = self._newline
        # The csv module wants each line to end with "\n" (or "\r\n"); a lone CR line end becomes LF.
        ending = "\n"
        pending: list[str] = []
        read = self._stream.read
        while True:
            block = read(_BLOCK)
            text = decoder.decode(block, final=not block)
            if text:
                if not self.bad_bytes_seen and _BAD_BYTES.search(text):
                    self.bad_bytes_seen = True
                lines = text.split(newline)
                last = lines.pop()
                if lines:
                    if pending:
                        pending.append(lines[0])
                        lines[0] = "".join(pending)
                        pending.clear()
                    for line in lines:
                        yield line + ending
                if last:
                    pending.append(last)
            if not block:
                break
        if pending:
            yield "".join(pending)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every record; a quoted field may span lines."""
        return enumerate(csv.reader(self._lines(), delimiter=self.delimiter, strict=False), start=1)
