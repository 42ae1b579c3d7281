"""Phone normalization: the fast path for Russian mobiles agrees with libphonenumber; the rest is parsed."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import Registry
from dialer.lists.columns import plan_columns
from dialer.lists.model import ContactRow, Reject, RejectReason
from dialer.lists.phones import (
    _SEPARATORS,
    PhoneError,
    _digits,
    _fast_russian_mobile,
    _slow,
    normalize,
    split_cell,
)
from dialer.lists.rows import RowInterpreter
from dialer.lists.timezones import ZoneResolver


@pytest.mark.parametrize(
    "raw",
    [
        "8 (913) 123-45-67",
        "8-913-123-45-67",
        "89131234567",
        "79131234567",
        "+79131234567",
        "+7 913 123 45 67",
        "+7 (913) 123-45-67",
        "9131234567",
        "913 123 45 67",
        " 8\u00a0913\u00a0123\u00a045\u00a067 ",
        "8\u2009913\u2009123\u200945\u200967",  # thin spaces (copied from a document)
        "8\u2007913\u2007123\u20074567",  # figure spaces
        "+7\u202f913\u3000123 45 67",
    ],
)
def test_russian_mobile_spellings(raw: str) -> None:
    assert normalize(raw) == "+79131234567"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 212 555 0100", "+12125550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+380 50 123 4567", "+380501234567"),
        ("8 (495) 123-45-67", "+74951234567"),  # Moscow fixed line
        ("8 800 555-35-35", "+78005553535"),
        ("810 380 50 123 4567", "+380501234567"),  # Russian international prefix
        ("00380501234568", "+380501234568"),  # the international prefix of most countries
        ("00 44 20 7946 0958", "+442079460958"),
        ("0079131234567", "+79131234567"),
        ("00 7 (495) 123-45-67", "+74951234567"),
        ("+7 701 123 4567", "+77011234567"),  # Kazakhstan shares +7
        ("89371234567", "+79371234567"),  # 93X block
        ("8.913.123.45.67", "+79131234567"),
        ("+1 212.555.0100", "+12125550100"),
        ("+81312345678", "+81312345678"),  # Japan: a "+8" of a real country code is left alone
        ("+86 10 1234 5678", "+861012345678"),
    ],
)
def test_other_numbers_through_libphonenumber(raw: str, e164: str) -> None:
    assert normalize(raw) == e164


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "12", "8913123456", "891312345678", "+7 913 123", "+999 1234567", "=HYPERLINK(1)", "+79300001234",
     "00", "000380501234568", "0038050",
     "+8 3852 123456",  # only a mobile (+89...) is read as Russian: a landline could be another country's
     "+8 9131234567 8", "89131234567 89131234568", "+7 (9l3) 123-45-67",
     "+7 913 123 45 67 (жена 8 914 123 45 67)"],  # a note that may hold a number is not cut off
)  # fmt: skip
def test_invalid_values_say_why(raw: str) -> None:
    result = normalize(raw)
    assert isinstance(result, PhoneError), result
    assert result.message


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("79131234567.0", "+79131234567"),  # a CSV written from a float column
        ("+79131234567.00", "+79131234567"),
        ("7.9131234567E+10", "+79131234567"),  # scientific notation with every digit
        ("79131234567,0", "+79131234567"),  # the same with a decimal comma (a Russian locale)
        ("7,9131234567e10", "+79131234567"),  # and with a decimal comma
        ("89131234567 (Иван)", "+79131234567"),  # notes after the number
        ("+7 913 123 45 67 моб", "+79131234567"),
        ("+7 913 123-45-67 (моб.)", "+79131234567"),
        ("+7 (913) 123-45-67 доб. 12", "+79131234567"),  # an extension is not part of the number
        ("+7 (913) 123-45-67 добавочный 123", "+79131234567"),
        ("8 (495) 123-45-67 внутренний 1234", "+74951234567"),
        ("8 913 123 45 67 вн. 12", "+79131234567"),
        ("+7 913 123 45 67 (звонить после 18)", "+79131234567"),  # a note in brackets, digits in it
        ("8 (913) 123-45-67 (жена, после 18:00)", "+79131234567"),
        ("+89131234567", "+79131234567"),  # the trunk prefix 8 after a "+": +89 is no country code
        ("+8 (913) 123-45-67", "+79131234567"),
        ("+8 913 123 45 67 доб 12", "+79131234567"),
    ],
)
def test_what_spreadsheets_and_crms_add_around_a_number(raw: str, e164: str) -> None:
    assert normalize(raw) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("7.91312E+10", "scientific notation, digits lost (store the column as text)"),  # Excel's display
        ("7,91312E+10", "scientific notation, digits lost (store the column as text)"),
        ("7.913123456789E+10", "scientific notation, digits lost (store the column as text)"),  # not whole
        ("8913123456.0", "not a valid number of country code +7"),  # a digit short, the dot not a digit
    ],
)
def test_float_artefacts_never_make_up_digits(raw: str, reason: str) -> None:
    assert normalize(raw) == PhoneError(reason)


def test_a_registry_range_unknown_to_libphonenumber_is_valid(registry: Registry) -> None:
    """The registry allocates ranges (here +7 930 000-xx-xx, Moscow) before libphonenumber's metadata has them."""
    assert isinstance(normalize("8 930 000-00-00"), PhoneError)
    assert normalize("8 930 000-00-00", registry=registry) == "+79300000000"
    assert normalize("+7 930 000 00 00", registry=registry) == "+79300000000"
    result = normalize("+70001234567", registry=registry)
    assert isinstance(result, PhoneError)
    assert result.message == "not a valid number of country code +7"


