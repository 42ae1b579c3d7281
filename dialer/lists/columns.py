"""Which column is what, by header name: Russian and English aliases, case-insensitive.

Phone columns are required (one or more: `phone`, `phone2`, `Телефон 2`...). Time zone, region and
address are optional hints for compliance; name is the contact's name; the subscriber column (the
campaign's `subscriber_column`, default `additional`) keys the caps; where it is absent or empty, the
row's first valid number does, for every number of the row. Every column that is not a phone,
hint or name column, the subscriber column included, is kept in the contact's extra parameters.

A phone's area code may have a column of its own (`Код города`): it is put before a phone value of the
row that is no whole number by itself (see `AREA_CODE_ALIASES`).

Headers are compared without case, spaces or punctuation, with `ё` as `е`: `Ф.И.О.`, `ФИО` and `ф и о`
are one header, as are `Моб. телефон`, `моб.телефон` and `МОБ ТЕЛЕФОН`.

Which headers are phone columns (every one of them is dialled, as numbers of the row's subscriber):
the whole header must be a phone word (`телефон`, `тел`, `номер телефона`, `phone`, `tel`, `phone
number`, `msisdn`, ...) or a word that alone means the subscriber's phone (`мобильный`, `сотовый`,
`абонентский номер`, `номер абонента`, `mobile`, `cell`, `номер`, `number`); optionally qualified by
the kind of line or its use before or after it (`контактный`, `рабочий`, `моб`, `доп`, `для связи`;
`mobile`, `work`, `home`, `contact`...) or by the subscriber it belongs to (`клиента`, `абонента`,
`должника`; `client`, `customer`); and optionally numbered (`Телефон 2`, `phone_3`, `Тел. №1`,
`Телефон 1 (основной)`; Google Contacts' `Phone 1 - Value`). A template's note on the format after it
(`Номер телефона (в формате 79XXXXXXXXX)`) is passed over. Bitrix24's, Outlook's and amoCRM's phone
columns are in that vocabulary (amoCRM's lead export: `Мобильный телефон (контакт)`, not `(компания)`,
the company's). Anything else is not a phone column, even with a phone word in it: `Телефон
оператора`, `Телефон менеджера`, `Мобильный оператор`, `operator`, `phone company`, `Номер договора`,
`Номер клиента` (an id, not a phone) stay extra parameters and are never dialled. The vocabulary is
closed on purpose: an unknown qualifier more often names someone else's phone (an operator's, a
manager's) or a different thing, and dialling the wrong column calls the wrong people, while a missed
phone column is reported at once (`no phone column`) or left in the extra parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s_\-.#№:]+")
_PUNCTUATION = re.compile(r"[\W_]+")


def header_key(text: str) -> str:
    """A header as compared: lower case, `ё` as `е`, runs of spaces/underscores/dashes as one space."""
    return _SEPARATORS.sub(" ", text.replace("\ufeff", "").lower().replace("ё", "е")).strip()


def alias_key(text: str) -> str:
    """A header as matched against the aliases: `header_key` without spaces or punctuation."""
    return _PUNCTUATION.sub("", header_key(text))


def _aliases(*names: str) -> frozenset[str]:
    return frozenset(alias_key(name) for name in names)


def _any(names: frozenset[str]) -> str:
    return "(?:" + "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)) + ")"


# The phone vocabulary (see the module docstring). Words for a phone line:
_PHONE_WORDS = _aliases(
    "телефон", "телефоны", "тел", "тлф", "номер телефона", "№ телефона", "номер тел", "телефонный номер",
    "номер мобильного телефона", "номер сотового телефона", "номер контактного телефона",
    "номер моб телефона", "номер сот телефона", "номер моб тел", "номер рабочего телефона",
    "номер домашнего телефона", "номер основного телефона", "номер дополнительного телефона",
    "номер доп телефона", "номер личного телефона", "номер городского телефона",
    "phone", "phones", "telephone", "tel", "phone number", "phone no", "tel no", "telephone number",
)  # fmt: skip
# Words that mean the subscriber's phone by themselves (`мобильный`, `номер`).
# `Абонентский номер` is the law's term for a phone number (FZ-126 "On communications", FZ-230).
_ALONE = _aliases("мобильный", "сотовый", "мобильник", "номер", "номер для связи", "номер для звонка",
                  "абонентский номер", "номер абонента", "номер мобильного", "номер сотового",
                  "mobile", "cell", "cellphone", "number", "msisdn", "e164")
# The kind of line, before or after a phone word (`Рабочий телефон`, `Телефон рабочий`, `Phone (work)`).
_KINDS = _aliases(
    "контактный", "рабочий", "домашний", "мобильный", "моб", "сотовый", "сот", "доп", "дополнительный",
    "основной", "городской", "стационарный", "личный", "другой", "второй", "запасной", "резервный",
    "для рассылок", "прямой", "рабочий прямой", "для связи", "для смс", "для sms", "для звонка", "для звонков",
    "mobile", "cell", "cellular", "work", "home", "office", "business", "contact", "main", "primary", "car",
    "alt", "alternative", "alternate", "additional", "other", "personal",
)  # fmt: skip
# Kinds that also go with `номер`/`number` alone (not `личный номер`, `personal number`: an id).
_NUMBER_KINDS = _KINDS - _aliases("личный", "personal", "other", "другой", "для рассылок", "для смс", "для sms")
_NUMBER_WORDS = _aliases("номер", "number", "no")
# Whose phone: the subscriber's (`Телефон клиента`, `Client phone`); never the operator's.
_OWNERS_AFTER = _aliases("клиента", "абонента", "должника", "заемщика", "контакта", "контрагента",
                         "контактного лица", "заказчика", "покупателя", "лида",
                         # The person a row is about, in lists of other trades.
                         "заявителя", "получателя", "плательщика", "собственника", "владельца", "пациента",
                         "пользователя", "участника", "гостя", "студента", "арендатора", "физ лица",
                         # amoCRM's lead exports: `Мобильный телефон (контакт)`.
                         "контакт")
_OWNERS_BEFORE = _aliases("client", "customer", "subscriber", "debtor", "contact")
# `Телефон 2`, `phone_3`; Google Contacts' export names its columns `Phone 1 - Value`.
_NUMBERED = r"\d{0,2}(?:value)?"
_PHONE = re.compile(
    "^(?:"
    + _any(_ALONE)
    + "|" + _any(_OWNERS_BEFORE) + "?" + _any(_KINDS) + "?" + _any(_PHONE_WORDS) + r"\d{0,2}" + _any(_KINDS) + "?"
    + "(?:" + _any(_OWNERS_AFTER) + _any(_KINDS) + "?)?"
    + "|" + _any(_OWNERS_BEFORE) + "?" + _any(_NUMBER_KINDS) + _any(_NUMBER_WORDS) + _any(_OWNERS_AFTER) + "?"
    + "|" + _any(_OWNERS_BEFORE) + _any(_aliases("mobile", "cell"))
    + ")" + _NUMBERED + "$"
)  # fmt: skip

TIMEZONE_ALIASES = _aliases(
    "timezone", "time zone", "tz", "utc offset", "часовой пояс", "пояс", "таймзона", "тайм зона",
)  # fmt: skip
REGION_ALIASES = _aliases("region", "регион", "область", "субъект", "субъект рф", "регион рф")
ADDRESS_ALIASES = _aliases("address", "адрес", "адрес регистрации", "адрес проживания", "город", "city")
NAME_ALIASES = _aliases(
    "name", "full name", "fio", "фио", "фамилия имя отчество", "клиент", "client", "customer",
    "фио клиента", "фио абонента", "фио должника", "фио заемщика", "имя клиента", "контактное лицо",
    "client name", "customer name", "contact name", "наименование клиента", "наименование контрагента",
    # amoCRM's exports.
    "контакт", "основной контакт", "имя контакта", "полное имя", "полное имя контакта", "contact",
)  # fmt: skip
# A name in parts, one column each (`Фамилия`, `Имя`, `Отчество`): the contact's name is the parts
# found, in the file's order; they stay in the extra parameters too (a bot says `Имя Отчество`).
NAME_PART_ALIASES = _aliases(
    "фамилия", "имя", "отчество", "last name", "surname", "family name", "first name", "given name",
    "middle name", "patronymic",
)  # fmt: skip


# A phone's area code in a column of its own (`Код города` beside `Телефон`, as 1C and older CRMs
# export landlines): put before a phone value that is not a whole number by itself. Not a bare `Код`,
# which is a record's code (an id) in 1C.
AREA_CODE_ALIASES = _aliases(
    "код города", "код оператора", "телефонный код", "код телефона", "код тел", "код города телефона",
    "код зоны", "код населенного пункта", "код междугородной связи", "код межгород", "area code",
    "phone code", "dialing code", "dialling code",
)  # fmt: skip


# The header is looked for in this many first non-blank rows (title rows may come before it).
HEADER_SEARCH_ROWS = 10


# A note on how to write the numbers, at the end of a template's header: `Номер телефона (в формате
# 79XXXXXXXXX)`, `Телефон, формат +7XXXXXXXXXX`, `Phone (format: +7...)`, `Телефон, например 8913...`.
_FORMAT_NOTE = re.compile(r"(?:в)?формате?.*$|format.*$|например.*$")


def _phone_key(key: str) -> bool:
    return _PHONE.match(key) is not None or _PHONE.match(_FORMAT_NOTE.sub("", key)) is not None


def is_phone_header(text: str) -> bool:
    return _phone_key(alias_key(text))


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Indexes (0-based) of each role in a row; `extra` pairs a JSON key with its column."""

    header_row: int
    headers: tuple[str, ...]
    phones: tuple[int, ...]
    timezone: int | None
    region: int | None
    address: int | None
    name: tuple[int, ...]  # one column, or the parts of a name (joined with spaces); () when none
    subscriber: int | None
    extra: tuple[tuple[str, int], ...]
    area_code: int | None = None  # also kept in `extra`, as read

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


