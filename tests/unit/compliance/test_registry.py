"""Registry files: parsing (format, errors with file/line/field), lookup edges, and the real DEF-9xx file."""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from compliance import Registry, RegistryError, RegistryRow, Subject, read_registry_file
from compliance.zones import zone_info

HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"


def write(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8-sig") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_parses_def_rows_with_bom_and_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "DEF-9xx.csv",
        [
            HEADER,
            '913;1200000;1399999;200000;ПАО "МТС";Кемеровская обл.;Кемеровская область - Кузбасс;7740000076',
            '900;0000000;0061999;62000;ООО "Т2 МОБАЙЛ";Краснодарский край;Краснодарский край;7743895280',
        ],
    )
    parsed = read_registry_file(path)
    assert parsed.kind == "DEF-9xx"
    assert parsed.name == "DEF-9xx.csv"
    assert len(parsed.sha256) == 64
    assert parsed.rows[0] == RegistryRow(
        79131200000, 79131399999, 'ПАО "МТС"', "Кемеровская обл.", "Кемеровская область - Кузбасс", "7740000076"
    )
    assert parsed.rows[1].start == 79000000000
    assert parsed.rows[1].end == 79000061999


def test_abc_file_of_same_format_loads_and_resolves(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ABC-4xx.csv",
        [
            HEADER,
            "401;2100000;2199999;100000;ПАО Ростелеком;Калининградская обл.;Калининградская область;7707049388",
            "411;2400000;2499999;100000;ПАО Ростелеком;Республика Саха /Якутия/;"
            "г. Якутск|г.о. город Якутск|Республика Саха (Якутия);7707049388",
            "411;5300000;5309999;10000;ПАО Ростелеком;Республика Саха /Якутия/;"
            "м.р-н Оймяконский|Республика Саха (Якутия);7707049388",
            "411;5400000;5409999;10000;ПАО Ростелеком;Республика Саха /Якутия/;"
            "м.р-н Среднеколымский|Республика Саха (Якутия);7707049388",
            "411;5500000;5509999;10000;ПАО Ростелеком;Республика Саха /Якутия/;Республика Саха (Якутия);7707049388",
        ],
    )
    parsed = read_registry_file(path)
    assert parsed.kind == "ABC-4xx"
    registry = Registry.from_files([path])
    kaliningrad = registry.lookup("+74012150000")
    assert kaliningrad is not None
    assert kaliningrad.zones == ("Europe/Kaliningrad",)
    # Yakutia: Территория ГАР narrows the republic to one zone where it names a district or town.
    assert registry.lookup("+74112450000").zones == ("Asia/Yakutsk",)  # type: ignore[union-attr]
    assert registry.lookup("+74115300000").zones == ("Asia/Ust-Nera",)  # type: ignore[union-attr]
    assert registry.lookup("+74115400000").zones == ("Asia/Srednekolymsk",)  # type: ignore[union-attr]
    whole = registry.lookup("+74115500000")
    assert whole is not None
    assert whole.zones == ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk")


@pytest.mark.parametrize(
    ("region", "territory", "zones"),
    [
        # District names of other subjects inside Территория ГАР.
        ("Красноярский край", "Таймырский Долгано-Ненецкий р-н|Красноярский край", ("Asia/Krasnoyarsk",)),
        ("Краснодарский край", "Крымский р-н|Краснодарский край", ("Europe/Moscow",)),
        ("Краснодарский край", "г. Крымск|г.п. город Крымск|Краснодарский край", ("Europe/Moscow",)),
        ("Забайкальский край", "Агинский Бурятский округ|Забайкальский край", ("Asia/Chita",)),
        # Yakutia narrows only to a district whose zone is known.
        ("Республика Саха /Якутия/", "м.р-н Верхоянский|Республика Саха (Якутия)", ("Asia/Vladivostok",)),
        ("Республика Саха /Якутия/", "м.р-н Томпонский|Республика Саха (Якутия)", ("Asia/Khandyga",)),
        ("Республика Саха /Якутия/", "м.р-н Нижнеколымский|Республика Саха (Якутия)", ("Asia/Srednekolymsk",)),
        ("Республика Саха /Якутия/", "г. Мирный|м.р-н Мирнинский|Республика Саха (Якутия)", ("Asia/Yakutsk",)),
        (
            "Республика Саха /Якутия/",
            "с. Иное|Республика Саха (Якутия)",
            ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk"),
        ),
    ],
)
def test_territory_names_a_district_not_another_subject(region: str, territory: str, zones: tuple[str, ...]) -> None:
    registry = Registry.from_rows([RegistryRow(74110000000, 74110099999, "X", region, territory)])
    entry = registry.lookup("+74110000000")
    assert entry is not None
    assert entry.zones == zones


