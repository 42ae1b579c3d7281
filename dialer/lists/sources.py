"""An uploaded or local call-list file: its format (by content), digest, and a row reader for it."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Protocol

from dialer.lists.columns import HEADER_SEARCH_ROWS, is_phone_header
from dialer.lists.csv_reader import CsvRows
from dialer.lists.errors import CallListError, CorruptWorkbookError, EmptyFileError, SheetNotFoundError
from dialer.lists.html_reader import HtmlTableRows, looks_like_html
from dialer.lists.model import RowProblem
from dialer.lists.workbook_reader import WorkbookRows

_ZIP = b"PK\x03\x04"
_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")
_HEAD = 4096  # bytes read to tell the format
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}


class FileFormat(StrEnum):
    CSV = "csv"
    WORKBOOK = "workbook"  # XLSX, XLSM, XLSB, XLS or ODS: python-calamine tells them apart
    HTML = "html"  # an HTML table or an Excel 2003 XML sheet, often named .xls (web CRM exports)


class RowSource(Protocol):
    """Rows of a table as `(row number, cells)`; `position()` of `size` (bytes or rows) is progress."""

    @property
    def description(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def bad_bytes_seen(self) -> bool:
        """True once bytes the text encoding cannot decode were met (rows holding them are rejects)."""
        ...

    @property
    def problems(self) -> dict[int, RowProblem]:
        """Rows read with a repair or to be rejected whole, by row number, set before the row is yielded."""
        ...

    @property
    def unread_sheets(self) -> tuple[str, ...]:
        """Other sheets of a workbook that hold a list too, left unread (no sheet was named)."""
        ...

    def __iter__(self) -> Iterator[tuple[int, list[str]]]: ...

    def position(self) -> int: ...


@dataclass(frozen=True, slots=True)
class SourceFile:
    name: str  # the file name as the user gave it (call_lists.filename, error messages)
    stream: BinaryIO  # seekable
    size: int
    sha256: str
    format: FileFormat


def _digest(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while block := stream.read(1 << 20):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


def sniff_format(head: bytes, name: str) -> FileFormat:
    """Workbook by signature (ZIP or OLE2), an HTML page by its markup; a workbook file name with
    neither is corrupt."""
    if head.startswith(_ZIP) or head.startswith(_OLE2):
        return FileFormat.WORKBOOK
    if looks_like_html(head):
        return FileFormat.HTML
    suffix = Path(name).suffix.lower()
    if suffix in _WORKBOOK_SUFFIXES:
        raise CorruptWorkbookError(
            f"{name}: not a readable {suffix[1:].upper()} workbook (no ZIP/OLE2 signature); "
            "if it is text, name it .csv"
        )
    return FileFormat.CSV


@contextlib.contextmanager
def open_source(source: Path | BinaryIO, name: str | None = None) -> Iterator[SourceFile]:
    """Open a path or take a binary stream (an upload); a non-seekable stream is spooled to disk."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, Path):
            display = name or source.name
            try:
                stream: BinaryIO = stack.enter_context(source.open("rb"))
            except OSError as exc:
                raise CallListError(f"{source}: cannot open: {exc.strerror or exc}") from exc
        else:
            display = name or getattr(source, "name", None) or "upload"
            display = Path(str(display)).name
            stream = source
            if not stream.seekable():
                spool = stack.enter_context(tempfile.TemporaryFile())
                shutil.copyfileobj(stream, spool, 1 << 20)
                stream = spool
        sha256, size = _digest(stream)
        if size == 0:
            raise EmptyFileError(f"{display}: the file is empty")
        head = stream.read(_HEAD)
        stream.seek(0)
        yield SourceFile(display, stream, size, sha256, sniff_format(head, display))


def _names_a_phone_column(rows: Iterator[list[str]]) -> bool:
    """Whether a phone column is named where a call list's header is looked for."""
    filled = (row for row in rows if any(cell.strip() for cell in row))
    return any(is_phone_header(cell) for row in islice(filled, HEADER_SEARCH_ROWS) for cell in row)


def row_source(file: SourceFile, sheet: str | None) -> RowSource:
    """The reader for the file's format."""
    if file.format is FileFormat.WORKBOOK:
        return WorkbookRows(file.stream, file.name, sheet, holds_list=_names_a_phone_column)
    if sheet is not None:
        kind = "an HTML page" if file.format is FileFormat.HTML else "a text (CSV/TSV) file"
        raise SheetNotFoundError(f"{file.name}: a sheet ({sheet!r}) was named, but this is {kind}, which has none")
    if file.format is FileFormat.HTML:
        return HtmlTableRows(file.stream, file.name, file.size, holds_list=_names_a_phone_column)
    return CsvRows(file.stream, file.name, file.size)