_COLUMN_LETTERS = re.compile(r"[A-Za-z]{1,3}")


def column_letter_index(text: str) -> int | None:
    """The position (from 0) a spreadsheet's column letters name (`A` 0, `Z` 25, `AA` 26), else None.
    A header of that name wins: letters are read only when no header matches."""
    letters = text.strip()
    if not _COLUMN_LETTERS.fullmatch(letters):
        return None
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def plan_columns(header: list[str], header_row: int, subscriber_column: str) -> ColumnPlan | None:
    """The plan for a header row, or None when it has no phone column."""
    names = _display_names(header)
    keys = [header_key(text) for text in header]
    aliases = [alias_key(text) for text in header]
    phones = tuple(i for i, key in enumerate(aliases) if _phone_key(key))
    if not phones:
        return None
    wanted = header_key(subscriber_column)
    subscriber = next((i for i, key in enumerate(keys) if key == wanted and i not in phones), None)
    if subscriber is None and (letter := column_letter_index(subscriber_column)) is not None:
        subscriber = letter if letter < len(header) and letter not in phones else None
    singles: dict[str, int | None] = {"timezone": None, "region": None, "address": None, "name": None}
    for role, role_aliases in (
        ("timezone", TIMEZONE_ALIASES),
        ("region", REGION_ALIASES),
        ("address", ADDRESS_ALIASES),
        ("name", NAME_ALIASES),
    ):
        singles[role] = next(
            (i for i, key in enumerate(aliases) if key in role_aliases and i not in phones and i != subscriber), None
        )
    area_code = next((i for i, key in enumerate(aliases) if key in AREA_CODE_ALIASES and i not in phones), None)
    taken = set(phones) | {i for i in singles.values() if i is not None}
    extra = tuple((names[i], i) for i in range(len(header)) if i not in taken)
    name = (singles["name"],) if singles["name"] is not None else tuple(
        i for i, key in enumerate(aliases) if key in NAME_PART_ALIASES and i not in taken and i != subscriber
    )
    return ColumnPlan(
        header_row=header_row,
        headers=tuple(names),
        phones=phones,
        timezone=singles["timezone"],
        region=singles["region"],
        address=singles["address"],
        name=name,
        subscriber=subscriber,
        extra=extra,
        area_code=area_code,
    )
