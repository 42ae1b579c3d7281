"""Which column is what, by header name: Russian and English aliases, case-insensitive.

Phone columns are required (one or more: `phone`, `phone2`, `Телефон 2`...). Time zone, region and
address are optional hints for compliance; name is the contact's name; the subscriber column (the
campaign's `subscriber_column`, default `additional`) keys the caps. Every column that is not a phone,
hint or name column, the subscriber column included, is kept in the contact's extra parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s_\-.#№:]+")
_SUFFIX = r"(?: ?\d{1,2})?"


def header_key(text: str) -> str:
    """A header as compared: lower case, `ё` as `е`, runs of spaces/underscores/dashes as one space."""
    return _SEPARATORS.sub(" ", text.replace("\ufeff", "").lower().replace("ё", "е")).strip()


def _aliases(*names: str) -> frozenset[str]:
    return frozenset(header_key(name) for name in names)


PHONE_ALIASES = _aliases(
    "phone", "phones", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell", "number",
    "msisdn", "телефон", "телефоны", "номер", "номер телефона", "телефонный номер", "мобильный",
    "мобильный телефон", "сотовый", "сотовый телефон", "доп телефон", "дополнительный телефон",
)  # fmt: skip
TIMEZONE_ALIASES = _aliases(
    "timezone", "time zone", "tz", "utc offset", "часовой пояс", "пояс", "таймзона", "тайм зона",
)  # fmt: skip
REGION_ALIASES = _aliases("region", "регион", "область", "субъект", "субъект рф", "регион рф")
ADDRESS_ALIASES = _aliases("address", "адрес", "адрес регистрации", "адрес проживания", "город", "city")
NAME_ALIASES = _aliases("name", "full name", "fio", "фио", "имя", "клиент", "client", "customer")
_PHONE = re.compile(
    "^(?:" + "|".join(re.escape(alias) for alias in sorted(PHONE_ALIASES, key=len, reverse=True)) + ")"
    + _SUFFIX + "$"
)  # fmt: skip


def is_phone_header(text: str) -> bool:
    return _PHONE.match(header_key(text)) is not None


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Indexes (0-based) of each role in a row; `extra` pairs a JSON key with its column."""

    header_row: int
    headers: tuple[str, ...]
    phones: tuple[int, ...]
    timezone: int | None
    region: int | None
    address: int | None
    name: int | None
    subscriber: int | None
    extra: tuple[tuple[str, int], ...]

    @property
    def width(self) -> int:
        return len(self.headers)

    def header(self, index: int) -> str:
        return self.headers[index] if index < len(self.headers) else f"column{index + 1}"


def _display_names(header: list[str]) -> list[str]:
    """Extra-parameter keys: the header as written, `columnN` when blank, `name (2)` when repeated."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.replace("\ufeff", "").strip() or f"column{index + 1}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        names.append(name if count == 1 else f"{name} ({count})")
    return names


def plan_columns(header: list[str], header_row: int, subscriber_column: str) -> ColumnPlan | None:
    """The plan for a header row, or None when it has no phone column."""
    names = _display_names(header)
    keys = [header_key(text) for text in header]
    phones = tuple(i for i, key in enumerate(keys) if _PHONE.match(key))
    if not phones:
        return None
    wanted = header_key(subscriber_column)
    subscriber = next((i for i, key in enumerate(keys) if key == wanted and i not in phones), None)
    singles: dict[str, int | None] = {"timezone": None, "region": None, "address": None, "name": None}
    for role, aliases in (
        ("timezone", TIMEZONE_ALIASES),
        ("region", REGION_ALIASES),
        ("address", ADDRESS_ALIASES),
        ("name", NAME_ALIASES),
    ):
        singles[role] = next(
            (i for i, key in enumerate(keys) if key in aliases and i not in phones and i != subscriber), None
        )
    taken = set(phones) | {i for i in singles.values() if i is not None}
    extra = tuple((names[i], i) for i in range(len(header)) if i not in taken)
    return ColumnPlan(
        header_row=header_row,
        headers=tuple(names),
        phones=phones,
        timezone=singles["timezone"],
        region=singles["region"],
        address=singles["address"],
        name=singles["name"],
        subscriber=subscriber,
        extra=extra,
    )
