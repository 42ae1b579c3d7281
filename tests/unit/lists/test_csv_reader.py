"""CSV rows: delimiter sniffing, quotes, line ends, long fields, undecodable bytes."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.lists.csv_reader import _BAD_BYTES, CsvRows, _holds_bad_bytes, has_bad_bytes, sniff_delimiter


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


def test_stray_nul_bytes_are_dropped() -> None:
    data = 'phone;name\n8913\x001234567;"Ива\x00нов"\n89141234567;Петров\n'.encode()
    assert rows(data) == [
        (1, ["phone", "name"]),
        (2, ["89131234567", "Иванов"]),
        (3, ["89141234567", "Петров"]),
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


def problems(data: bytes) -> tuple[list[tuple[int, list[str]]], dict[int, tuple[int, str]]]:
    reader = CsvRows(io.BytesIO(data), "f.csv", len(data))
    result = list(reader)
    return result, {row: (p.field, p.reason.value) for row, p in reader.problems.items()}


def test_an_unclosed_quote_does_not_swallow_the_rows_after_it() -> None:
    result, found = problems(b'phone;name\n89131234567;"Ivan\n89131234568;Petr\n89131234569;Sid\n')
    assert result == [
        (1, ["phone", "name"]),
        (2, ["89131234567", "Ivan"]),
        (3, ["89131234568", "Petr"]),
        (4, ["89131234569", "Sid"]),
    ]
    assert found == {2: (1, "quote-repaired")}


@pytest.mark.parametrize(
    "data",
    [
        # Closed by the opening quote of a later row's cell (a proper closing quote is followed by a delimiter).
        b'phone;name\n89131234567;"Ivan\n89131234568;"Petr"\n89131234569;Sid\n',
        # Every name opens a quote it never closes.
        b'phone;name\n89131234567;"Ivan\n89131234568;"Petr\n89131234569;"Sid\n',
        # CRLF, more columns, the broken cell in the middle, the lines after it with numbers as rows have.
        b'phone;name;sum\r\n89131234560;A;1\r\n89131234567;"Ivan;2\r\n89131234568;Petr;3\r\n89131234569;Sid;4\r\n'
        b'89131234570;"X; Y";5\r\n',
    ],
    ids=["closed-by-a-later-quote", "every-row", "crlf-middle-cell"],
)
def test_unclosed_quotes_are_closed_at_their_line_end(data: bytes) -> None:
    result, found = problems(data)
    phones = [cells[0] for _, cells in result[1:]]
    assert phones == [line.split(b";")[0].decode() for line in data.splitlines()[1:]]
    names = [cells[1] for _, cells in result[1:]]
    assert {"Ivan", "Petr", "Sid"} <= set(names)
    assert all("\n" not in cell for _, cells in result for cell in cells)
    assert found and {reason for _, reason in found.values()} == {"quote-repaired"}


def test_a_one_column_file_with_an_unclosed_quote_is_repaired_at_the_end() -> None:
    result, found = problems(b'phone\n"89131234567\n89131234568\n89131234569\n')
    assert result == [(1, ["phone"]), (2, ["89131234567"]), (3, ["89131234568"]), (4, ["89131234569"])]
    assert found == {2: (0, "quote-repaired")}


@pytest.mark.parametrize(
    ("data", "cell"),
    [
        # An address over three lines, each with a comma: the lines do not have numbers where rows do.
        (
            '"phone","name","address"\n89131234561,a,b\n89131234562,b,c\n'
            '89131234567,"Иван","г. Москва, ул. Ленина\nд. 5, кв. 7\nподъезд 2, этаж 3"\n89131234568,c,d\n',
            "г. Москва, ул. Ленина\nд. 5, кв. 7\nподъезд 2, этаж 3",
        ),
        # A comment with a number and the delimiter on one of its lines.
        (
            'phone;comment\n89131234561;a\n89131234562;b\n89131234567;"Перезвонить\n89141234567; жена"\n'
            "89131234568;c\n",
            "Перезвонить\n89141234567; жена",
        ),
        # A one-column file: several numbers in one cell, one a line.
        ('phone\n"89131234567\n89141234567"\n89151234567\n', "89131234567\n89141234567"),
    ],
    ids=["address", "comment-with-a-number", "one-column"],
)
def test_multi_line_cells_stay_whole(data: str, cell: str) -> None:
    result, found = problems(data.encode())
    assert found == {}
    assert [n for n, _ in result] == list(range(1, data.count("\n") - cell.count("\n") + 1))
    assert [cells for _, cells in result if cell in cells]


def test_a_quoted_cell_over_the_limit_rejects_its_row_and_the_lines_after_are_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dialer.lists import csv_reader

    monkeypatch.setattr(csv_reader, "MAX_QUOTED_LINES", 5)
    numbers = [f"8913{i:07d}" for i in range(20)]
    data = ("phone\n" + '"' + "\n".join(numbers) + "\n").encode()
    result, found = problems(data)
    assert [cells for _, cells in result] == [["phone"], *[[n] for n in numbers]]
    assert found == {2: (0, "quoted-cell-too-long")}


def test_an_unclosed_quote_in_a_long_file_is_bounded() -> None:
    """A never-closed quote in a one-column file (every line looks like any line of a cell) is followed
    over MAX_QUOTED_LINES lines, no more; every line after it is still a row."""
    from dialer.lists.csv_reader import MAX_QUOTED_LINES

    numbers = [f"8913{i:07d}" for i in range(MAX_QUOTED_LINES * 3)]
    data = ("phone\n" + '"' + "\n".join(numbers) + "\n").encode()
    result, found = problems(data)
    assert len(result) == len(numbers) + 1
    assert [cells[0] for _, cells in result[2:]] == numbers[1:]
    assert found == {2: (0, "quoted-cell-too-long")}


def test_the_header_row_with_an_unclosed_quote() -> None:
    result, found = problems(b'phone;"name\n89131234567;Ivan\n89131234568;Petr\n')
    assert result == [(1, ["phone", "name"]), (2, ["89131234567", "Ivan"]), (3, ["89131234568", "Petr"])]
    assert found == {1: (1, "quote-repaired")}


def test_a_stray_carriage_return_in_an_unquoted_cell_is_a_space() -> None:
    assert rows(b"phone,name\n89131234567,Ivan\rPetrov\n89141234567,b\n") == [
        (1, ["phone", "name"]),
        (2, ["89131234567", "Ivan Petrov"]),
        (3, ["89141234567", "b"]),
    ]


def _long_table(rows_: int, special: dict[int, str]) -> str:
    """A `phone;name;comment` table over many 64 KiB reads, with some rows' comments replaced."""
    lines = ["phone;name;comment"]
    for i in range(rows_):
        lines.append(f"8913{i:07d};Иванов Иван {i};{special.get(i, 'ok')}")
    return "\r\n".join(lines) + "\r\n"


