"""Which text encoding a CSV export uses: UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1251, KOI8-R.

CRM exports in Russia are UTF-8 or Windows-1251; Excel's "Unicode text" is UTF-16 with a BOM; older
Unix systems write KOI8-R, told from Windows-1251 by how Russian its letters read (`_single_byte`). The
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
KOI8_R = TextEncoding("koi8_r", "KOI8-R", 0)

# Letter frequencies of Russian text (per cent). Both single-byte encodings map 0xC0-0xFF to letters,
# but each reads the other's text as other letters (KOI8-R's "о" is Windows-1251's "П"): the right
# one reads common letters.
_LETTER_FREQUENCY = dict(zip(
    "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
    (10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62, 2.01, 1.90,
     1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32, 0.26, 0.04, 0.04),
    strict=True,
))
# KOI8-R only when it reads clearly better over enough letters: Windows-1251 is the usual export.
_KOI8_MARGIN = 1.2
_KOI8_MIN_LETTERS = 20


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
        # Text has no NUL bytes; a few scattered in the fields of an export are dropped by the reader.
        if (nuls := chunk.count(b"\x00")) > 2 and nuls * 100 > len(chunk):
            nul = chunk.find(b"\x00")
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
            if _single_byte(window) is KOI8_R:
                return KOI8_R
            # 0x98 is the one byte Windows-1251 leaves undefined.
            if window.count(b"\x98") > max(1, len(window) // 1000):
                raise UnreadableEncodingError(
                    f"{where}: from byte {offset + start}: neither UTF-8 nor Windows-1251 text"
                )
            return CP1251
        offset += len(chunk)


def _russian_score(text: str) -> float:
    frequency = _LETTER_FREQUENCY
    return sum(frequency.get(char, 0.0) for char in text.lower())


def _single_byte(window: bytes) -> TextEncoding:
    """Windows-1251 unless the bytes read as clearly more Russian in KOI8-R."""
    letters = sum(1 for byte in window if byte >= 0xC0)
    if letters < _KOI8_MIN_LETTERS:
        return CP1251
    as_koi8 = _russian_score(window.decode(KOI8_R.codec, "replace"))
    as_cp1251 = _russian_score(window.decode(CP1251.codec, "replace"))
    return KOI8_R if as_koi8 > _KOI8_MARGIN * as_cp1251 else CP1251
