"""The time zone(s) of a subscriber: explicit list value, numbering registry, libphonenumber, candidates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezones

from compliance.errors import InvalidPhoneError
from compliance.numbering import abc_zones
from compliance.phones import is_e164
from compliance.regions import RUSSIA_ZONES, zones_for_text
from compliance.registry import Registry
from compliance.zones import is_known_zone, parse_timezone


class TzSource(StrEnum):
    """Where a subscriber's zone came from, in order of precedence."""

    EXPLICIT = "explicit"  # the call list: a zone, an offset, a region or an address
    REGISTRY = "registry"  # the Russian numbering registry
    PHONENUMBERS = "phonenumbers"  # libphonenumber's geography, with Russian fixed-line codes corrected
    CANDIDATES = "candidates"  # unknown within a country: every zone of it is a candidate
    UNKNOWN = "unknown"  # nothing known: never callable


@dataclass(frozen=True, slots=True)
class TzHints:
    """Explicit values from a call list row; any may be absent."""

    timezone: str | None = None  # IANA zone or UTC offset (`Asia/Omsk`, `+06:00`, `UTC+6`, `MSK+3`)
    region: str | None = None  # a Russian region name in any spelling
    address: str | None = None  # free address text that may name a region or its capital


@dataclass(frozen=True, slots=True)
class TzResolution:
    """`zone` when exactly one is known; `candidates` are all zones to satisfy (strictest wins)."""

    zone: str | None
    source: TzSource
    candidates: tuple[str, ...]

    @classmethod
    def of(cls, zones: tuple[str, ...], source: TzSource) -> TzResolution:
        return cls(zones[0] if len(zones) == 1 else None, source, zones)


_UNKNOWN = TzResolution(None, TzSource.UNKNOWN, ())
_RUSSIA = TzResolution.of(RUSSIA_ZONES, TzSource.CANDIDATES)
_PHONENUMBERS_UNKNOWN = "Etc/Unknown"
_KAZAKHSTAN_ZONES = frozenset(
    {"Asia/Almaty", "Asia/Aqtobe", "Asia/Aqtau", "Asia/Atyrau", "Asia/Oral", "Asia/Qostanay", "Asia/Qyzylorda"}
)


@lru_cache(maxsize=1024)
def _registry_resolution(zones: tuple[str, ...]) -> TzResolution:
    return TzResolution.of(zones, TzSource.REGISTRY)  # shared: registry ranges repeat few zone sets


def _explicit(hints: TzHints) -> TzResolution | None:
    if hints.timezone is not None and hints.timezone.strip():
        zone = parse_timezone(hints.timezone)
        return TzResolution(zone, TzSource.EXPLICIT, (zone,))
    for text in (hints.region, hints.address):
        if text:
            zones = zones_for_text(text)
            if zones:
                return TzResolution.of(zones, TzSource.EXPLICIT)
    return None


def _russian(phone: str) -> TzResolution | None:
    """Zones of a +7 number of Russia (not Kazakhstan's +76/+77) without a registry hit."""
    national = phone[2:]
    if len(national) != 10 or national[0] not in "3489":
        return None
    if national[0] != "9":
        zones = abc_zones(national)
        if zones is not None:
            return TzResolution.of(zones, TzSource.PHONENUMBERS)
    # Mobile numbers keep their number when moving; non-geographic codes (8-800) name no region.
    return _RUSSIA


def _from_phonenumbers(phone: str) -> TzResolution:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneError(f"{phone!r} is not a phone number: {exc}") from exc
    zones = tuple(
        zone
        for zone in phone_timezones.time_zones_for_number(number)
        if zone != _PHONENUMBERS_UNKNOWN and is_known_zone(zone)
    )
    if phonenumbers.region_code_for_number(number) == "KZ":
        # libphonenumber lists every zone of country code +7 (Russia's too) for Kazakh mobiles.
        zones = tuple(zone for zone in zones if zone in _KAZAKHSTAN_ZONES)
    if not zones:
        return _UNKNOWN
    return TzResolution.of(zones, TzSource.PHONENUMBERS)


def resolve_timezone(phone_e164: str, hints: TzHints | None = None, registry: Registry | None = None) -> TzResolution:
    """Zone(s) of a subscriber: explicit hints, then the registry, then libphonenumber, else candidates.

    Raises `InvalidPhoneError` for a malformed number and `InvalidTimezoneError` for an explicit zone
    that is neither an IANA name nor an offset. A region or address naming no region is skipped.
    """
    if not is_e164(phone_e164):
        raise InvalidPhoneError(f"{phone_e164!r} is not an E.164 number (+ and 6 to 15 digits)")
    if hints is not None:
        explicit = _explicit(hints)
        if explicit is not None:
            return explicit
    if phone_e164.startswith("+7"):
        if registry is not None:
            entry = registry.lookup(phone_e164)
            if entry is not None and entry.zones:
                return _registry_resolution(entry.zones)
        russian = _russian(phone_e164)
        if russian is not None:
            return russian
    return _from_phonenumbers(phone_e164)


# Numbers of a block share all their digits but the last four.
_BLOCK_DIGITS = 4
_BLOCK_SIZE = 10**_BLOCK_DIGITS
_BLOCKS_MAX = 1 << 17  # more than the mobile (DEF) blocks that lie in one range: about 67,000


class NumberZones:
    """`resolve_timezone(phone, None, registry)` for the many numbers of a call list.

    Remembers the resolution of each block of ten thousand numbers (`+7913123xxxx`) that lies within
    one registry range, since every number of such a block resolves alike: most numbers of a list
    then cost a dictionary lookup instead of the registry's bisection. One per import (not shared
    between threads); memory stays bounded (about 100 bytes a block).
    """

    __slots__ = ("_blocks", "_registry")

    def __init__(self, registry: Registry | None) -> None:
        self._registry = registry
        self._blocks: dict[str, TzResolution] = {}

    def resolve(self, phone_e164: str) -> TzResolution:
        block = phone_e164[:-_BLOCK_DIGITS]
        known = self._blocks.get(block)
        if known is not None and is_e164(phone_e164):
            return known
        entry = self._registry.lookup(phone_e164) if self._registry is not None else None
        if entry is None or not entry.zones:
            return resolve_timezone(phone_e164, None, None)  # the registry has nothing for it
        resolution = _registry_resolution(entry.zones)
        first = int(block[1:]) * _BLOCK_SIZE  # a number the registry knows is `+7` and ten digits
        if entry.start <= first and first + _BLOCK_SIZE - 1 <= entry.end and len(self._blocks) < _BLOCKS_MAX:
            self._blocks[block] = resolution
        return resolution
