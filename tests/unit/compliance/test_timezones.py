"""Time zone resolution order and libphonenumber's Russian errors that we override."""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers
import pytest
from phonenumbers import timezone as phone_timezones

from compliance import (
    RUSSIA_ZONES,
    InvalidPhoneError,
    InvalidTimezoneError,
    Registry,
    RegistryRow,
    TzHints,
    TzResolution,
    TzSource,
    normalize_phone,
    parse_timezone,
    resolve_timezone,
)
from compliance.numbering import ABC_SUBJECTS
from compliance.regions import subject_zones
from compliance.zones import zone_info

KEMEROVO_MOBILE = "+79131234567"  # registry: Кемеровская обл.


@pytest.fixture(scope="module")
def small_registry() -> Registry:
    return Registry.from_rows(
        [
            RegistryRow(79131200000, 79131399999, "МТС", "Кемеровская обл.", "Кемеровская область - Кузбасс"),
            RegistryRow(79000000000, 79000000999, "X", "Российская Федерация", "Российская Федерация"),
        ]
    )


def test_explicit_zone_wins_over_everything(small_registry: Registry) -> None:
    resolved = resolve_timezone(KEMEROVO_MOBILE, TzHints(timezone="asia/omsk", region="Москва"), small_registry)
    assert resolved == TzResolution("Asia/Omsk", TzSource.EXPLICIT, ("Asia/Omsk",))


def test_explicit_offset(small_registry: Registry) -> None:
    resolved = resolve_timezone(KEMEROVO_MOBILE, TzHints(timezone="UTC+3"), small_registry)
    assert resolved == TzResolution("Etc/GMT-3", TzSource.EXPLICIT, ("Etc/GMT-3",))


def test_region_then_address_are_explicit(small_registry: Registry) -> None:
    by_region = resolve_timezone(KEMEROVO_MOBILE, TzHints(region="Саратовская обл."), small_registry)
    assert by_region == TzResolution("Europe/Saratov", TzSource.EXPLICIT, ("Europe/Saratov",))
    by_address = resolve_timezone(KEMEROVO_MOBILE, TzHints(address="г. Калининград, ул. Мира"), small_registry)
    assert by_address.zone == "Europe/Kaliningrad"
    assert by_address.source is TzSource.EXPLICIT


def test_hints_naming_no_region_fall_through_to_the_registry(small_registry: Registry) -> None:
    resolved = resolve_timezone(
        KEMEROVO_MOBILE, TzHints(timezone="  ", region="-", address="ул. Ленина, 1"), small_registry
    )
    assert resolved == TzResolution("Asia/Novokuznetsk", TzSource.REGISTRY, ("Asia/Novokuznetsk",))


def test_invalid_explicit_zone_is_an_error() -> None:
    with pytest.raises(InvalidTimezoneError, match="neither an IANA time zone"):
        resolve_timezone(KEMEROVO_MOBILE, TzHints(timezone="Mars/Olympus"))


def test_mobile_without_registry_or_regionless_range_is_all_of_russia(small_registry: Registry) -> None:
    assert resolve_timezone(KEMEROVO_MOBILE) == TzResolution(None, TzSource.CANDIDATES, RUSSIA_ZONES)
    # In the registry but "Российская Федерация": no region, so all Russian zones remain candidates.
    assert resolve_timezone("+79000000500", registry=small_registry).candidates == RUSSIA_ZONES
    # Not in the registry at all.
    assert resolve_timezone("+79990000000", registry=small_registry).source is TzSource.CANDIDATES
    # Toll-free 8-800 names no region.
    assert resolve_timezone("+78001234567").candidates == RUSSIA_ZONES


def test_region_hints_in_short_and_latin_forms() -> None:
    assert resolve_timezone(KEMEROVO_MOBILE, TzHints(region="НСО")).candidates == ("Asia/Novosibirsk",)
    assert resolve_timezone(KEMEROVO_MOBILE, TzHints(region="Омская")).candidates == ("Asia/Omsk",)
    assert resolve_timezone(KEMEROVO_MOBILE, TzHints(address="Moscow, Tverskaya 1")).zone == "Europe/Moscow"
    resolved = resolve_timezone(KEMEROVO_MOBILE, TzHints(timezone="МСК+4"))
    assert resolved == TzResolution("Etc/GMT-7", TzSource.EXPLICIT, ("Etc/GMT-7",))


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("8 (913) 123-45-67", "+79131234567"),
        ("+7 913 1234567", "+79131234567"),
        ("9131234567", "+79131234567"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("+1 212 555 0100", "+12125550100"),
        ("00 49 30 1234567", "+49301234567"),  # 00, the international prefix of most countries
        ("00 7 913 123-45-67", "+79131234567"),
        ("810 49 30 1234567", "+49301234567"),  # Russia's own
        ("+683 4002", "+6834002"),  # Niue: 7 digits with the country code, the shortest in service
    ],
)
def test_normalize_phone(text: str, e164: str) -> None:
    assert normalize_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("+70001234567", "not a valid number of country code +7"),  # no such range
        ("8913123456", "not a valid number of country code +7"),  # a digit short: not +78913123456
        ("+79300001234", "not a valid number of country code +7"),  # 930 range libphonenumber does not know
        ("123", "wrong length for a number of country code +7"),
        ("not-a-phone", "not a phone number"),
        ("", "not a phone number"),
    ],
)
def test_normalize_phone_rejects_invalid_numbers(text: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneError) as error:
        normalize_phone(text)
    assert error.value.reason == reason
    assert (repr(text) in str(error.value)) or not text