def test_the_importer_passes_its_registry_to_normalization(registry: Registry) -> None:
    plan = plan_columns(["Телефон"], 1, "additional")
    assert plan is not None
    contacts: list[ContactRow] = []
    rejects: list[Reject] = []
    interpreter = RowInterpreter(plan, ZoneResolver(registry))
    for row, cell in enumerate(["89300000000", "+70001234567"], start=2):
        interpreter.interpret(row, [cell], False, contacts, rejects)
    assert [(c.phone, c.zone.source.value) for c in contacts] == [("+79300000000", "registry")]
    assert [(r.value, r.reason) for r in rejects] == [("+70001234567", RejectReason.INVALID_NUMBER)]


@given(st.integers(min_value=9_000_000_000, max_value=9_999_999_999), st.sampled_from(["8", "7", "+7", ""]))
def test_fast_path_agrees_with_libphonenumber(national: int, prefix: str) -> None:
    digits = f"{prefix.lstrip('+')}{national}"
    fast = _fast_russian_mobile(digits, prefix.startswith("+"))
    if fast is not None:
        number = phonenumbers.parse(prefix + str(national), "RU")
        assert phonenumbers.is_valid_number(number)
        assert fast == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        assert fast == _slow(prefix + str(national), "RU")


@given(st.text(alphabet=st.sampled_from([*"0123456789+x", *" -().\u00a0\u2009\u2011\u2012\u2013\u2014\u202f\t/",
                                         "٣", "²"])))
def test_separators_go_as_with_translate(text: str) -> None:
    digits = text.translate(_SEPARATORS)
    assert _digits(text) == (digits if digits.isascii() and digits.isdigit() else None)


@pytest.mark.parametrize(
    "raw",
    [
        "8 (913) 123-45-67", "8-913-123-45-67", "89131234567", "79131234567", "+79131234567", "+7 913 123 45 67",
        "+7 (913) 123-45-67", "9131234567", "913 123 45 67", "8 913 123.45.67", "8\u00a0913\u00a0123\u00a045\u00a067",
        "+7(913)1234567", "8 (930) 000-00-00", "89301234567", "+79300001234", "9301234567", "8 (495) 123-45-67",
        "84951234567", "4951234567", "8 800 555-35-35", "+7 701 123 4567", "87011234567", "+1 212 555 0100",
        "+44 20 7946 0958", "810 380 50 123 4567", "00380501234568", "0079131234567", "+8 913 123 45 67",
        "7 913 123 45 67 8", "8913123456", "891312345678", "+7 913 123", "+89131234567", "++79131234567",
        "8 (913) 123-45-6x", "913-123-45-67-", "(913) 1234567", "8913١234567", "", "-", "+", "()",
        "+49\u200930\u2009123456", "8\u2009913\u2009123\u200945\u200967",
    ],
)  # fmt: skip
def test_normalize_agrees_with_the_general_path(raw: str, registry: Registry) -> None:
    """Whatever the fast path takes, libphonenumber (with the registry) reads the same way."""
    assert normalize(raw, registry=registry) == _slow(raw.strip(), "RU", registry)


_SPELLINGS = ["8{}", "7{}", "+7{}", "{}", "8 ({}) {}-{}-{}", "+7 {} {} {} {}", "8-{}-{}-{}-{}", "{} {} {} {}"]


def _spelled(national: str, spelling: str) -> str:
    return spelling.format(national[:3], national[3:6], national[6:8], national[8:])


