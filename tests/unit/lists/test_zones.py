"""Zones by number: what compliance's NumberZones remembers per block is resolve_timezone's answer."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import (
    InvalidPhoneError,
    NumberZones,
    Registry,
    RegistryRow,
    TzHints,
    TzResolution,
    resolve_timezone,
)
from dialer.lists.timezones import ZoneResolver

# Ranges around the block +7913000xxxx: split between two regions, one region-less, one whole.
_ROWS = [
    RegistryRow(79130000000, 79130004999, "A", "Новосибирская обл.", "Новосибирская область"),
    RegistryRow(79130005000, 79130009999, "B", "Омская обл.", "Омская область"),
    RegistryRow(79130010000, 79130019999, "C", "Российская Федерация", ""),
    RegistryRow(79130020000, 79130039999, "D", "Москва", "г. Москва"),
    RegistryRow(79130040000, 79130040009, "E", "Москва", "г. Москва"),
    RegistryRow(79130040020, 79130049999, "F", "Камчатский край", "Камчатский край"),
]


def _outcome(resolve: Callable[[str], TzResolution], phone: str) -> TzResolution | str:
    try:
        return resolve(phone)
    except InvalidPhoneError as exc:
        return f"InvalidPhoneError: {exc}"


def _same_as_resolve_timezone(registry: Registry | None, phones: list[str]) -> None:
    numbers = NumberZones(registry)
    for phone in phones + phones[::-1]:  # the second time round, from what was remembered
        expected = _outcome(lambda p: resolve_timezone(p, None, registry), phone)
        assert _outcome(numbers.resolve, phone) == expected, phone


def test_blocks_split_between_ranges_resolve_number_by_number() -> None:
    registry = Registry.from_rows(_ROWS)
    phones = [f"+{n}" for n in range(79130000000 - 2, 79130050000 + 2, 7)]
    phones += [f"+{n}" for row in _ROWS for n in (row.start - 1, row.start, row.end, row.end + 1)]
    _same_as_resolve_timezone(registry, phones)


def test_numbers_around_the_real_ranges(registry: Registry) -> None:
    rng = random.Random(7)
    entries = rng.sample(list(registry), 400)
    phones: list[str] = []
    for entry in entries:
        for n in (entry.start - 1, entry.start, entry.start + 1, entry.end - 1, entry.end, entry.end + 1):
            block = n // 10_000 * 10_000
            phones += [f"+{n}", f"+{block}", f"+{block + 9_999}", f"+{block + rng.randrange(10_000)}"]
    _same_as_resolve_timezone(registry, phones)


@pytest.mark.parametrize(
    "phone",
    [
        "+79131234567", "+7913123456", "+791312345678", "+7913123456x", "+7913123abcd", "+7913123 4567",
        "+7913123٤٥٦٧", "79131234567", "+0913123456", "", "+", "+74951234567", "+78005553535", "+77011234567",
        "+12125550100", "+442079460958", "+380501234567", "+79401234567", "+79300000000",
    ],
)  # fmt: skip
def test_any_string_resolves_or_fails_as_resolve_timezone(registry: Registry, phone: str) -> None:
    _same_as_resolve_timezone(registry, ["+79131230000", phone, "+79131239999", phone])
    _same_as_resolve_timezone(Registry([]), [phone, phone])


@given(st.lists(st.integers(min_value=3_000_000_000, max_value=9_999_999_999), min_size=1, max_size=60))
def test_random_russian_numbers(registry: Registry, nationals: list[int]) -> None:
    phones = [f"+7{n}" for n in nationals]
    # Neighbours share a block: the remembered answer is used for them.
    phones += [f"+7{n // 10_000 * 10_000 + (n + 5_003) % 10_000}" for n in nationals]
    _same_as_resolve_timezone(registry, phones)


def test_without_a_registry() -> None:
    _same_as_resolve_timezone(None, ["+79131234567", "+79131234568", "+74951234567", "+12125550100"])


def test_zone_resolver_uses_hints_first_then_the_number(registry: Registry) -> None:
    zones = ZoneResolver(registry)
    for phone in ["+79131234567", "+79131234568", "+79401234567"]:
        assert zones.resolve(phone, None) == resolve_timezone(phone, None, registry)
        no_zone = TzHints(None, "нигде", None)
        assert zones.resolve(phone, no_zone) == resolve_timezone(phone, no_zone, registry)
        omsk = TzHints("Asia/Omsk", None, None)
        assert zones.resolve(phone, omsk) == resolve_timezone(phone, omsk, registry)
