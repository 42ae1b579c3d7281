"""Rows to contacts and rejects with the real numbering registry: zones, subscriber keys, extra JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import Registry
from dialer.lists.columns import plan_columns
from dialer.lists.excel_safety import unescape_formula
from dialer.lists.model import ContactRow, Reject, RejectReason, RowProblem
from dialer.lists.rows import RowInterpreter, extra_json
from dialer.lists.timezones import ZoneResolver

HEADER = ["Телефон", "ФИО", "additional", "Сумма", "Часовой пояс", "Телефон 2"]


def interpret(registry: Registry, cells: list[str], header: list[str] = HEADER, check_bytes: bool = False):
    plan = plan_columns(header, 1, "additional")
    assert plan is not None
    contacts: list[ContactRow] = []
    rejects: list[Reject] = []
    total = RowInterpreter(plan, ZoneResolver(registry)).interpret(2, cells, check_bytes, contacts, rejects)
    return total, contacts, rejects


def test_one_number(registry: Registry) -> None:
    total, contacts, rejects = interpret(registry, ["8 (913) 012-34-56", " Иванов ", "D-1", "=1+2", "", ""])
    assert (total, rejects) == (1, [])
    [c] = contacts
    assert (c.phone, c.subscriber_key, c.name) == ("+79130123456", "D-1", "Иванов")
    assert (c.row, c.column, c.raw) == (2, "Телефон", "8 (913) 012-34-56")
    assert (c.zone.zone, c.zone.source.value) == ("Asia/Novosibirsk", "registry")
    # Extra keeps raw strings, formula-looking ones included, and the subscriber column too.
    assert json.loads(c.extra_json) == {"additional": "D-1", "Сумма": "=1+2"}


def test_several_numbers_in_cells_and_columns_are_one_subscriber(registry: Registry) -> None:
    total, contacts, rejects = interpret(
        registry, ["89130123456; +7 914 123-45-67, bad", "Петров", "D-2", "", "", "9151234567"]
    )
    assert total == 4
    assert [c.phone for c in contacts] == ["+79130123456", "+79141234567", "+79151234567"]
    assert {c.subscriber_key for c in contacts} == {"D-2"}
    assert [c.column for c in contacts] == ["Телефон", "Телефон", "Телефон 2"]
    assert [(r.value, r.reason) for r in rejects] == [("bad", RejectReason.INVALID_NUMBER)]


def test_subscriber_defaults_to_the_rows_first_valid_number(registry: Registry) -> None:
    """Without an id, the numbers of one row are one person's: the caps count them together."""
    _, contacts, _ = interpret(registry, ["89130123456", "", "", "", "", "89130123457"])
    assert [c.subscriber_key for c in contacts] == ["+79130123456", "+79130123456"]
    _, contacts, _ = interpret(registry, ["not a number; 89130123458", "", "", "", "", "89130123457"])
    assert [c.subscriber_key for c in contacts] == ["+79130123458", "+79130123458"]
    assert contacts[0].name is None


def test_the_formula_guards_of_a_csv_export_are_taken_off_every_column(registry: Registry) -> None:
    """A results or CDR export written as CSV guards values a spreadsheet would take for formulas with
    an apostrophe; read back as a call list, every column has its value again."""
    _, contacts, _ = interpret(registry, ["'+79130123456", "'-Иванов-", "'+79130123456", "'-500", "'+07:00", ""])
    [c] = contacts
    assert (c.phone, c.subscriber_key, c.name) == ("+79130123456", "+79130123456", "-Иванов-")
    assert json.loads(c.extra_json) == {"additional": "+79130123456", "Сумма": "-500"}
    assert (c.zone.zone, c.zone.source.value) == ("Etc/GMT-7", "explicit")
    # An apostrophe that guards nothing is the cell's own.
    _, contacts, _ = interpret(registry, ["89130123456", "'t Hooft", "", "'5", "", ""])
    assert contacts[0].name == "'t Hooft" and json.loads(contacts[0].extra_json)["Сумма"] == "'5"


def test_explicit_zone_and_region_text_in_the_zone_column(registry: Registry) -> None:
    _, contacts, _ = interpret(registry, ["89130123456", "", "", "", "Asia/Omsk", ""])
    assert (contacts[0].zone.zone, contacts[0].zone.source.value) == ("Asia/Omsk", "explicit")
    _, contacts, _ = interpret(registry, ["89130123456", "", "", "", "Новосибирская обл.", ""])
    assert (contacts[0].zone.zone, contacts[0].zone.source.value) == ("Asia/Novosibirsk", "explicit")
    total, contacts, rejects = interpret(registry, ["89130123456", "", "", "", "Mars/Olympus", ""])
    assert (total, contacts) == (1, [])
    assert rejects[0].reason is RejectReason.INVALID_TIMEZONE