def test_a_registry_range_makes_a_number_valid() -> None:
    """New DEF ranges reach the registry before libphonenumber's metadata."""
    registry = Registry.from_rows([RegistryRow(79300000000, 79300009999, "X", "Москва и Московская область")])
    assert normalize_phone("8 930 000-12-34", registry=registry) == "+79300001234"
    with pytest.raises(InvalidPhoneError):
        normalize_phone("+79300020000", registry=registry)  # outside the range
    with pytest.raises(InvalidPhoneError):
        normalize_phone("+70001234567", registry=registry)
    # A lookup of a stored number asks only for a possible length.
    assert normalize_phone("+79300020000", strict=False) == "+79300020000"


def test_invalid_phone_is_an_error() -> None:
    for bad in ("79131234567", "+7913", "+68340", "+7913123456789012", "+0123456789", "+7913abc4567", ""):
        with pytest.raises(InvalidPhoneError):
            resolve_timezone(bad)


# libphonenumber's zones for Russian fixed-line codes against the numbering plan. The offset is wrong
# for Kaliningrad (Europe/Bucharest keeps DST), Saratov (UTC+4 since 2016, not Moscow time) and Yakutia
# (three zones, not one); the others carry another subject's zone name, which went wrong whenever
# that subject moved its clocks (Astrakhan, Ulyanovsk 2016; Volgograd 2018 and 2020; Tomsk 2016...).
OVERRIDES = [
    ("+74012123456", "Europe/Bucharest", ("Europe/Kaliningrad",)),  # Kaliningrad
    ("+78452123456", "Europe/Moscow", ("Europe/Saratov",)),  # Saratov
    ("+78422123456", "Europe/Samara", ("Europe/Ulyanovsk",)),  # Ulyanovsk
    ("+78512123456", "Europe/Samara", ("Europe/Astrakhan",)),  # Astrakhan
    ("+78442123456", "Europe/Moscow", ("Europe/Volgograd",)),  # Volgograd
    ("+73412123456", "Europe/Samara", ("Europe/Samara",)),  # Udmurtia: right today, kept by the table
    ("+78332123456", "Europe/Moscow", ("Europe/Kirov",)),  # Kirov
    ("+73022123456", "Asia/Yakutsk", ("Asia/Chita",)),  # Zabaykalsky krai
    ("+73822123456", "Asia/Novosibirsk", ("Asia/Tomsk",)),  # Tomsk
    ("+73842123456", "Asia/Krasnoyarsk", ("Asia/Novokuznetsk",)),  # Kemerovo
    ("+73852123456", "Asia/Krasnoyarsk", ("Asia/Barnaul",)),  # Altai krai
    ("+73882123456", "Asia/Krasnoyarsk", ("Asia/Barnaul",)),  # Altai republic
    ("+73652123456", "Europe/Moscow", ("Europe/Simferopol",)),  # Crimea
    ("+78692123456", "Europe/Moscow", ("Europe/Simferopol",)),  # Sevastopol
    ("+74112123456", "Asia/Yakutsk", ("Asia/Yakutsk",)),  # Yakutsk city
    ("+74115123456", "Asia/Yakutsk", ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk")),  # rest of Yakutia
]
# Instants across a year: winter and summer (DST zones differ), today's rules.
INSTANTS = [datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC)]


def offsets(zone: str) -> tuple[object, ...]:
    return tuple(instant.astimezone(zone_info(zone)).utcoffset() for instant in INSTANTS)


@pytest.mark.parametrize(("phone", "libphonenumber_zone", "zones"), OVERRIDES)
def test_russian_fixed_line_overrides(phone: str, libphonenumber_zone: str, zones: tuple[str, ...]) -> None:
    resolved = resolve_timezone(phone)
    assert resolved.source is TzSource.PHONENUMBERS
    assert resolved.candidates == zones
    assert resolved.zone == (zones[0] if len(zones) == 1 else None)


