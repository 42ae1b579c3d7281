"""A call list that looks real: numbers from the numbering registry's ranges in many Russian zones,
subscribers with several numbers, and a last digit that chooses what the sandbox network does."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from compliance import Registry

__all__ = ["BUILTIN_PREFIXES", "DemoSubscriber", "generate", "write_csv"]

# Last digit -> behaviour of [pstn-sim] (asterisk/README.md), with the share of numbers getting it.
BEHAVIOURS: tuple[tuple[str, float], ...] = (
    ("0", 0.12), ("6", 0.12), ("7", 0.12), ("8", 0.12), ("9", 0.12),  # a person answers
    ("1", 0.12),  # busy
    ("2", 0.08),  # rings, never answers
    ("3", 0.04),  # network congestion
    ("4", 0.04),  # invalid number
    ("5", 0.12),  # answering machine
)

# Without the registry file: real DEF codes of operators' home regions, one zone each. The list then
# carries the zone explicitly (a list may name it), since a mobile number alone does not tell it.
BUILTIN_PREFIXES: dict[str, tuple[str, ...]] = {
    "Europe/Kaliningrad": ("+7911452", "+7921610"),
    "Europe/Moscow": ("+7916123", "+7925744", "+7903555"),
    "Europe/Samara": ("+7927204", "+7937654"),
    "Asia/Yekaterinburg": ("+7912230", "+7922111"),
    "Asia/Omsk": ("+7913600", "+7904582"),
    "Asia/Novosibirsk": ("+7913912", "+7923111"),
    "Asia/Irkutsk": ("+7914870", "+7950120"),
    "Asia/Yakutsk": ("+7914225", "+7924166"),
    "Asia/Vladivostok": ("+7914700", "+7924234"),
    "Asia/Magadan": ("+7914855", "+7924690"),
    "Asia/Kamchatka": ("+7914780", "+7924790"),
}


@dataclass(frozen=True, slots=True)
class DemoSubscriber:
    key: str
    name: str
    zone: str
    phones: tuple[str, ...]


def _digit(rng: random.Random) -> str:
    return rng.choices([d for d, _ in BEHAVIOURS], weights=[w for _, w in BEHAVIOURS])[0]


def _ranges_by_zone(registry: Registry) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for entry in registry:
        if len(entry.zones) == 1 and entry.end - entry.start >= 999:
            out.setdefault(entry.zones[0], []).append((entry.start, entry.end))
    return out


def _number_in(rng: random.Random, start: int, end: int, digit: str) -> str:
    value = rng.randrange(start, end + 1)
    value = value - value % 10 + int(digit)
    if value > end:
        value -= 10
    return f"+{value}"


def generate(
    rng: random.Random, zones: dict[str, int], registry: Registry | None, *, first_names: Sequence[str],
) -> list[DemoSubscriber]:
    """`zones`: how many subscribers per zone; each gets one to three numbers."""
    ranges = _ranges_by_zone(registry) if registry is not None else {}
    subscribers: list[DemoSubscriber] = []
    seen: set[str] = set()
    for zone, count in zones.items():
        for _ in range(count):
            phones: list[str] = []
            for _ in range(rng.choice((1, 2, 2, 3))):
                while True:
                    digit = _digit(rng)
                    if ranges.get(zone):
                        number = _number_in(rng, *rng.choice(ranges[zone]), digit)
                    else:
                        prefix = rng.choice(BUILTIN_PREFIXES[zone])
                        number = f"{prefix}{rng.randrange(1000):03d}"[:11] + digit
                    if number not in seen:
                        seen.add(number)
                        phones.append(number)
                        break
            index = len(subscribers) + 1
            subscribers.append(DemoSubscriber(f"C-{index:05d}", f"{rng.choice(first_names)} #{index}", zone,
                                              tuple(phones)))
    return subscribers


def write_csv(path: Path, subscribers: Sequence[DemoSubscriber], *, with_zone: bool) -> None:
    """`additional` is the subscriber id the caps count by (the campaign's subscriber column)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = ["additional", "name", "phone", "phone2", "phone3"] + (["timezone"] if with_zone else [])
        writer.writerow(header)
        for s in subscribers:
            phones = list(s.phones) + [""] * (3 - len(s.phones))
            writer.writerow([s.key, s.name, *phones] + ([s.zone] if with_zone else []))
