"""The Russian numbering registry (open data of the Ministry of Digital Development): ranges -> region.

Files (DEF-9xx mobile, ABC-3xx/4xx/8xx fixed line) share one format, UTF-8 with BOM, `;`-separated:
`АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН`. Lookup is a binary search over sorted,
non-overlapping ranges of E.164 numbers held as integers, without parsing the number with libphonenumber.
"""

from __future__ import annotations

import csv
import hashlib
import io
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from compliance.errors import RegistryError
from compliance.regions import Subject, match_subjects, zones_for_subjects

HEADER = ("АВС/ DEF", "От", "До", "Емкость", "Оператор", "Регион", "Территория ГАР", "ИНН")
_COUNTRY = 7 * 10**10  # +7 followed by 10 national digits


@dataclass(frozen=True, slots=True)
class RegistryRow:
    """One range of the registry as stored (file or database): E.164 numbers as integers, inclusive."""

    start: int
    end: int
    operator: str
    region: str
    territory: str = ""
    inn: str = ""


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """What the registry says about a number: its range, operator, region and time zone(s)."""

    start: int
    end: int
    operator: str
    region: str  # the registry's own `Регион` text
    territory: str  # `Территория ГАР`, sometimes narrower than the region
    subjects: tuple[Subject, ...]
    zones: tuple[str, ...]  # empty when the range names no region ("-", "Российская Федерация")


@dataclass(frozen=True, slots=True)
class RegistryFile:
    """A parsed registry file: its identity (name, kind, digest) and its rows in file order."""

    name: str
    kind: str  # "DEF-9xx", "ABC-3xx", "ABC-4xx", "ABC-8xx", "mixed" or "empty"
    sha256: str
    rows: tuple[RegistryRow, ...] = field(repr=False)


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older publications of the registry were in Windows-1251.
        try:
            return data.decode("cp1251")
        except UnicodeDecodeError as exc:  # pragma: no cover - cp1251 decodes almost anything
            raise RegistryError(f"{path}: neither UTF-8 nor Windows-1251 text") from exc


def _split(line: str) -> list[str]:
    fields = line.split(";")
    if len(fields) != len(HEADER):
        # A field may be quoted when it contains the separator.
        fields = next(csv.reader(io.StringIO(line), delimiter=";"), [])
    return [value.strip() for value in fields]


def _digits(value: str, width: int, where: str, column: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > width:
        raise RegistryError(f"{where}: {column}: expected up to {width} digits, got {value!r}")
    return int(value)


def parse_registry(text: str, name: str) -> Iterator[RegistryRow]:
    """Rows of a registry file's text; errors name `name`, the line number and the column."""
    lines = text.splitlines()
    if not lines:
        raise RegistryError(f"{name}: empty file")
    header = tuple(_split(lines[0]))
    if len(header) != len(HEADER) or header[1:3] != HEADER[1:3]:
        raise RegistryError(f"{name}: line 1: not a numbering registry header: {lines[0][:120]!r}")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{name}: line {number}"
        fields = _split(line)
        if len(fields) != len(HEADER):
            raise RegistryError(f"{where}: expected {len(HEADER)} fields separated by ';', got {len(fields)}")
        code = _digits(fields[0], 3, where, HEADER[0])
        first = _digits(fields[1], 7, where, HEADER[1])
        last = _digits(fields[2], 7, where, HEADER[2])
        if code < 100:
            raise RegistryError(f"{where}: {HEADER[0]}: expected a 3-digit code, got {fields[0]!r}")
        if last < first:
            raise RegistryError(f"{where}: {HEADER[2]} {fields[2]} is below {HEADER[1]} {fields[1]}")
        base = _COUNTRY + code * 10**7
        yield RegistryRow(base + first, base + last, fields[4], fields[5], fields[6], fields[7])


def _kind(rows: Iterable[RegistryRow]) -> str:
    leading = {str(row.start)[1] for row in rows}
    if not leading:
        return "empty"
    if len(leading) != 1:
        return "mixed"
    digit = leading.pop()
    return f"DEF-{digit}xx" if digit == "9" else f"ABC-{digit}xx"


def read_registry_file(path: Path) -> RegistryFile:
    """Read and validate one registry file (DEF or ABC)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    rows = tuple(parse_registry(_decode(data, path), str(path)))
    return RegistryFile(path.name, _kind(rows), hashlib.sha256(data).hexdigest(), rows)


class Registry:
    """Sorted numbering ranges with their regions and zones; `lookup` is a bisection (hot path)."""

    __slots__ = ("_ends", "_entries", "_starts")

    def __init__(self, entries: Iterable[RegistryEntry]) -> None:
        ordered = sorted(entries, key=lambda entry: entry.start)
        for previous, current in pairwise(ordered):
            if current.start <= previous.end:
                raise RegistryError(
                    f"overlapping registry ranges +{previous.start}..+{previous.end} ({previous.region}) "
                    f"and +{current.start}..+{current.end} ({current.region}); give one file per kind "
                    "(DEF-9xx, ABC-3xx, ABC-4xx, ABC-8xx)"
                )
        self._starts = [entry.start for entry in ordered]
        self._ends = [entry.end for entry in ordered]
        self._entries = ordered

    @classmethod
    def from_rows(cls, rows: Iterable[RegistryRow]) -> Registry:
        """Build from stored rows (e.g. the `registry_ranges` table); region text -> zones is cached."""
        cache: dict[tuple[str, str], tuple[tuple[Subject, ...], tuple[str, ...]]] = {}
        interned: dict[str, str] = {}

        def entry(row: RegistryRow) -> RegistryEntry:
            key = (row.region, row.territory)
            resolved = cache.get(key)
            if resolved is None:
                # Территория ГАР is the official address register and may be narrower; the
                # registry's Регион is the fallback ("-" or "Российская Федерация" name no subject).
                subjects = match_subjects(row.territory) or match_subjects(row.region)
                resolved = (subjects, zones_for_subjects(subjects, f"{row.territory} {row.region}"))
                cache[key] = resolved
            return RegistryEntry(
                row.start,
                row.end,
                interned.setdefault(row.operator, row.operator),
                interned.setdefault(row.region, row.region),
                interned.setdefault(row.territory, row.territory),
                resolved[0],
                resolved[1],
            )

        return cls(entry(row) for row in rows)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> Registry:
        """Load one or more registry files (e.g. DEF-9xx.csv plus ABC-3xx/4xx/8xx.csv)."""
        rows: list[RegistryRow] = []
        for path in paths:
            rows.extend(read_registry_file(Path(path)).rows)
        return cls.from_rows(rows)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RegistryEntry]:
        return iter(self._entries)

    def lookup(self, e164: str) -> RegistryEntry | None:
        """The range holding `e164` (`+7XXXXXXXXXX`), or None (not Russian, not allocated, malformed)."""
        if len(e164) != 12 or not e164.startswith("+7"):
            return None
        digits = e164[1:]
        if not (digits.isascii() and digits.isdigit()):
            return None
        number = int(digits)
        index = bisect_right(self._starts, number) - 1
        if index >= 0 and number <= self._ends[index]:
            return self._entries[index]
        return None
