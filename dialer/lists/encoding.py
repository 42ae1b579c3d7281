"""Which text encoding a CSV export uses: UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1251.

CRM exports in Russia are UTF-8 or Windows-1251; Excel's "Unicode text" is UTF-16 with a BOM. The
decision is taken on the non-ASCII bytes of the file from the first one on (an ASCII prefix says
nothing), so a file whose first thousand rows are ASCII and whose names start later is still
detected; a stray byte alone does not decide, the text after it is read until it does.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import BinaryIO

from dialer.lists.errors import EmptyFileError, UnreadableEncodingError

_SCAN_CHUNK = 1 << 20
_WINDOW = 1 << 16
# Non-ASCII characters that settle UTF-8 against Windows-1251 (a stray byte alone settles nothing);
# the file is read on past the first window until this many or _EVIDENCE_BYTES.
_ENOUGH_EVIDENCE = 64
_EVIDENCE_BYTES = 64 << 20
# C0 controls other than tab, LF, CR, form feed: binary data, not text.
_BINARY_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


@dataclass(frozen=True, slots=True)
class TextEncoding:
    codec: str  # a Python codec name
    label: str  # how we name it to people
    bom: int  # bytes of byte-order mark to skip


UTF8 = TextEncoding("utf-8", "UTF-8", 0)
UTF8_BOM = TextEncoding("utf-8", "UTF-8 with BOM", 3)
UTF16_LE = TextEncoding("utf-16-le", "UTF-16 LE with BOM", 2)
UTF16_BE = TextEncoding("utf-16-be", "UTF-16 BE with BOM", 2)
CP1251 = TextEncoding("cp1251", "Windows-1251", 0)


class _Utf8Evidence:
    """Counts, over the file's non-ASCII text, valid UTF-8 multi-byte characters against broken bytes.

    Windows-1251 Cyrillic almost never forms valid UTF-8 multi-byte sequences (its letters are lead
    bytes followed by more letters, not by continuation bytes): a few accidental ones come from an
    upper-case letter followed by Ё, a no-break space or a quote mark, against about one broken byte
    per letter. Real UTF-8 with a stray byte (a row pasted from elsewhere) has many valid characters
    per broken byte, even in a file of two names. So valid characters at least twice the broken
    bytes mean UTF-8, and a tiny file still decides right.
    """

    def __init__(self) -> None:
        # Not final: a chunk may end inside a multi-byte character.
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self.valid = 0
        self.errors = 0

    def add(self, data: bytes, final: bool = False) -> None:
        text = self._decode(data, final)
        if text.isascii():
            return
        errors = text.count("\ufffd")
        self.errors += errors
        self.valid += len(text) - len(text.encode("ascii", "ignore")) - errors

    @property
    def enough(self) -> bool:
        return self.valid + self.errors >= _ENOUGH_EVIDENCE

    @property
    def is_utf8(self) -> bool:
        if self.errors == 0:
            return True
        return self.valid >= 2 * self.errors


def _looks_binary(window: bytes) -> bool:
    controls = sum(window.count(bytes([b])) for b in _BINARY_CONTROLS)
    return controls > max(2, len(window) // 200)


def detect_encoding(stream: BinaryIO, where: str) -> TextEncoding:
    """Detect the encoding of a seekable binary stream; leaves the stream at its start.

    Raises EmptyFileError for a file with no bytes besides a BOM and whitespace, and
    UnreadableEncodingError for binary data or text in none of the supported encodings.
    """
    stream.seek(0)
    head = stream.read(_WINDOW)
    try:
        if head.startswith(codecs.BOM_UTF8):
            encoding = UTF8_BOM
            if not head[3:].strip() and not stream.read(1):
                raise EmptyFileError(f"{where}: the file is empty")
            return encoding
        if head.startswith(codecs.BOM_UTF16_LE):
            return UTF16_LE
        if head.startswith(codecs.BOM_UTF16_BE):
            return UTF16_BE
        if not head.strip():
            rest = stream.read(_SCAN_CHUNK)
            if not rest.strip():
                raise EmptyFileError(f"{where}: the file is empty")
        return _detect_after_ascii(stream, head, where)
    finally:
        stream.seek(0)


def _detect_after_ascii(stream: BinaryIO, head: bytes, where: str) -> TextEncoding:
    stream.seek(0)
    offset = 0
    while True:
        chunk = stream.read(_SCAN_CHUNK)
        if not chunk:
            return UTF8  # pure ASCII is valid UTF-8
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise UnreadableEncodingError(
                f"{where}: binary data (a NUL byte at byte {offset + nul}); "
                "expected a CSV text file in UTF-8 or Windows-1251, or an XLSX/XLS workbook"
            )
        if not chunk.isascii():
            start = next(i for i, byte in enumerate(chunk) if byte >= 0x80)
            tail = chunk[start:]
            if len(tail) < _WINDOW:
                tail += stream.read(_WINDOW - len(tail))
            window = tail[:_WINDOW]
            if _looks_binary(head) or _looks_binary(window):
                raise UnreadableEncodingError(
                    f"{where}: binary data, not text; expected CSV in UTF-8 or Windows-1251, or XLSX/XLS"
                )
            evidence = _Utf8Evidence()
            evidence.add(tail)
            read = len(tail)
            while not evidence.enough and read < _EVIDENCE_BYTES:
                more = stream.read(_SCAN_CHUNK)
                if not more:
                    break
                evidence.add(more)
                read += len(more)
            if evidence.is_utf8:
                return UTF8
            # 0x98 is the one byte Windows-1251 leaves undefined.
            if window.count(b"\x98") > max(1, len(window) // 1000):
                raise UnreadableEncodingError(
                    f"{where}: from byte {offset + start}: neither UTF-8 nor Windows-1251 text"
                )
            return CP1251
        offset += len(chunk)
