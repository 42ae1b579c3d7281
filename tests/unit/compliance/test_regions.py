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


@pytest.mark.parametrize(
    ("address", "zones"),
    [
        # Street names that look like a region never count, however the address is spelled.
        ("г. Новосибирск, ул. Крымская, д. 5", ("Asia/Novosibirsk",)),
        ("630099, Новосибирская обл, г Новосибирск, ул Крымская, д 5", ("Asia/Novosibirsk",)),
        ("630099, Новосибирская обл., г. Новосибирск, ул. Крымская, д. 5", ("Asia/Novosibirsk",)),
        ("630099 Новосибирская обл г Новосибирск ул Крымская д 5", ("Asia/Novosibirsk",)),
        ("Новосибирская область, Новосибирск г, Крымская ул, дом 5", ("Asia/Novosibirsk",)),
        ("г Новосибирск Крымская улица 5", ("Asia/Novosibirsk",)),
        ("г. Екатеринбург, ул. Бурятская", ("Asia/Yekaterinburg",)),
        ("620000, Свердловская обл, г Екатеринбург, ул Бурятская, д 1, кв 2", ("Asia/Yekaterinburg",)),
        ("г. Омск, ул. Чувашская, 10", ("Asia/Omsk",)),
        ("г. Новосибирск, Кубанская ул., 3", ("Asia/Novosibirsk",)),
        ("г. Иркутск, пер. Дагестанский, 7", ("Asia/Irkutsk",)),
        ("г. Хабаровск, ул. Корякская, 4", ("Asia/Vladivostok",)),
        ("г. Новосибирск, Удмуртская ул, 2", ("Asia/Novosibirsk",)),
        ("г. Москва, Севастопольский проспект, 1", ("Europe/Moscow",)),
        ("г. Москва, Симферопольский б-р, 3", ("Europe/Moscow",)),
        ("г. Москва, Новокузнецкая ул., 1", ("Europe/Moscow",)),
        ("г. Самара, Крымская пл., 1", ("Europe/Samara",)),
        ("г. Томск, Иркутский тракт, 1", ("Asia/Tomsk",)),
        ("г. Пермь, шоссе Космонавтов, ул. 1-я Бурятская, 2", ("Asia/Yekaterinburg",)),
        ("Калининград, Московский пр-кт, 1", ("Europe/Kaliningrad",)),
        # A loose region word against a city named with "г.": the consistent evidence, the city.
        ("г. Новосибирск, Кубань, д. 5", ("Asia/Novosibirsk",)),
        ("Кубань, г. Краснодар", ("Europe/Moscow",)),
        # The subject itself, street or not.
        ("Республика Крым, г. Симферополь, ул. Крымская", ("Europe/Simferopol",)),
        ("Республика Бурятия, г. Улан-Удэ", ("Asia/Irkutsk",)),
    ],
)
def test_street_names_are_not_regions(address: str, zones: tuple[str, ...]) -> None:
    assert zones_for_text(address) == zones


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        # District and town names inside other subjects (Территория ГАР spells them so).
        ("Таймырский Долгано-Ненецкий р-н|Красноярский край", (Subject.KRASNOYARSK,)),
        ("Таймырский Долгано-Ненецкий муниципальный район", (Subject.KRASNOYARSK,)),
        ("Крымский р-н|Краснодарский край", (Subject.KRASNODAR,)),
        ("м.р-н Крымский|Краснодарский край", (Subject.KRASNODAR,)),
        ("г. Крымск|г.п. город Крымск|м.р-н Крымский|Краснодарский край", (Subject.KRASNODAR,)),
        ("г. Крымск", (Subject.KRASNODAR,)),
        ("Агинский Бурятский округ|Забайкальский край", (Subject.ZABAYKALSKY,)),
        ("Усть-Ордынский Бурятский округ|Иркутская область", (Subject.IRKUTSK,)),
        ("Новосибирская обл Кировский р-н", (Subject.NOVOSIBIRSK,)),
        ("Ненецкий автономный округ, Архангельская область", (Subject.ARKHANGELSK, Subject.NENETS)),
        ("Республика Крым, Город Севастополь", (Subject.CRIMEA, Subject.SEVASTOPOL)),
    ],
)
def test_district_names_are_not_subjects(text: str, subjects: tuple[Subject, ...]) -> None:
    assert match_subjects(text) == subjects


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Новосибирская", "Asia/Novosibirsk"),
        ("Омская", "Asia/Omsk"),
        ("Свердловская", "Asia/Yekaterinburg"),
        ("Калининградская", "Europe/Kaliningrad"),
        ("Алтайский", "Asia/Barnaul"),
        ("Камчатка", "Asia/Kamchatka"),
        ("Чукотка", "Asia/Anadyr"),
        ("Кузбасс", "Asia/Novokuznetsk"),
        ("НСО", "Asia/Novosibirsk"),
        ("ХМАО", "Asia/Yekaterinburg"),
        ("ХМАО-Югра", "Asia/Yekaterinburg"),
        ("ЯНАО", "Asia/Yekaterinburg"),
        ("ЕАО", "Asia/Vladivostok"),
        ("ЧАО", "Asia/Anadyr"),
        ("НАО", "Europe/Moscow"),
        ("Moscow", "Europe/Moscow"),
        ("Novosibirsk", "Asia/Novosibirsk"),
        ("Yekaterinburg, Russia", "Asia/Yekaterinburg"),
        ("Ekaterinburg", "Asia/Yekaterinburg"),
        ("Vladivostok", "Asia/Vladivostok"),
        ("Kaliningrad", "Europe/Kaliningrad"),
        ("Saint Petersburg", "Europe/Moscow"),
        ("St. Petersburg", "Europe/Moscow"),
        ("Krasnoyarsk", "Asia/Krasnoyarsk"),
        ("Omsk", "Asia/Omsk"),
        ("Tomsk", "Asia/Tomsk"),
        ("Samara", "Europe/Samara"),
        ("Irkutsk", "Asia/Irkutsk"),
        ("Khabarovsk", "Asia/Vladivostok"),
    ],
)
def test_bare_adjectives_abbreviations_and_latin_names(text: str, zone: str) -> None:
    assert zones_for_text(text) == (zone,)


