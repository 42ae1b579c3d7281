"""Phone cells to E.164: a fast path for Russian mobile formats, libphonenumber for everything else.

Accepted without a `+`: `8 (913) 123-45-67`, `8-913-123-45-67`, `79131234567`, `9131234567` (national
formats of the default region, RU). Any number with a leading `+` (or an international prefix such as
`810`/`00`) is parsed for its own country. A number must be valid for its country (libphonenumber
metadata), not merely of a plausible length, or be a +7 number in a range of the loaded numbering
registry; that rule is `compliance.normalize_phone`'s, which takes every number off the fast path
(on it, a number of the 930 block needs the registry: see `_fast_russian_mobile`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance import InvalidPhoneError, Registry, normalize_phone
from compliance.phones import TYPOGRAPHIC_SPACES

DEFAULT_REGION = "RU"

# Separators people type inside a number; stripping them leaves bare digits in the common case.
_SEPARATORS = str.maketrans("", "", " -().\u2010\u2011\u2012\u2013\u2014\t/" + TYPOGRAPHIC_SPACES)
_MULTI_SPLIT = re.compile(r"[;,\n|]|:::")  # `:::` between the values of a Google Contacts export
# A slash between numbers ("+79131234567 / +79131234568"), not inside one ("8/913/123-45-67").
_SLASH_SPLIT = re.compile(r"\s+/\s+|(?<=\d)/(?=\s*\+)")
# A spreadsheet's number written with a decimal comma (a Russian locale's CSV): "79131234567,0", or
# scientific notation "7,91312E+10". One value, not two numbers separated by a comma.
_DECIMAL_COMMA = re.compile(r"\s*\+?\d+,(?:00?|\d+[eE][+-]?\d+)\s*")
# A `+` after a space that follows a digit or a closing bracket starts another number
# ("+7 913 123 45 67 +7 914 123 45 67", "8 913 123 45 67 (Иван) +7 914 123 45 67").
_PLUS_SPLIT = re.compile(r"(?<=[\d)])\s+(?=\+\d)")
# Numbers written whole with spaces between them: "89131234567 79141234567", "+79131234567 +375291234567".
# Ten bare digits are not enough (`89131234567 7701234567`: an INN after a number, not a number).
_WHOLE_NUMBER = re.compile(r"[78]\d{10}|\+\d{10,15}")
# A word between two numbers ("89131234567 или 89131234568"); never part of a number.
_WORD_SPLIT = re.compile(r"(?<=\d)\s+(?:или|и|or|and)\s+(?=[+\d(])", re.IGNORECASE)
# An extension on its own, split off its number by a comma ("доб. 5", "ext 12").
_EXTENSION = re.compile(r"(?:доб|добавочный|вн|внутр|ext|extension|x)\.?\s*:?\s*\d{1,6}", re.IGNORECASE)


# What CRM exports and people write in a phone cell that holds no number (compared case-folded, with
# spaces collapsed and a final dot dropped): the cell is empty, not an invalid number.
_PLACEHOLDERS = frozenset({
    "нет", "нету", "нет номера", "нет телефона", "не указан", "не указано", "не указана", "неизвестно",
    "неизв", "отсутствует", "н/д", "нд", "н/а", "#н/д", "n/a", "na", "#n/a", "none", "null", "nil", "nan",
    "no", "unknown", "not available",
})


def is_placeholder(value: str) -> bool:
    """Whether a phone value only says that there is no number: `-`, `—`, `нет`, `n/a`, `0`, `null`..."""
    text = " ".join(value.casefold().split()).removesuffix(".")
    if not any(ch.isalnum() for ch in text) or text.strip("0") == "":
        return True
    return text in _PLACEHOLDERS


@dataclass(frozen=True, slots=True)
class PhoneError:
    """Why a phone value is not a valid number, for the reject report."""

    message: str


def may_hold_several(value: str) -> bool:
    """Whether a cell may hold several numbers (a cheap test before `split_cell`)."""
    if ";" in value or "," in value or "\n" in value or "|" in value or "/" in value or ":::" in value:
        return True
    if " " in value and (" +" in value or len(value) >= 21):
        return True
    # The first letters of the separating words, after a space: a cheap filter before the pattern.
    starts = " и" in value or " И" in value or " o" in value or " O" in value or " a" in value or " A" in value
    return starts and _WORD_SPLIT.search(value) is not None


def split_cell(value: str) -> list[str]:
    """The numbers of one cell: several may be separated by `;`, `,`, `|`, `:::`, line breaks, a slash with
    spaces around it or a `+` after it, a word (`или`, `и`, `or`, `and`), or spaces alone where a `+`
    follows a digit or every piece is a whole number (`89131234567 79141234567`, not ten digits alone).
    A spreadsheet number with a decimal comma is one value; an extension after a comma
    (`8 913 1234567, доб. 5`) stays with its number."""
    if not may_hold_several(value):
        value = value.strip()
        return [value] if value else []
    if _DECIMAL_COMMA.fullmatch(value):
        return [value.strip()]
    parts: list[str] = []
    for part in _MULTI_SPLIT.split(value):
        for piece in _SLASH_SPLIT.split(part):
            for word in _WORD_SPLIT.split(piece):
                if not (word := word.strip()):
                    continue
                if parts and _EXTENSION.fullmatch(word):
                    parts[-1] = f"{parts[-1]} {word}"
                else:
                    parts.extend(_spaced(word))
    return parts


def _spaced(value: str) -> list[str]:
    """The numbers of a value whose only separators between numbers are spaces."""
    numbers: list[str] = []
    for piece in _PLUS_SPLIT.split(value):
        words = piece.split()
        numbers.extend(words if len(words) > 1 and all(_WHOLE_NUMBER.fullmatch(w) for w in words) else [piece])
    return numbers


def _fast_russian_mobile(digits: str, plus: bool, registry: Registry | None = None) -> str | None:
    """E.164 for the common Russian mobile spellings, or None to take the slow path.

    Russian mobile numbers are 9XX XXX-XX-XX. libphonenumber's RU mobile pattern accepts every such
    number except in the 930 block, which has holes: a 930 number is taken here only when it lies in
    a range of `registry` (which makes it valid, see `compliance.normalize_phone`), else goes the slow path.
    """
    n = len(digits)
    if n == 11:
        if digits[1] != "9":
            return None
        if plus:
            e164 = "+" + digits if digits[0] == "7" else None
        else:
            # Trunk prefix 8 (or the country code 7 typed without +).
            e164 = "+7" + digits[1:] if digits[0] in "78" else None
    elif n == 10 and not plus and digits[0] == "9":
        e164 = "+7" + digits
    else:
        return None
    if e164 is not None and e164.startswith("+7930"):
        return e164 if registry is not None and registry.lookup(e164) is not None else None
    return e164


def _digits(text: str) -> str | None:
    """`text` without separators when ASCII digits are left, else None.

    str.replace for the usual separators costs far less than str.translate, which takes the rest.
    """
    if not text.isdigit():
        text = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
        if not text.isdigit():
            text = text.translate(_SEPARATORS)
            if not text.isdigit():
                return None
    return text if text.isascii() else None


def written_as_number(value: str) -> bool:
    """Whether a cell holds only numbers (split as `split_cell` splits them, with the separators the
    fast path drops), six digits or more in all: not a word, a title or a row number."""
    digits = [_digits(part.removeprefix("+")) for part in split_cell(value)]
    return all(d is not None for d in digits) and sum(len(d or "") for d in digits) >= 6


def normalize(value: str, region: str = DEFAULT_REGION, registry: Registry | None = None) -> str | PhoneError:
    """The E.164 form of one phone value, or why it is not a valid number (see `compliance.normalize_phone`)."""
    stripped = value.strip()
    plus = stripped[:1] == "+"
    # A dot or an E may be a spreadsheet's float ("79131234567.0"): not a separator to drop here.
    float_like = "." in stripped or "E" in stripped or "e" in stripped
    digits = None if float_like else _digits(stripped[1:] if plus else stripped)
    if digits is not None:
        # The registry vouches for national spellings only as read in the default region.
        fast = _fast_russian_mobile(digits, plus, registry if region == DEFAULT_REGION else None)
        if fast is not None:
            return fast
    return _slow(stripped, region, registry)


def _slow(value: str, region: str, registry: Registry | None = None) -> str | PhoneError:
    try:
        return normalize_phone(value, region, registry)
    except InvalidPhoneError as exc:
        return PhoneError(exc.reason)
