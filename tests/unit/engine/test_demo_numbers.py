"""The demo's call list: numbers inside real registry ranges of the zones asked, behaviours by last digit."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from compliance import Registry, RegistryRow
from dialer.demo.numbers import BUILTIN_PREFIXES, generate, write_csv

ROWS = [
    RegistryRow(79130000000, 79130999999, "op", "Новосибирская обл."),
    RegistryRow(79160000000, 79160999999, "op", "г. Москва"),
]


def test_numbers_come_from_the_zones_ranges(tmp_path: Path) -> None:
    registry = Registry.from_rows(ROWS)
    subs = generate(random.Random(1), {"Asia/Novosibirsk": 20, "Europe/Moscow": 20}, registry, first_names=["A"])
    assert len(subs) == 40 and len({s.key for s in subs}) == 40
    phones = [p for s in subs for p in s.phones]
    assert len(phones) == len(set(phones)) and any(len(s.phones) > 1 for s in subs)
    for s in subs:
        for p in s.phones:
            entry = registry.lookup(p)
            assert entry is not None and entry.zones == (s.zone,)
    assert {p[-1] for p in phones} >= {"0", "1", "5"}
    path = tmp_path / "list.csv"
    write_csv(path, subs, with_zone=False)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["additional", "name", "phone", "phone2", "phone3"] and len(rows) == 41


def test_builtin_prefixes_without_a_registry(tmp_path: Path) -> None:
    subs = generate(random.Random(2), dict.fromkeys(BUILTIN_PREFIXES, 2), None, first_names=["B"])
    for s in subs:
        for p in s.phones:
            assert len(p) == 12 and p.startswith("+79")
    path = tmp_path / "list.csv"
    write_csv(path, subs, with_zone=True)
    assert next(csv.reader(path.open(encoding="utf-8")))[-1] == "timezone"