def test_unallocated_russian_mobile_gets_every_russian_zone_as_candidates(registry: Registry) -> None:
    assert registry.lookup("+79400000000") is None
    _, contacts, _ = interpret(registry, ["+7 940 000 00 00", "", "", "", "", ""])
    zone = contacts[0].zone
    assert (zone.zone, zone.source.value, len(zone.candidates)) == (None, "candidates", 11)


def test_empty_phone_and_blank_rows(registry: Registry) -> None:
    assert interpret(registry, ["", "", "", "", "", ""]) == (0, [], [])
    assert interpret(registry, ["", ""]) == (0, [], [])  # short blank row
    total, contacts, rejects = interpret(registry, ["", "Иванов", "D-9", "", "", ""])
    assert (total, contacts) == (1, [])
    assert (rejects[0].reason, rejects[0].column, rejects[0].row) == (RejectReason.EMPTY_PHONE, "Телефон", 2)


def test_the_header_again_is_a_note_not_a_reject(registry: Registry) -> None:
    # Two exports joined together: the second one's header is a row of the first.
    total, contacts, rejects = interpret(registry, HEADER)
    assert (total, contacts) == (0, [])
    [note] = rejects
    assert (note.reason, note.column, note.value, note.reason.is_note) == (
        RejectReason.HEADER_REPEATED, "Телефон", "Телефон", True)
    # A word in the phone column that names no column stays an invalid number.
    total, _, rejects = interpret(registry, ["Иванов", "Иванов", "", "", "", ""])
    assert (total, [r.reason for r in rejects]) == (1, [RejectReason.INVALID_NUMBER])


@pytest.mark.parametrize("placeholder", ["-", " — ", "нет", "НЕТ", "Не указан", "n/a", "#Н/Д", "null", "0", "-.-"])
def test_a_placeholder_is_no_phone_value(registry: Registry, placeholder: str) -> None:
    # Beside a number: nothing to report, as an empty cell.
    total, contacts, rejects = interpret(registry, ["89130123456", "Иванов", "D-1", "", "", placeholder])
    assert (total, [c.phone for c in contacts], rejects) == (1, ["+79130123456"], [])
    total, contacts, rejects = interpret(registry, [f"89130123456, {placeholder}", "Иванов", "D-1", "", "", ""])
    assert (total, [c.phone for c in contacts], rejects) == (1, ["+79130123456"], [])
    # Alone: the row has no phone number (one reject, as for empty cells), not an invalid number.
    total, contacts, rejects = interpret(registry, [placeholder, "Иванов", "D-1", "", "", placeholder])
    assert (total, contacts) == (1, [])
    [reject] = rejects
    assert (reject.reason, reject.column, reject.value) == (RejectReason.EMPTY_PHONE, "Телефон", placeholder.strip())


def test_a_placeholder_beside_an_invalid_number(registry: Registry) -> None:
    total, contacts, rejects = interpret(registry, ["8913", "", "", "", "", "нет"])
    assert (total, contacts, [(r.value, r.reason) for r in rejects]) == (
        1, [], [("8913", RejectReason.INVALID_NUMBER)])


def test_short_and_long_rows(registry: Registry) -> None:
    total, contacts, _ = interpret(registry, ["89130123456", "Иванов"])
    assert total == 1 and json.loads(contacts[0].extra_json) == {"additional": "", "Сумма": ""}
    _, contacts, _ = interpret(registry, ["89130123456", "Иванов", "D", "1", "", "", "", "overflow"])
    assert json.loads(contacts[0].extra_json) == {"additional": "D", "Сумма": "1", "column8": "overflow"}


def test_a_json_escape_written_out_in_a_cell_is_text(registry: Registry) -> None:
    """A cell holding the six characters `\\u0000` once sent the JSON encoding into endless recursion."""
    _, contacts, _ = interpret(registry, ["89130123456", "", "D-1", "see \\u0000", "", ""])
    assert json.loads(contacts[0].extra_json) == {"additional": "D-1", "Сумма": "see \\u0000"}


def test_undecodable_bytes_reject_the_row(registry: Registry) -> None:
    total, contacts, rejects = interpret(
        registry, ["89130123456", "Ив\udc98нов", "", "", "", "89130123457"], check_bytes=True
    )
    assert (total, contacts) == (2, [])
    assert {r.reason for r in rejects} == {RejectReason.BAD_ENCODING}


@pytest.mark.parametrize(
    "pairs",
    [
        [("a", 'quote " and \\ backslash'), ("б", "tab\tnewline\n")],
        [("nul", "a\x00b"), ("ctl", "\x01\x1f")],
        [("k", "\\u0000 written out"), ("nul\x00key", "v")],
        [],
    ],
)
def test_extra_json_is_valid_json_without_nul(pairs: list[tuple[str, str]]) -> None:
    text = extra_json(pairs)
    assert "\\u0000" not in text.replace("\\\\", "")
    assert json.loads(text) == {key.replace("\x00", ""): value.replace("\x00", "") for key, value in pairs}


_CELL = st.text(st.sampled_from([*'aZ 0,;%{}"\\/\t\n\r\x00\x01\x1f\x7f\u2028\ud800\'=-', "ы", "ё", "€", "😀"]),
                max_size=6)