def test_windows_1251_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "old.csv",
        [HEADER, "845;2000000;2999999;1000000;ПАО Ростелеком;Саратовская обл.;Саратовская область;1"],
        encoding="cp1251",
    )
    registry = Registry.from_files([path])
    entry = registry.lookup("+78452500000")
    assert entry is not None
    assert entry.region == "Саратовская обл."
    assert entry.zones == ("Europe/Saratov",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("9a3;1200000;1399999;1;X;Омская обл.;Омская область;1", "line 2: АВС/ DEF: expected up to 3 digits"),
        ("913;12000000;1399999;1;X;Омская обл.;Омская область;1", "line 2: От: expected up to 7 digits"),
        ("913;1200000;;1;X;Омская обл.;Омская область;1", "line 2: До: expected up to 7 digits"),
        ("913;1399999;1200000;1;X;Омская обл.;Омская область;1", "line 2: До 1200000 is below От 1399999"),
        ("913;1200000;1399999;1;X;Омская обл.", "line 2: expected 8 fields separated by ';', got 6"),
        ("13;1200000;1399999;1;X;Омская обл.;Омская область;1", "line 2: АВС/ DEF: expected a 3-digit code"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "bad.csv", [HEADER, line])
    with pytest.raises(RegistryError) as error:
        read_registry_file(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_not_a_registry_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "list.csv", ["phone;name", "+79131234567;Ivan"])
    with pytest.raises(RegistryError, match="line 1: not a numbering registry header"):
        read_registry_file(path)
    with pytest.raises(RegistryError, match="cannot read"):
        read_registry_file(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(RegistryError, match="empty file"):
        read_registry_file(empty)


def test_overlapping_ranges_are_refused() -> None:
    rows = [
        RegistryRow(79130000000, 79130099999, "A", "Омская обл."),
        RegistryRow(79130099999, 79130199999, "B", "Томская обл."),
    ]
    with pytest.raises(RegistryError, match="overlapping registry ranges"):
        Registry.from_rows(rows)


def test_lookup_edges_of_a_range() -> None:
    registry = Registry.from_rows(
        [
            RegistryRow(79130000000, 79130099999, "A", "Омская обл."),
            RegistryRow(79130200000, 79130299999, "B", "Томская обл."),
        ]
    )
    assert registry.lookup("+79130000000").operator == "A"  # type: ignore[union-attr]
    assert registry.lookup("+79130099999").operator == "A"  # type: ignore[union-attr]
    assert registry.lookup("+79130100000") is None  # gap between ranges
    assert registry.lookup("+79130199999") is None
    assert registry.lookup("+79130200000").zones == ("Asia/Tomsk",)  # type: ignore[union-attr]
    assert registry.lookup("+79130299999") is not None
    assert registry.lookup("+79130300000") is None
    assert registry.lookup("+79129999999") is None  # below the first range
    for malformed in ("79130000000", "+7913000000", "+791300000000", "+7913000000x", "+7 913000000", "+1913000000"):
        assert registry.lookup(malformed) is None


def test_region_without_subject_has_no_zone() -> None:
    registry = Registry.from_rows(
        [
            RegistryRow(79000000000, 79000000999, "X", "Российская Федерация", "Российская Федерация"),
            RegistryRow(79000001000, 79000001999, "X", "-", "Курская область"),
        ]
    )
    assert registry.lookup("+79000000500").zones == ()  # type: ignore[union-attr]
    # "-" in Регион: Территория ГАР still names the subject.
    assert registry.lookup("+79000001500").subjects == (Subject.KURSK,)  # type: ignore[union-attr]


# Real ranges of the DEF-9xx registry (snapshot in shared/data), at least one per Russian UTC offset.
REAL_NUMBERS = [
    ("+79003450000", "Калининградская обл.", "Europe/Kaliningrad", 2),
    ("+79001400000", "г. Москва * Московская область", "Europe/Moscow", 3),
    ("+79006599999", "г. Санкт-Петербург и Ленинградская область", "Europe/Moscow", 3),
    ("+79005200000", "Кировская обл.", "Europe/Kirov", 3),
    ("+79001740000", "Волгоградская обл.", "Europe/Volgograd", 3),
    ("+79003200000", "Республика Татарстан", "Europe/Moscow", 3),
    ("+79490000000", "Донецкая Народная Республика", "Europe/Moscow", 3),
    ("+79410100000", "Республика Крым и г. Севастополь", "Europe/Simferopol", 3),
    ("+79001760000", "Самарская обл.", "Europe/Samara", 4),
    ("+79011315800", "Удмуртская Республика", "Europe/Samara", 4),
    ("+79001650000", "Саратовская обл.", "Europe/Saratov", 4),
    ("+79004460000", "Ульяновская обл.", "Europe/Ulyanovsk", 4),
    ("+79011315900", "Астраханская обл.", "Europe/Astrakhan", 4),
    ("+79000300000", "Свердловская обл.", "Asia/Yekaterinburg", 5),
    ("+79011520000", "Республика Башкортостан", "Asia/Yekaterinburg", 5),
    ("+79003850000", "Ханты - Мансийский - Югра АО", "Asia/Yekaterinburg", 5),
    ("+79006700000", "Омская обл.", "Asia/Omsk", 6),
    ("+79011319000", "Новосибирская обл.", "Asia/Novosibirsk", 7),
    ("+79008375000", "Томская обл.", "Asia/Tomsk", 7),
    ("+79000500000", "Кемеровская обл.", "Asia/Novokuznetsk", 7),
    ("+79001630000", "Алтайский край", "Asia/Barnaul", 7),
    ("+79010135500", "Красноярский край", "Asia/Krasnoyarsk", 7),
    ("+79001600000", "Республика Тыва", "Asia/Krasnoyarsk", 7),
    ("+79008377000", "Иркутская обл.", "Asia/Irkutsk", 8),
    ("+79010135300", "Республика Бурятия", "Asia/Irkutsk", 8),
    ("+79010135600", "Забайкальский край", "Asia/Chita", 9),
    ("+79010136800", "Амурская обл.", "Asia/Yakutsk", 9),
    ("+79011340000", "Приморский край", "Asia/Vladivostok", 10),
    ("+79003360000", "Хабаровский край", "Asia/Vladivostok", 10),
    ("+79004050000", "Магаданская обл.", "Asia/Magadan", 11),
    ("+79004250000", "Сахалинская обл.", "Asia/Sakhalin", 11),
    ("+79001750000", "Камчатский край", "Asia/Kamchatka", 12),
    ("+79003350000", "Чукотский АО", "Asia/Anadyr", 12),
]


@pytest.mark.parametrize(("phone", "region", "zone", "offset"), REAL_NUMBERS)
def test_real_registry_numbers_resolve_to_their_zone(
    def_registry: Registry, phone: str, region: str, zone: str, offset: int
) -> None:
    entry = def_registry.lookup(phone)
    assert entry is not None
    assert entry.region == region
    assert entry.zones == (zone,)
    instant = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert instant.astimezone(zone_info(zone)).utcoffset().total_seconds() == offset * 3600  # type: ignore[union-attr]


def test_real_numbers_cover_twenty_regions_and_all_eleven_offsets() -> None:
    assert len({region for _, region, _, _ in REAL_NUMBERS}) >= 20
    assert {offset for *_, offset in REAL_NUMBERS} == set(range(2, 13))


def test_real_yakutia_range_keeps_all_three_candidates(def_registry: Registry) -> None:
    entry = def_registry.lookup("+79019319000")
    assert entry is not None
    assert entry.subjects == (Subject.SAKHA,)
    assert entry.zones == ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk")


def test_every_named_region_of_the_real_file_gets_a_zone(def_registry: Registry, def_registry_path: Path) -> None:
    lines = def_registry_path.read_text(encoding="utf-8-sig").splitlines()
    assert len(def_registry) == sum(1 for line in lines[1:] if line.strip())
    nameless = {"-", "Российская Федерация"}
    for entry in def_registry:
        if entry.region in nameless and entry.territory in nameless | {""}:
            assert entry.zones == ()
        else:
            assert entry.zones, f"no zone for {entry.region!r} / {entry.territory!r}"
            assert len(entry.subjects) <= 2, entry


def test_lookup_agrees_with_a_bare_bisect(def_registry: Registry) -> None:
    entries = list(def_registry)
    starts = [entry.start for entry in entries]
    ends = [entry.end for entry in entries]
    rng = random.Random(7)
    for _ in range(5000):
        number = rng.randint(79000000000, 79999999999)
        index = bisect.bisect_right(starts, number) - 1
        expected = entries[index] if index >= 0 and number <= ends[index] else None
        assert def_registry.lookup(f"+{number}") is expected
