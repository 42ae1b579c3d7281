"""Phone number checks: a cheap E.164 shape test for the hot path, full normalization for user input."""

from __future__ import annotations

import phonenumbers

from compliance.errors import InvalidPhoneError


def is_e164(value: str) -> bool:
    """`+` then 8 to 15 ASCII digits, the first not 0 (ITU-T E.164); no libphonenumber parse."""
    digits = value[1:]
    return value[:1] == "+" and 8 <= len(digits) <= 15 and digits.isascii() and digits.isdigit() and digits[0] != "0"


def normalize_phone(text: str, default_region: str = "RU") -> str:
    """E.164 form of a number typed by a person (`8 (913) 123-45-67`, `+7 913 1234567`, `9131234567`).

    Raises `InvalidPhoneError` when it is not a possible number of its country.
    """
    value = text.strip()
    if not value:
        raise InvalidPhoneError("empty phone number")
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneError(f"{text!r} is not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneError(f"{text!r} is not a possible phone number (wrong length for its country)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