def test_quoted_cells_across_reads_of_a_long_file() -> None:
    # Multi-line quoted cells everywhere, some of them across the reader's block boundaries.
    special = {i: f'"line one {i}\r\nline two; ""quoted""{" x" * 100}\r\nthree"' for i in range(3, 20_000, 3)}
    text = _long_table(20_000, special)
    data = text.encode("utf-8")
    starts = [data.index(f"line one {i}\r".encode()) + len(f"line one {i}\r") for i in special]
    spans = [(start, data.index(b"three", start)) for start in starts]
    reads = range(1 << 16, len(data), 1 << 16)
    assert any(start < boundary < end for start, end in spans for boundary in reads), "no cell across a read"
    expected = [(n, cells) for n, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=";"), 1)]
    assert rows(data) == expected


def test_repairs_deep_in_a_long_file() -> None:
    special = {15_000: '"never closed', 15_010: "a\rb"}
    result, found = problems(_long_table(20_000, special).encode("utf-8"))
    assert len(result) == 20_001
    assert result[15_001] == (15_002, ["89130015000", "Иванов Иван 15000", "never closed"])
    assert result[15_002] == (15_003, ["89130015001", "Иванов Иван 15001", "ok"])
    assert result[15_011] == (15_012, ["89130015010", "Иванов Иван 15010", "a b"])
    assert found == {15_002: (2, "quote-repaired")}


_SURROGATES = ["\ud7ff", "\ud800", "\udbff", "\udc00", "\udc7f", "\udc80", "\udcff", "\udd00", "\udfff"]


@given(st.text(st.sampled_from([*"a;\n", "я", "😀", *_SURROGATES])))
def test_bad_bytes_of_a_block_are_those_of_the_search(text: str) -> None:
    assert _holds_bad_bytes(text) == (_BAD_BYTES.search(text) is not None)
    assert _holds_bad_bytes(text + "\ud800\udc80")  # two lone surrogates, even in a pair's order
