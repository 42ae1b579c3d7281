"""Phone number checks: a cheap E.164 shape test for the hot path, full normalization for user input."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import phonenumbers
from phonenumbers import NumberParseException

from compliance.errors import InvalidPhoneError

if TYPE_CHECKING:
    from compliance.registry import Registry

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


# What spreadsheets make of a long number stored as a number: "79131234567.0", "7.9131234567E+10",
# with a decimal comma in a Russian locale ("79131234567,0", "7,9131234567E+10").
_FLOAT_TAIL = re.compile(r"(\+?\d+)[.,]0+")
_SCIENTIFIC = re.compile(r"(\d)(?:[.,](\d*))?[eE]\+?(\d{1,2})")
# Words or notes after the number ("89131234567 (Иван)", "+7 913 123 45 67 моб"): libphonenumber
# takes text before a number and extensions after it, but no other text after it.
_TRAILING_TEXT = re.compile(r"(?<=\d)\D*$")
# An extension libphonenumber does not know by its word ("добавочный 123", "внутренний 12"): dropped,
# as libphonenumber drops the extensions it knows from the E.164 number.
_EXTENSION = re.compile(r"[\s,;]*(?:добавочный|внутренний|внутр|вн)\.?\s*:?\s*\d{1,6}\s*$", re.IGNORECASE)
# A note in brackets with a word in it ("+7 913 123 45 67 (звонить после 18)"): its digits are not
# the number's. Brackets without letters are part of the number ("8 (913) 123-45-67"), and a note
# with as many digits as a number may hold one ("(жена 8 914 123 45 67)"): that is refused, not cut.
_NOTE = re.compile(r"\s*\([^()]*[^\W\d_][^()]*\)")
_NOTE_MAX_DIGITS = 6
# "+8 913 ...": a Russian number written with its trunk prefix 8 after a "+". +89 is no country code
# (ITU-T E.164 leaves 89x unassigned), so "+89" and nine more digits can only be a Russian mobile,
# whatever the default region.
_PLUS_TRUNK_PREFIX = re.compile(r"\+\s*(8[\s()\-]*9[\d\s()\-]*)")


# Typographic spaces (no-break, thin, figure...: text copied from documents and web pages), read as
# spaces, which libphonenumber takes between digit groups.
TYPOGRAPHIC_SPACES = "\u00a0" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
_SPACES = str.maketrans(dict.fromkeys(TYPOGRAPHIC_SPACES, " "))


def spreadsheet_number(value: str) -> str:
    """The digits of a number a spreadsheet wrote as a float, else `value` unchanged.

    Raises `InvalidPhoneError` for a number in scientific notation that lost digits (`7.91312E+10`,
    Excel's display of 79131234567 in a narrow General column): guessing them would dial a stranger.
    """
    if (tail := _FLOAT_TAIL.fullmatch(value)) is not None:
        return tail.group(1)
    if (scientific := _SCIENTIFIC.fullmatch(value)) is not None:
        lead, fraction, exponent = scientific.group(1), scientific.group(2) or "", int(scientific.group(3))
        if len(lead + fraction) != exponent + 1:
            raise InvalidPhoneError(
                f"{value!r} is a number in scientific notation: its digits are lost",
                "scientific notation, digits lost (store the column as text)",
            )
        return lead + fraction
    return value


def is_e164(value: str) -> bool:
    """`+` then 6 to 15 ASCII digits, the first not 0 (ITU-T E.164); no libphonenumber parse.

    E.164 sets no minimum; the shortest numbers libphonenumber holds valid have 6 digits with their
    country code (Austrian fixed lines such as +43 1119), whole countries have 7 (Niue +683 XXXX).
    """
    digits = value[1:]
    return value[:1] == "+" and 6 <= len(digits) <= 15 and digits.isascii() and digits.isdigit() and digits[0] != "0"


def normalize_phone(
    text: str, default_region: str = "RU", registry: Registry | None = None, *, strict: bool = True
) -> str:
    """E.164 form of a number typed by a person (`8 (913) 123-45-67`, `+7 913 1234567`, `9131234567`).

    The number must be valid for its country by libphonenumber's metadata (`+70001234567` is not, nor
    `8913123456`, a digit short), or, for +7, lie in a range of `registry`: the numbering registry
    allocates new ranges before libphonenumber knows them. `strict=False` accepts any number of a
    possible length, for looking up numbers already stored. The list importer uses this function for
    every number outside its fast path for Russian mobiles (`dialer.lists.phones`).

    Raises `InvalidPhoneError`; its `reason` says why without repeating the number.
    """
    value = spreadsheet_number(text.translate(_SPACES).strip())
    if not value:
        raise InvalidPhoneError("empty phone number", "not a phone number")
    if value.startswith("00"):
        # `00`, the international prefix of most countries, as `+` (a national number never starts
        # with 0 in Russia, whose own prefix, 810, libphonenumber knows for the RU region).
        value = "+" + value[2:]
    elif (mobile := _PLUS_TRUNK_PREFIX.match(value)) is not None and _digit_count(mobile.group(1)) == 11:
        value = "+7" + value[mobile.start(1) + 1:]
    try:
        number = _parse(value, default_region)
    except NumberParseException as exc:
        raise InvalidPhoneError(
            f"{text!r} is not a phone number: {exc}", _PARSE_REASONS.get(exc.error_type, "not a phone number")
        ) from exc
    country = number.country_code
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneError(
            f"{text!r} is not a possible phone number (wrong length for country code +{country})",
            f"wrong length for a number of country code +{country}",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if strict and not phonenumbers.is_valid_number(number) and not _in_registry(e164, registry):
        raise InvalidPhoneError(
            f"{text!r} is not a valid phone number: no such number range for country code +{country}",
            f"not a valid number of country code +{country}",
        )
    return e164


def _digit_count(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _without_short_note(note: re.Match[str]) -> str:
    return "" if _digit_count(note.group()) <= _NOTE_MAX_DIGITS else note.group()


def _parse(value: str, default_region: str) -> phonenumbers.PhoneNumber:
    """libphonenumber's parse, again without notes in brackets and the text after the last digit if
    that text was the trouble."""
    try:
        return phonenumbers.parse(value, default_region)
    except NumberParseException as exc:
        trimmed = _TRAILING_TEXT.sub("", _EXTENSION.sub("", _NOTE.sub(_without_short_note, value)))
        if exc.error_type not in (NumberParseException.NOT_A_NUMBER, NumberParseException.TOO_LONG) or (
            trimmed == value
        ):
            raise
        return phonenumbers.parse(trimmed, default_region)


def _in_registry(e164: str, registry: Registry | None) -> bool:
    """A +7 number in an allocated range: valid though libphonenumber's metadata may not know it yet."""
    return registry is not None and e164.startswith("+7") and registry.lookup(e164) is not None
