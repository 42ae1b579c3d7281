"""Region text -> federal subject -> IANA zone: messy spellings, addresses, traps, Yakutia."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compliance import RUSSIA_ZONES, Subject, match_subjects, zones_for_text
from compliance.regions import YAKUTIA_ZONES, normalize_region, subject_zones
from compliance.zones import zone_info


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        ("Новосибирская обл.", (Subject.NOVOSIBIRSK,)),
        ("Новосибирская область", (Subject.NOVOSIBIRSK,)),
        ("НОВОСИБИРСКАЯ  ОБЛАСТЬ", (Subject.NOVOSIBIRSK,)),
        ("г. Москва * Московская область", (Subject.MOSCOW_OBLAST, Subject.MOSCOW)),
        ("Москва и Московская область", (Subject.MOSCOW_OBLAST, Subject.MOSCOW)),
        ("Ханты - Мансийский - Югра АО", (Subject.KHANTY_MANSI,)),
        ("Ханты-Мансийский Автономный округ - Югра АО", (Subject.KHANTY_MANSI,)),
        ("Кемеровская область - Кузбасс обл.", (Subject.KEMEROVO,)),
        ("Республика Саха /Якутия/", (Subject.SAKHA,)),
        ("Республика Удмуртская", (Subject.UDMURTIA,)),
        ("Республика Донецкая Народная", (Subject.DONETSK,)),
        ("Ямало-Ненецкий АО", (Subject.YAMALO_NENETS,)),  # not the Nenets AO
        ("Архангельская область * Ненецкий автономный округ", (Subject.ARKHANGELSK, Subject.NENETS)),
        ("г. Норильск|Красноярский край", (Subject.KRASNOYARSK,)),
        ("Корякский округ|Камчатский край", (Subject.KAMCHATKA,)),
        ("Республика Алтай", (Subject.ALTAI_REPUBLIC,)),
        ("Алтайский край", (Subject.ALTAI_KRAI,)),
        ("Омская обл.", (Subject.OMSK,)),
        ("Томская обл.", (Subject.TOMSK,)),  # "томская" contains "омская"
        ("Республика Коми", (Subject.KOMI,)),
        ("Коми-Пермяцкий округ, Пермский край", (Subject.PERM,)),
        ("-", ()),
        ("Российская Федерация", ()),
        ("", ()),
    ],
)
def test_registry_spellings(text: str, subjects: tuple[Subject, ...]) -> None:
    assert match_subjects(text) == subjects


@pytest.mark.parametrize(
    ("address", "zones"),
    [
        ("630099, Россия, г. Новосибирск, ул. Ленина, 1", ("Asia/Novosibirsk",)),
        ("г. Москва, ул. Новосибирская, д. 5", ("Europe/Moscow",)),  # street names are not regions
        ("Благовещенск, Республика Башкортостан", ("Asia/Yekaterinburg",)),  # the subject beats the city
        ("г. Благовещенск, ул. Ленина", ("Asia/Yakutsk",)),  # the Amur capital alone
        ("Калининград, пр. Мира 1", ("Europe/Kaliningrad",)),
        ("Саратов", ("Europe/Saratov",)),
        ("Тольятти, Самарская обл.", ("Europe/Samara",)),
        ("г Екатеринбург", ("Asia/Yekaterinburg",)),
        ("Петропавловск-Камчатский", ("Asia/Kamchatka",)),
        ("Республика Саха (Якутия), г. Якутск, ул. Ленина", ("Asia/Yakutsk",)),
        ("Республика Саха (Якутия), Оймяконский улус, п. Усть-Нера", ("Asia/Ust-Nera",)),
        ("Якутия, Верхоянский район", ("Asia/Vladivostok",)),
        ("Якутия, Среднеколымский улус", ("Asia/Srednekolymsk",)),
        ("Республика Саха (Якутия)", YAKUTIA_ZONES),
        ("ул. Ленина, д. 1", ()),
    ],
)
def test_addresses(address: str, zones: tuple[str, ...]) -> None:
    assert zones_for_text(address) == zones


def test_normalization() -> None:
    assert normalize_region("Ханты - Мансийский - Югра АО") == "ханты-мансийский-югра ао"
    assert normalize_region("Кемеровская область - Кузбасс обл.") == "кемеровская обл-кузбасс обл"
    assert normalize_region("Орёл, Орловская область") == "орел орловская обл"


def test_every_subject_has_known_zones_and_all_offsets_are_covered() -> None:
    assert len(Subject) == 89
    instant = datetime(2026, 1, 15, 12, tzinfo=UTC)
    offsets = set()
    for subject in Subject:
        zones = subject_zones(subject)
        assert zones, subject
        for zone in zones:
            offset = instant.astimezone(zone_info(zone)).utcoffset()
            assert offset is not None
            offsets.add(offset.total_seconds() / 3600)
    assert offsets == {float(hours) for hours in range(2, 13)}
    russia = {instant.astimezone(zone_info(zone)).utcoffset() for zone in RUSSIA_ZONES}
    assert len(russia) == 11


def test_every_subject_name_matches_itself() -> None:
    for subject in Subject:
        assert match_subjects(subject.value) == (subject,), subject