@given(st.integers(min_value=9_300_000_000, max_value=9_309_999_999), st.sampled_from(_SPELLINGS))
def test_the_930_block_in_the_registry_agrees_with_the_general_path(
    registry: Registry, national: int, spelling: str
) -> None:
    raw = _spelled(str(national), spelling)
    assert normalize(raw, registry=registry) == _slow(raw, "RU", registry)
    assert normalize(raw) == _slow(raw, "RU", None)


def test_the_930_ranges_of_the_registry_at_their_ends(registry: Registry) -> None:
    ends = [n for e in registry if str(e.start).startswith("7930") for n in (e.start - 1, e.start, e.end, e.end + 1)]
    assert len(ends) > 100
    for number in ends:
        for spelling in _SPELLINGS:
            raw = _spelled(str(number)[1:], spelling)
            assert normalize(raw, registry=registry) == _slow(raw, "RU", registry), raw
            if str(number).startswith("7930"):
                # Read in another region, a national spelling is another number: the registry is not asked.
                assert normalize(raw, "US", registry) == _slow(raw, "US", registry), raw


@pytest.mark.parametrize(
    ("cell", "parts"),
    [
        ("89131234567", ["89131234567"]),
        ("  ", []),
        ("89131234567; 89141234567", ["89131234567", "89141234567"]),
        ("+79131234567,+79141234567,", ["+79131234567", "+79141234567"]),
        ("8 (913) 123-45-67\n8 (914) 123-45-67", ["8 (913) 123-45-67", "8 (914) 123-45-67"]),
        ("+79131234567 / 8 914 123-45-67", ["+79131234567", "8 914 123-45-67"]),
        ("89131234567/+79141234567", ["89131234567", "+79141234567"]),
        ("8/913/123-45-67", ["8/913/123-45-67"]),  # a slash inside one number
        ("89131234567 | 89141234567", ["89131234567", "89141234567"]),
        ("+7 913 123-45-67 ::: +7 914 123-45-67", ["+7 913 123-45-67", "+7 914 123-45-67"]),  # Google Contacts
        # A spreadsheet's number with a decimal comma (Russian locale) is one value, not two.
        ("7,91312E+10", ["7,91312E+10"]),
        (" 7,9131234567e+10 ", ["7,9131234567e+10"]),
        ("79131234567,0", ["79131234567,0"]),
        ("79131234567,00", ["79131234567,00"]),
        ("79131234567,79141234567", ["79131234567", "79141234567"]),
        ("89131234567 или 89141234567", ["89131234567", "89141234567"]),  # a word between numbers
        ("8 913 123 45 67 и +7 914 123 45 67", ["8 913 123 45 67", "+7 914 123 45 67"]),
        ("89131234567 OR 89141234567", ["89131234567", "89141234567"]),
        ("89131234567 (Иван и Мария)", ["89131234567 (Иван и Мария)"]),  # a word, not between numbers
        ("8 913 1234567, доб. 5", ["8 913 1234567 доб. 5"]),  # an extension stays with its number
        ("8 913 1234567, ext 12; 89141234567", ["8 913 1234567 ext 12", "89141234567"]),
        # Spaces alone between numbers: before a `+`, or between numbers written whole.
        ("+79131234567 +79141234567", ["+79131234567", "+79141234567"]),
        ("+7 913 123 45 67  +7 914 123 45 67", ["+7 913 123 45 67", "+7 914 123 45 67"]),
        ("89131234567 89141234567", ["89131234567", "89141234567"]),
        ("89131234567 79141234567 +375291234567", ["89131234567", "79141234567", "+375291234567"]),
        # Ten digits could be an id (an INN) as well as a number: the cell is one value, refused whole.
        ("89131234567 7701234567", ["89131234567 7701234567"]),
        ("89131234567 891412345670", ["89131234567 891412345670"]),
        ("8 913 123 45 67 (Иван) +7 914 123 45 67", ["8 913 123 45 67 (Иван)", "+7 914 123 45 67"]),
        # One number with spaces, however long.
        ("+7 (913) 123-45-67 доб. 123", ["+7 (913) 123-45-67 доб. 123"]),
        ("8 913 123 45 67 8 914", ["8 913 123 45 67 8 914"]),
        ("+7 913 + 1234567", ["+7 913 + 1234567"]),
    ],
)
def test_split_cell(cell: str, parts: list[str]) -> None:
    assert split_cell(cell) == parts


def test_plus_trunk_prefix_is_russian_in_any_region() -> None:
    """+89 is no country code: "+8 913 ..." is a Russian mobile whatever region national numbers are read in."""
    assert normalize("+8 (913) 123-45-67", "US") == "+79131234567"
    assert normalize("+89131234567 доб. 5", "DE") == "+79131234567"
