"""CSV rows: delimiter sniffing, quotes, line ends, long fields, undecodable bytes."""

from __future__ import annotations

import io

import pytest

from dialer.lists.csv_reader import CsvRows, has_bad_bytes, sniff_delimiter


def rows(data: bytes) -> list[tuple[int, list[str]]]:
    return list(CsvRows(io.BytesIO(data), "f.csv", len(data)))


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("phone;name\n8 (913) 123-45-67;Иванов, Иван\n", ";"),
        ("phone,name\n89131234567,Иванов; Иван\n", ","),
        ("phone\tname\n89131234567\tИванов, Иван; мл.\n", "\t"),
        ('"phone";"name, full"\n"89131234567";"a,b"\n', ";"),
        ("phone\n89131234567,89141234567\n89151234567\n", ";"),  # one column, a comma inside a cell
        ("phone\n89131234567;89141234567\n89151234567\n", ","),  # one column, a semicolon inside
        ("Выгрузка на 01.04\n\nТелефон;ФИО\n89131234567;Иванов, мл.\n89141234567;Петров\n", ";"),
        ("phone,name\n89131234567,Иванов; мл.\n89141234567,Петров; ст.\n", ","),
    ],
)
def test_sniff_delimiter(sample: str, delimiter: str) -> None:
    assert sniff_delimiter(sample) == delimiter


def test_quoted_fields_crlf_and_multiline_cells() -> None:
    data = 'phone;comment\r\n89131234567;"line one\r\nline two; with ; separators"\r\n89141234567;"say ""hi"""\r\n'
    assert rows(data.encode()) == [
        (1, ["phone", "comment"]),
        (2, ["89131234567", "line one\r\nline two; with ; separators"]),
        (3, ["89141234567", 'say "hi"']),
    ]


def test_classic_mac_line_ends() -> None:
    assert rows(b"phone,name\r89131234567,a\r89141234567,b\r") == [
        (1, ["phone", "name"]),
        (2, ["89131234567", "a"]),
        (3, ["89141234567", "b"]),
    ]


def test_row_numbers_count_blank_lines_like_a_spreadsheet() -> None:
    assert [n for n, cells in rows(b"phone\n\n89131234567\n") if cells] == [1, 3]


def test_ten_megabyte_field_in_one_line() -> None:
    big = "x" * (10 * 1024 * 1024)
    data = f"phone,comment\n89131234567,{big}\n89141234567,short".encode()
    result = rows(data)
    assert result[1] == (2, ["89131234567", big])
    assert result[2] == (3, ["89141234567", "short"])  # no final newline


def test_windows_1251_with_an_undefined_byte_flags_the_row() -> None:
    data = "phone;name\n89131234567;Иванов\n".encode("cp1251") + b"89141234567;\x98\n"
    reader = CsvRows(io.BytesIO(data), "f.csv", len(data))
    result = list(reader)
    assert reader.bad_bytes_seen
    assert not has_bad_bytes(result[1][1])
    assert has_bad_bytes(result[2][1])
    assert reader.description == "CSV, Windows-1251, ';'-separated"


def test_bom_is_not_part_of_the_first_header() -> None:
    data = "\ufeffphone,name\n89131234567,a\n".encode()
    assert rows(data)[0] == (1, ["phone", "name"])