@given(st.lists(_CELL, min_size=0, max_size=4, unique=True), st.lists(_CELL, min_size=0, max_size=7))
def test_extra_json_of_a_row_is_the_general_one(keys: list[str], cells: list[str]) -> None:
    """Values that need no escaping are put into a ready JSON frame: the text is the general path's."""
    plan = plan_columns(["Телефон", *keys], 1, "additional")
    assert plan is not None
    interpreter = RowInterpreter(plan, ZoneResolver(None))
    row = ["89130123456", *cells]
    row += [""] * (plan.width - len(row))
    pairs = [(key, unescape_formula(row[index])) for key, index in plan.extra]
    pairs += [(f"column{index + 1}", unescape_formula(row[index])) for index in range(plan.width, len(row))
              if row[index]]
    text = interpreter._extra_json(row)
    assert text == extra_json(pairs)
    assert json.loads(text) == {key.replace("\x00", ""): value.replace("\x00", "") for key, value in pairs}


def test_a_repaired_row_goes_on_with_a_note(registry: Registry) -> None:
    plan = plan_columns(HEADER, 1, "additional")
    assert plan is not None
    contacts: list[ContactRow] = []
    rejects: list[Reject] = []
    problem = RowProblem(1, RejectReason.QUOTE_REPAIRED, "unclosed quote: ...")
    total = RowInterpreter(plan, ZoneResolver(registry)).interpret(
        7, ["89130123456", "Иванов", "D-1", "", "", "bad"], False, contacts, rejects, problem
    )
    assert total == 2
    assert [(c.phone, c.name) for c in contacts] == [("+79130123456", "Иванов")]
    assert [(r.row, r.column, r.value, r.reason) for r in rejects] == [
        (7, "Телефон 2", "bad", RejectReason.INVALID_NUMBER),
        (7, "ФИО", "Иванов", RejectReason.QUOTE_REPAIRED),
    ]
    assert rejects[1].message == "unclosed quote: ..."
    assert RejectReason.QUOTE_REPAIRED.is_note and not RejectReason.QUOTE_REPAIRED.is_invalid


def test_a_row_with_a_too_long_quoted_cell_is_rejected(registry: Registry) -> None:
    plan = plan_columns(HEADER, 1, "additional")
    assert plan is not None
    contacts: list[ContactRow] = []
    rejects: list[Reject] = []
    problem = RowProblem(3, RejectReason.QUOTED_CELL_TOO_LONG, "a quoted cell runs on ...")
    interpreter = RowInterpreter(plan, ZoneResolver(registry))
    total = interpreter.interpret(5, ["89130123456; 89130123457", "", "", "x"], False, contacts, rejects, problem)
    assert (total, contacts) == (2, [])
    assert [(r.value, r.reason) for r in rejects] == [
        ("89130123456", RejectReason.QUOTED_CELL_TOO_LONG),
        ("89130123457", RejectReason.QUOTED_CELL_TOO_LONG),
    ]
    rejects.clear()
    assert interpreter.interpret(6, ["", "", "", "x"], False, contacts, rejects, problem) == 1
    assert [(r.column, r.value, r.reason) for r in rejects] == [("Сумма", "", RejectReason.QUOTED_CELL_TOO_LONG)]
    assert RejectReason.QUOTED_CELL_TOO_LONG.is_invalid


AREA_HEADER = ["ФИО", "Код города", "Телефон", "Код"]


@pytest.mark.parametrize(("code", "phone", "expected"), [
    ("495", "123-45-67", "+74951234567"),
    ("(8452)", "23-45-67", "+78452234567"),
    ("+7 3812", "123456", "+73812123456"),
    ("495", "89131234567", "+79131234567"),  # a whole number keeps its own code
    ("495", "+7 913 123 45 68", "+79131234568"),
    ("", "89131234569", "+79131234569"),
])
def test_a_local_number_is_read_with_the_rows_area_code(registry: Registry, code: str, phone: str,
                                                        expected: str) -> None:
    total, contacts, rejects = interpret(registry, ["Иванов", code, phone, "000123"], AREA_HEADER)
    assert (total, rejects) == (1, [])
    [contact] = contacts
    assert (contact.phone, contact.raw) == (expected, phone)
    assert json.loads(contact.extra_json) == {"Код города": code, "Код": "000123"}


@pytest.mark.parametrize(("code", "phone"), [("3812", "1234"), ("", "123-45-67"), ("495", "+1234567")])
def test_a_local_number_without_a_usable_area_code_is_rejected_as_written(registry: Registry, code: str,
                                                                         phone: str) -> None:
    total, contacts, rejects = interpret(registry, ["Иванов", code, phone, "000123"], AREA_HEADER)
    assert (total, contacts) == (1, [])
    [reject] = rejects
    assert (reject.column, reject.value, reject.reason) == ("Телефон", phone, RejectReason.INVALID_NUMBER)
