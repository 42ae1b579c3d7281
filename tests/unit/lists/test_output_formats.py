"""COPY text escaping, formula escaping, the reject report file, the Bloom filter of seen numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import TzResolution, TzSource
from dialer.lists.copy_format import _ESCAPES, ContactLines, copy_array, copy_text, with_subscriber_zones, zone_fields
from dialer.lists.excel_safety import escape_formula, looks_like_formula, unescape_formula
from dialer.lists.model import ContactRow, Reject, RejectReason
from dialer.lists.report import HEADER, RejectReport, default_report_path
from dialer.lists.seen import SeenNumbers


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("plain", "plain"), ("a\tb", "a\\tb"), ("a\nb\r", "a\\nb\\r"), ("c:\\x", "c:\\\\x"), ("n\x00ul", "nul")],
)
def test_copy_text(value: str, escaped: str) -> None:
    assert copy_text(value) == escaped


_TEXT = st.text(st.sampled_from([*"a \\\t\n\r\x00\x01\x7f\xa0\u2028\ud800", "ы", "😀"]))


@given(_TEXT)
def test_copy_text_escapes_as_the_table_says(value: str) -> None:
    assert copy_text(value) == value.translate(_ESCAPES)


def test_copy_array() -> None:
    assert copy_array(("Asia/Omsk", "Etc/GMT-7")) == '{"Asia/Omsk","Etc/GMT-7"}'
    assert copy_array(()) == "{}"


def test_contact_line() -> None:
    zone = TzResolution("Asia/Omsk", TzSource.REGISTRY, ("Asia/Omsk",))
    contact = ContactRow(2, "phone", "8913", "+79131234567", "D\t1", None, '{"k":"a\\"b"}', zone)
    line = ContactLines(5, 7).line(contact)
    assert line == '5\t7\t+79131234567\tD\\t1\t\\N\t{"k":"a\\\\"b"}\tAsia/Omsk\tregistry\t{"Asia/Omsk"}\t\\N\n'
    unknown = TzResolution(None, TzSource.CANDIDATES, ("Europe/Moscow", "Asia/Omsk"))
    line = ContactLines(5, 7).line(ContactRow(2, "p", "x", "+7", "k", "Имя", "{}", unknown))
    assert line.endswith('\t\\N\tcandidates\t{"Europe/Moscow","Asia/Omsk"}\t\\N\n')
    # The zones of all the subscriber's numbers, where a chunk saw them span several.
    spread = with_subscriber_zones(line, ("Asia/Omsk", "Europe/Moscow"))
    assert spread == line[: -len("\t\\N\n")] + '\t{"Asia/Omsk","Europe/Moscow"}\n'


@given(_TEXT, st.none() | _TEXT, _TEXT)
def test_contact_line_is_its_fields_in_copy_text(subscriber: str, name: str | None, extra: str) -> None:
    zone = TzResolution("Asia/Omsk", TzSource.REGISTRY, ("Asia/Omsk",))
    line = ContactLines(5, 7).line(ContactRow(2, "p", "x", "+79131234567", subscriber, name, extra, zone))
    fields = ["5", "7", "+79131234567", copy_text(subscriber), "\\N" if name is None else copy_text(name)]
    zones = ["Asia/Omsk", "registry", '{"Asia/Omsk"}', "\\N"]
    assert line == "\t".join([*fields, extra.replace("\\", "\\\\"), *zones]) + "\n"


def test_contact_lines_format_each_resolution_by_its_value() -> None:
    """Resolutions are cached by identity: new objects, equal or not, still get their own fields."""
    lines = ContactLines(5, 7)
    for i in range(10_000):
        zone = TzResolution(f"Etc/GMT-{i % 13}", TzSource.EXPLICIT, (f"Etc/GMT-{i % 13}",))
        line = lines.line(ContactRow(2, "p", "x", "+7", "k", None, "{}", zone))
        assert line.endswith(zone_fields(zone)), (i, line)


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+79131234567", "'+79131234567"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Иванов", "Иванов"),
        ("", ""),
    ],
)
def test_escape_formula(value: str, escaped: str) -> None:
    assert escape_formula(value) == escaped
    assert looks_like_formula(value) == (escaped != value)
    assert unescape_formula(escaped) == value


@pytest.mark.parametrize("value", ["'quoted'", "'", "'Иванов", "O'Brien"])
def test_unescape_leaves_other_apostrophes(value: str) -> None:
    assert unescape_formula(value) == value


def test_reject_report_is_utf8_bom_csv_with_escaped_values(tmp_path: Path) -> None:
    with RejectReport() as report:
        report.add([
            Reject(3, "Телефон", "=cmd|' /C calc'!A0", RejectReason.INVALID_NUMBER, "not a phone number"),
            Reject(4, "Телефон", "+7 913 000-00-01", RejectReason.DNC, "on the list"),
            Reject(5, "Телефон", "89\udc98", RejectReason.BAD_ENCODING, "bad bytes"),
        ])
        path = report.save(tmp_path / "reports" / "r.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(HEADER)
    assert rows[1] == ["3", "Телефон", "'=cmd|' /C calc'!A0", "invalid-number", "not a phone number"]
    assert rows[2][2:4] == ["'+7 913 000-00-01", "dnc"]
    assert rows[3][2] == "89\\udc98"
    assert not (tmp_path / "reports" / "r.csv.partial").exists()


def test_default_report_path_never_collides(tmp_path: Path) -> None:
    first = default_report_path(tmp_path, "Весна / 2024")
    assert first.parent == tmp_path and first.name.endswith("-rejects.csv")
    assert "/" not in first.name.removesuffix("-rejects.csv")
    first.write_text("x")
    second = default_report_path(tmp_path, "Весна / 2024")
    assert second != first


def test_seen_numbers_never_forgets() -> None:
    seen = SeenNumbers()
    numbers = [f"+7913{i:07d}" for i in range(50_000)]
    assert sum(seen.check_and_add(n) for n in numbers) < 50  # few false "maybe"
    assert all(seen.check_and_add(n) for n in numbers)  # never a false "no"
