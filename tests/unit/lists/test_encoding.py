"""Encoding detection: UTF-8 with or without BOM, UTF-16 with BOM, Windows-1251; binary and empty fail."""

from __future__ import annotations

import codecs
import io

import pytest

from dialer.lists.encoding import CP1251, KOI8_R, UTF8, UTF8_BOM, UTF16_BE, UTF16_LE, TextEncoding, detect_encoding
from dialer.lists.errors import EmptyFileError, UnreadableEncodingError

TEXT = "телефон;ФИО\n8 (913) 123-45-67;Иванов Иван\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT.encode("utf-8"), UTF8),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), UTF8_BOM),
        (TEXT.encode("cp1251"), CP1251),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), UTF16_LE),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), UTF16_BE),
        (b"phone\n+79131234567\n", UTF8),
    ],
    ids=["utf8", "utf8-bom", "cp1251", "utf16le", "utf16be", "ascii"],
)
def test_detects(data: bytes, expected: object) -> None:
    stream = io.BytesIO(data)
    assert detect_encoding(stream, "f.csv") == expected
    assert stream.tell() == 0


def test_decides_on_the_first_non_ascii_bytes_even_far_into_the_file() -> None:
    ascii_rows = "phone,n\n" + "89131234567,x\n" * 200_000  # 2.8 MB of ASCII first
    data = ascii_rows.encode() + "89131234567,Иванов\n".encode("cp1251")
    assert detect_encoding(io.BytesIO(data), "f.csv") == CP1251


def test_a_stray_bad_byte_in_utf8_text_keeps_utf8() -> None:
    data = ("phone,name\n" + "89131234567,Иванов\n" * 100).encode() + b"89131234568,\xff\n"
    assert detect_encoding(io.BytesIO(data), "f.csv") == UTF8


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("phone,name\n89131234567,Ива\x00нов\n".encode() + b"89131234568,x\n" * 10, UTF8),
        (b"phone,name\n8913\x001234567,x\n" + "89131234568,Петров\n".encode("cp1251") * 10, CP1251),
    ],
    ids=["utf-8", "windows-1251"],
)
def test_a_stray_nul_of_an_export_is_no_binary_data(data: bytes, expected: TextEncoding) -> None:
    assert detect_encoding(io.BytesIO(data), "f.csv") == expected


@pytest.mark.parametrize("data", [b"", b"   \n\n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n"])
def test_empty(data: bytes) -> None:
    with pytest.raises(EmptyFileError, match=r"f\.csv: the file is empty"):
        detect_encoding(io.BytesIO(data), "f.csv")


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 10,  # binary, with NUL bytes
        "phone\n8913".encode("utf-16-le"),  # UTF-16 without a BOM
        b"phone\n" + bytes([0x98, 0x98, 0x98, 0xC0]) * 400,  # 0x98 is not Windows-1251 and not UTF-8
        b"\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f" * 100 + "я".encode("cp1251"),  # control bytes
    ],
    ids=["binary", "utf16-no-bom", "not-cp1251", "controls"],
)
def test_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableEncodingError, match=r"^f\.csv: "):
        detect_encoding(io.BytesIO(data), "f.csv")


@pytest.mark.parametrize(
    "data",
    [
        # Two names and a stray byte: valid multi-byte characters are what UTF-8 looks like.
        b"phone,name\n89131234567,\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\n89131234568,\xff\n",
        b"phone,name\n89131234568,\xff\n89131234567,\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\n",
        # The stray byte comes first and the names only after a window of ASCII.
        b"phone,n\n1,\xff\n" + b"1,x\n" * 100_000 + "1,Иван Петров\n".encode(),
    ],
    ids=["small", "stray-byte-first", "names-far-after-the-stray-byte"],
)
def test_utf8_with_a_stray_byte_in_a_small_or_sparse_file(data: bytes) -> None:
    assert detect_encoding(io.BytesIO(data), "f.csv") == UTF8


@pytest.mark.parametrize(
    "text",
    [
        "phone;name\n89131234567;ИП\u00a0Ёж\n",  # upper case before a no-break space or Ё forms UTF-8 pairs
        "phone;name\n89131234567;ПЁТР СЕМЁНОВ\n",
        "phone;name\n89131234567;Я\n",
    ],
)
def test_short_windows_1251_text_stays_windows_1251(text: str) -> None:
    assert detect_encoding(io.BytesIO(text.encode("cp1251")), "f.csv") == CP1251


_EXPORTS = [
    "Телефон;ФИО;Адрес\n89131234567;Иванов Иван Иванович;г. Новосибирск, ул. Ленина, 5\n"
    "89141234567;Петрова Анна;Забайкальский край\n",
    "Номер абонента;Регион\n89001234567;Камчатский край\n89011234567;Республика Саха (Якутия)\n",
    "ТЕЛЕФОН;ФИО\n89131234567;ЩЕРБАКОВ ЮРИЙ ЭДУАРДОВИЧ\n89131234568;ЦОЙ ЖАННА ЁСИФОВНА\n",
    "phone;name\n89131234567;Жёлтый цыплёнок съел шесть щук\n",
]


@pytest.mark.parametrize("text", _EXPORTS)
def test_koi8_r_is_told_from_windows_1251(text: str) -> None:
    assert detect_encoding(io.BytesIO(text.encode("koi8_r")), "f.csv") == KOI8_R
    assert detect_encoding(io.BytesIO(text.encode("cp1251")), "f.csv") == CP1251
    assert detect_encoding(io.BytesIO(text.upper().encode("cp1251")), "f.csv") == CP1251


def test_too_few_letters_to_tell_stay_windows_1251() -> None:
    # KOI8-R is read only on clear evidence: Windows-1251 is what exports use.
    assert detect_encoding(io.BytesIO("Телефон;ФИО\n89131234567;Иванов\n".encode("koi8_r")), "f.csv") == CP1251
