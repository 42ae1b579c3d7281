"""IANA zone objects by name (cached) and parsing of explicit time zones written in call lists."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache

from compliance.errors import InvalidTimezoneError

# Fixed offsets that are not whole hours have no IANA name; we write them "UTC+05:30".
_FIXED = re.compile(r"^UTC([+-])(\d{2}):(\d{2})$")
_OFFSET = re.compile(
    r"^(?P<base>UTC|GMT|MSK|МСК)?\s*(?P<sign>[+\-−])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?"
    r"\s*(?:ч|час|часа|часов|h)?\.?$",
    re.IGNORECASE,
)
# Moscow time itself, as call lists write it: `МСК`, `MSK`.
_MOSCOW = re.compile(r"^(?:MSK|МСК)$", re.IGNORECASE)
# Russia's time zones by their names (`Екатеринбургское время`, also a tz database zone's city:
# `Томское время`), an offset in brackets after the name allowed (`Омское время (UTC+6)`): the name
# decides. Novosibirsk's is not an official name (it keeps Krasnoyarsk time) but is written all the same.
_RUSSIAN_NAMES = {
    "калининград": "Europe/Kaliningrad", "москов": "Europe/Moscow", "самарск": "Europe/Samara",
    "екатеринбург": "Asia/Yekaterinburg", "омск": "Asia/Omsk", "новосибирск": "Asia/Novosibirsk",
    "красноярск": "Asia/Krasnoyarsk", "иркутск": "Asia/Irkutsk", "якутск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok", "магадан": "Asia/Magadan", "камчатск": "Asia/Kamchatka",
    # Zones of their own in the tz database for the same offsets.
    "астрахан": "Europe/Astrakhan", "саратов": "Europe/Saratov", "ульяновск": "Europe/Ulyanovsk",
    "волгоград": "Europe/Volgograd", "киров": "Europe/Kirov", "томск": "Asia/Tomsk", "барнаул": "Asia/Barnaul",
    "новокузнецк": "Asia/Novokuznetsk", "кемеров": "Asia/Novokuznetsk", "читин": "Asia/Chita",
    "сахалин": "Asia/Sakhalin", "среднеколымск": "Asia/Srednekolymsk", "анадыр": "Asia/Anadyr",
}  # fmt: skip
# In English the zone's city names it: `Omsk time`, `Yekaterinburg Time`.
_NAMED_TIMES = _RUSSIAN_NAMES | {zone.split("/")[1].lower(): zone for zone in _RUSSIAN_NAMES.values()}
_NAMED_TIME = re.compile(
    r"^(?P<name>" + "|".join(_NAMED_TIMES) + r")\w*\s+(?:время|time)\s*(?:\([^()]*\))?$", re.IGNORECASE
)
_MOSCOW_OFFSET_HOURS = 3  # MSK is UTC+3 (107-FZ art. 5)


@lru_cache(maxsize=1)
def _names_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@lru_cache(maxsize=1024)
def zone_info(name: str) -> tzinfo:
    """The tzinfo for an IANA name or a fixed offset written `UTC+05:30`; cached (hot path)."""
    fixed = _FIXED.match(name)
    if fixed:
        sign = -1 if fixed.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(fixed.group(2)), minutes=int(fixed.group(3))), name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a tzdata folder (`Europe`)
        raise InvalidTimezoneError(f"unknown time zone {name!r}") from exc


def is_known_zone(name: str) -> bool:
    try:
        zone_info(name)
    except InvalidTimezoneError:
        return False
    return True


def parse_timezone(text: str) -> str:
    """Canonical zone name for an explicit value: an IANA name (any case), `UTC`, or an offset.

    Offsets: `+07:00`, `+7`, `UTC+7`, `GMT-03:30`, `MSK+4` / `МСК+4` / `МСК+4ч` (Moscow time + 4 h). Whole
    hours become `Etc/GMT-7` (the tz database inverts the sign), others `UTC+05:30`. `MSK` / `МСК` alone
    is `Europe/Moscow`; a Russian zone's name (`Московское время`, `Омское время (UTC+6)`) is its zone.
    """
    value = text.strip()
    if not value:
        raise InvalidTimezoneError("empty time zone")
    if value.upper() in {"UTC", "GMT", "Z", "UTC+0", "UTC-0"}:
        return "UTC"
    known = _names_by_lower().get(value.lower())
    if known is not None:
        return known
    if _MOSCOW.match(value):
        return "Europe/Moscow"
    named = _NAMED_TIME.match(value)
    if named is not None:
        return _NAMED_TIMES[named.group("name").lower()]
    match = _OFFSET.match(value)
    if match is None:
        raise InvalidTimezoneError(
            f"{text!r} is neither an IANA time zone (Europe/Moscow) nor a UTC offset (+03:00, UTC+3, MSK+1)"
        )
    sign = -1 if match.group("sign") in "-−" else 1
    hours = int(match.group("hours"))
    minutes = int(match.group("minutes") or 0)
    if minutes >= 60:
        raise InvalidTimezoneError(f"{text!r}: minutes of a UTC offset must be below 60")
    total = sign * (hours * 60 + minutes)
    if (match.group("base") or "").upper() in {"MSK", "МСК"}:
        total += _MOSCOW_OFFSET_HOURS * 60
    if not -12 * 60 <= total <= 14 * 60:
        raise InvalidTimezoneError(f"{text!r}: UTC offsets run from -12:00 to +14:00")
    if total == 0:
        return "UTC"
    if total % 60 == 0:
        # POSIX-style names: Etc/GMT-7 is UTC+7.
        return f"Etc/GMT{-total // 60:+d}"
    sign_char = "+" if total > 0 else "-"
    return f"UTC{sign_char}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