@pytest.mark.parametrize("text", ["Российская", "ул. Новосибирская", "Кирова 5", "Октябрьский р-н", "г. Энск"])
def test_words_that_name_no_subject(text: str) -> None:
    assert zones_for_text(text) == ()


@pytest.mark.parametrize(
    ("address", "zones"),
    [
        # UTC+10 (107-FZ: Oymyakonsky; Verkhoyansky, Ust-Yansky).
        ("Республика Саха (Якутия), Оймяконский улус, с. Томтор", ("Asia/Ust-Nera",)),
        ("Якутия, Верхоянский р-н, п. Батагай", ("Asia/Vladivostok",)),
        ("Якутия, п. Батагай", ("Asia/Vladivostok",)),
        ("Республика Саха (Якутия), Усть-Янский улус, п. Депутатский", ("Asia/Vladivostok",)),
        ("Якутия, пгт Усть-Куйга", ("Asia/Vladivostok",)),
        # UTC+11: Abyysky, Allaikhovsky, Verkhnekolymsky, Momsky, Nizhnekolymsky, Srednekolymsky.
        ("Якутия, с. Хону", ("Asia/Srednekolymsk",)),
        ("Республика Саха (Якутия), п. Зырянка", ("Asia/Srednekolymsk",)),
        ("Якутия, п. Чокурдах", ("Asia/Srednekolymsk",)),
        ("Якутия, п. Белая Гора", ("Asia/Srednekolymsk",)),
        ("Якутия, п. Черский", ("Asia/Srednekolymsk",)),
        ("Якутия, г. Среднеколымск", ("Asia/Srednekolymsk",)),
        # UTC+9, and the tz database's own zone for Tomponsky and Ust-Maysky.
        ("Якутия, Томпонский р-н, п. Хандыга", ("Asia/Khandyga",)),
        ("Якутия, г. Нерюнгри", ("Asia/Yakutsk",)),
        ("Якутия, г. Мирный", ("Asia/Yakutsk",)),
        ("Якутия, Эвено-Бытантайский улус, с. Батагай-Алыта", ("Asia/Yakutsk",)),
        ("Республика Саха (Якутия), г. Якутск, ул. Черского, 5", ("Asia/Yakutsk",)),
        # A settlement or district not known to be in one zone narrows nothing.
        ("Республика Саха (Якутия), с. Неизвестное", YAKUTIA_ZONES),
        ("Якутия, п. Солнечный", YAKUTIA_ZONES),
        ("Республика Саха (Якутия), г.", YAKUTIA_ZONES),
        ("Якутия, ул. Оймяконская, 3", YAKUTIA_ZONES),
    ],
)
def test_yakutia_narrows_only_to_known_places(address: str, zones: tuple[str, ...]) -> None:
    assert zones_for_text(address) == zones