def test_libphonenumber_errors_are_exactly_the_documented_ones() -> None:
    """Every ABC code where libphonenumber's current offsets differ from the numbering plan is overridden."""
    documented = {phone[2:5] for phone, *_ in OVERRIDES}
    for code, subject in ABC_SUBJECTS.items():
        number = phonenumbers.parse(f"+7{code}2123456")
        theirs = {offsets(zone) for zone in phone_timezones.time_zones_for_number(number)}
        ours = {offsets(zone) for zone in subject_zones(subject)}
        if theirs != ours:
            assert code in documented, f"{code} ({subject}): libphonenumber {theirs} vs plan {ours}"
    # And the table does fix them: at least Kaliningrad and Saratov really differ today.
    assert offsets("Europe/Bucharest") != offsets("Europe/Kaliningrad")
    assert offsets("Europe/Moscow") != offsets("Europe/Saratov")


def test_registry_beats_the_numbering_plan_for_fixed_lines() -> None:
    registry = Registry.from_rows([RegistryRow(74012000000, 74012999999, "X", "Калининградская обл.")])
    assert resolve_timezone("+74012123456", registry=registry).source is TzSource.REGISTRY


@pytest.mark.parametrize(
    ("phone", "zones"),
    [
        ("+12125551234", ("America/New_York",)),
        ("+4930123456", ("Europe/Berlin",)),
        ("+6834002", ("Pacific/Niue",)),  # 7 digits, the shortest E.164 numbers
        ("+77172123456", ("Asia/Almaty",)),  # Astana, Kazakhstan shares +7
    ],
)
def test_foreign_numbers_use_libphonenumber(phone: str, zones: tuple[str, ...]) -> None:
    resolved = resolve_timezone(phone)
    assert resolved.source is TzSource.PHONENUMBERS
    assert resolved.candidates == zones


def test_kazakh_mobile_keeps_only_kazakh_zones() -> None:
    resolved = resolve_timezone("+77012345678")
    assert resolved.candidates
    assert all(zone.startswith("Asia/A") for zone in resolved.candidates), resolved


def test_number_without_geography_is_unknown() -> None:
    resolved = resolve_timezone("+80012345678")  # UIFN freephone: no country, no zone
    assert resolved == TzResolution(None, TzSource.UNKNOWN, ())


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Moscow", "Europe/Moscow"),
        ("europe/moscow", "Europe/Moscow"),
        ("UTC", "UTC"),
        ("+07:00", "Etc/GMT-7"),
        ("+7", "Etc/GMT-7"),
        ("UTC+7", "Etc/GMT-7"),
        ("GMT-05:00", "Etc/GMT+5"),
        ("utc−3", "Etc/GMT+3"),
        ("MSK+4", "Etc/GMT-7"),
        ("МСК+4", "Etc/GMT-7"),
        ("мск +4 ч", "Etc/GMT-7"),
        ("MSK-1", "Etc/GMT-2"),
        ("МСК+0", "Etc/GMT-3"),
        ("МСК", "Europe/Moscow"),
        ("MSK", "Europe/Moscow"),
        ("Московское время", "Europe/Moscow"),
        # Russia's zones by name, an offset in brackets after it allowed.
        ("Калининградское время", "Europe/Kaliningrad"),
        ("САМАРСКОЕ ВРЕМЯ", "Europe/Samara"),
        ("Екатеринбургское время", "Asia/Yekaterinburg"),
        ("Омское время (UTC+6)", "Asia/Omsk"),
        ("Новосибирское время", "Asia/Novosibirsk"),
        ("Красноярское  время", "Asia/Krasnoyarsk"),
        ("Иркутское время", "Asia/Irkutsk"),
        ("Якутское время (МСК+6)", "Asia/Yakutsk"),
        ("Владивостокское время", "Asia/Vladivostok"),
        ("Магаданское время", "Asia/Magadan"),
        ("Камчатское время", "Asia/Kamchatka"),
        ("Томское время", "Asia/Tomsk"),
        ("Yekaterinburg time", "Asia/Yekaterinburg"),
        ("Moscow Time", "Europe/Moscow"),
        ("+05:30", "UTC+05:30"),
        ("UTC-03:30", "UTC-03:30"),
        ("+00:00", "UTC"),
    ],
)
def test_parse_timezone(text: str, zone: str) -> None:
    assert parse_timezone(text) == zone
    assert zone_info(zone) is not None


def test_fixed_offset_zone_names_work() -> None:
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    assert instant.astimezone(zone_info("Etc/GMT-7")).hour == 7
    assert instant.astimezone(zone_info("UTC+05:30")).strftime("%H:%M") == "05:30"
    assert instant.astimezone(zone_info("UTC-03:30")).strftime("%H:%M") == "20:30"


@pytest.mark.parametrize(
    "text", ["", "Moscow", "+15", "UTC+7:75", "+25:00", "Asia/Nowhere", "Омское", "Самаркандское время"]
)
def test_parse_timezone_rejects(text: str) -> None:
    with pytest.raises(InvalidTimezoneError):
        parse_timezone(text)
