"""Rows to chunks: bounded batches of contact candidates (with their COPY lines) and rejects.

Runs in a worker thread, ahead of the database: while PostgreSQL stores chunk N, chunk N+1 is read,
normalized and formatted. A number repeated inside a chunk is held back here (the database sees each
number once per chunk) and gets its first occurrence's verdict: on DNC if that one is, else duplicate.
A chunk keeps its candidates as parallel lists of strings and ints, not one object per candidate: the
garbage collector then has nothing to walk in them (its passes over the two chunks held in memory
cost more than a microsecond a row).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

from dialer.lists.columns import HEADER_SEARCH_ROWS, ColumnPlan, plan_columns
from dialer.lists.copy_format import ContactLines, with_subscriber_zones
from dialer.lists.errors import EmptyFileError, MissingColumnError
from dialer.lists.model import ContactRow, Reject, RejectReason
from dialer.lists.rows import RowInterpreter
from dialer.lists.seen import SeenNumbers
from dialer.lists.sources import RowSource
from dialer.lists.store import INLINE_KEYS_MAX, KeyChecks, Keys

# The database waits for the first chunk; a small one gets it working sooner.
_FIRST_CHUNK = 5_000
_MAX_CHUNK_CHARS = 16 * 1024 * 1024


@dataclass(slots=True)
class Chunk:
    """Contact candidates, each number once: the `index`-th has `phones[index]`, `lines[index]`, ..."""

    phones: list[str] = field(default_factory=list)  # E.164
    lines: list[str] = field(default_factory=list)  # COPY line of each contact
    source_rows: list[int] = field(default_factory=list)  # where each came from, for the report
    source_columns: list[str] = field(default_factory=list)
    source_values: list[str] = field(default_factory=list)
    unknown_zones: list[int] = field(default_factory=list)  # indexes of the contacts without a zone
    repeats: list[tuple[int, ContactRow]] = field(default_factory=list)  # (index of first, repeat)
    grouped: dict[int, str] = field(default_factory=dict)  # subscriber of each contact whose number is not alone
    keys: Keys = field(default_factory=lambda: Keys(0, [], [], []))  # the numbers the database must check
    data: bytes = b""  # all `lines` as COPY data, prepared (and `lines` dropped) when nothing is to check
    rejects: list[Reject] = field(default_factory=list)
    total: int = 0  # phone values in this chunk
    rows: int = 0  # data rows read so far (whole file)
    position: int = 0  # of the source's size, after this chunk

    def reject(self, index: int, reason: RejectReason, message: str) -> Reject:
        """The report line of the `index`-th contact, turned down by the database."""
        return Reject(self.source_rows[index], self.source_columns[index], self.source_values[index], reason, message)

    def seal(self, checks: KeyChecks, maybe_seen: list[int]) -> None:
        """Prepare what the database side needs: the numbers to check (see KeyChecks), the COPY data."""
        phones = self.phones
        if checks.stage_all:
            idx = list(range(len(phones)))
            recheck = set(maybe_seen)
            probe = [True] * len(phones) if checks.probe_all else [i in recheck for i in idx]
        else:
            idx = list(maybe_seen)
            probe = [True] * len(idx)
        phone = list(phones) if checks.stage_all else [phones[i] for i in idx]
        if len(idx) > INLINE_KEYS_MAX:
            text = "".join([f"{i}\t{'t' if p else 'f'}\t{n}\n" for i, p, n in zip(idx, probe, phone, strict=True)])
            self.keys = Keys(len(idx), [], [], [], text.encode())
        else:
            self.keys = Keys(len(idx), idx, probe, phone)
        if not self.keys.count:
            # Nothing to check, nothing the database can reject: keep only the COPY data (half the memory).
            self.data = "".join(self.lines).encode()
            self.lines = []


class SubscriberZones:
    """The zones of subscribers with several numbers, written with their contacts as the file is read.

    A subscriber's numbers are mostly in one row or in rows next to each other, so in one chunk: their
    union is written on each of their contacts' COPY lines (`subscriber_zones`). What a chunk cannot
    see is left to the import's closing pass (`store._SUBSCRIBER_ZONES`), which reads the campaign's
    contacts: every subscriber of the campaign when it had contacts before this import, else only the
    subscribers this import could not settle (`unsettled`): met in several chunks, or with a number the
    database turned down (`turned_down`). Earlier chunks' subscribers are known by one bit of a fixed
    bitmap (8 MB, whatever the list's size), so some others are taken for them too (about 1.5 % of a
    million): they are read again, which costs little. Past `UNSETTLED_MAX`, the pass reads them all.
    """

    UNSETTLED_MAX = 100_000
    _BITS = 1 << 26

    def __init__(self) -> None:
        self._first: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._groups: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        self._earlier = bytearray(self._BITS >> 3)  # a bit per hash of the subscribers of earlier chunks
        self._unsettled: set[str] = set()

    def add(self, key: str, index: int, zones: tuple[str, ...]) -> None:
        first = self._first.get(key)
        if first is None:
            self._first[key] = (index, zones)
            return
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = [first, (index, zones)]
        else:
            group.append((index, zones))

    def write(self, chunk: Chunk) -> None:
        """Set `subscriber_zones` on the chunk's lines of every subscriber whose numbers span zones."""
        lines = chunk.lines
        for key, group in self._groups.items():
            union = {zone for _, zones in group for zone in zones}
            if len(union) > 1:
                ordered = tuple(sorted(union))  # code point order: PostgreSQL's "C", as the closing pass sorts
                for index, _ in group:
                    lines[index] = with_subscriber_zones(lines[index], ordered)
            for index, _ in group:
                chunk.grouped[index] = key
        earlier, unsettled, mask = self._earlier, self._unsettled, self._BITS - 1
        for key in self._first:
            bit = hash(key) & mask
            if earlier[bit >> 3] & (1 << (bit & 7)):
                unsettled.add(key)
            else:
                earlier[bit >> 3] |= 1 << (bit & 7)
        self._first.clear()
        self._groups.clear()

    def turned_down(self, key: str) -> None:
        """A number of the subscriber `key` is not stored (DNC, already a contact): its zone does not count."""
        self._unsettled.add(key)

    @property
    def unsettled(self) -> list[str] | None:
        """The subscribers the closing pass must read, or None for all of the campaign's."""
        return None if len(self._unsettled) > self.UNSETTLED_MAX else sorted(self._unsettled)


def _quoted(cells: list[str]) -> str:
    shown = [repr(cell.strip()) for cell in cells if cell.strip()][:30]
    return ", ".join(shown) or "(blank)"


def find_header(
    rows: Iterator[tuple[int, list[str]]], where: str, subscriber_column: str, subscriber_explicit: bool
) -> ColumnPlan:
    """The header row (the first of the first few non-blank rows that names a phone column)."""
    first: tuple[int, list[str]] | None = None
    seen = 0
    for number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        first = first or (number, cells)
        plan = plan_columns(cells, number, subscriber_column)
        if plan is not None:
            if subscriber_explicit and plan.subscriber is None:
                raise MissingColumnError(
                    f"{where}: row {number}: no subscriber column {subscriber_column!r} (a header, or column "
                    f"letters such as C); "
                    f"headers found: {_quoted(cells)}"
                )
            return plan
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise EmptyFileError(f"{where}: the file has no rows")
    raise MissingColumnError(
        f"{where}: no phone column (a header named phone, телефон, номер, number or msisdn); "
        f"headers found in row {first[0]}: {_quoted(first[1])}"
    )


def read_chunks(
    source: RowSource,
    rows: Iterator[tuple[int, list[str]]],
    interpreter: RowInterpreter,
    lines: ContactLines,
    checks: KeyChecks,
    chunk_size: int,
    where: str,
    subscribers: SubscriberZones | None = None,
) -> Generator[Chunk, None, None]:
    """Chunks of at most `chunk_size` candidates (and about 16 MB of COPY text); `subscribers` sees
    every contact and writes the zones of the subscribers with several numbers."""
    chunk = Chunk()
    first_index: dict[str, int] = {}
    seen = SeenNumbers()
    maybe_seen: list[int] = []
    seen_before = None if checks.probe_all else seen.check_and_add
    chars = 0
    data_rows = 0
    limit = min(chunk_size, _FIRST_CHUNK)
    staged: list[ContactRow] = []
    subscribers = subscribers or SubscriberZones()
    add_subscriber = subscribers.add
    format_line = lines.line
    interpret = interpreter.interpret
    problems = source.problems
    # Rows read for the header (it and any title rows above it) are no data rows: their repairs are notes.
    for number in sorted(problems):
        chunk.rejects.append(interpreter.header_note(number, problems.pop(number)))
    while True:
        phones, lines_, rejects, repeats = chunk.phones, chunk.lines, chunk.rejects, chunk.repeats
        source_rows, source_columns, source_values = chunk.source_rows, chunk.source_columns, chunk.source_values
        unknown_zones = chunk.unknown_zones
        total = 0
        for number, cells in rows:
            problem = problems.pop(number, None) if problems else None
            counted = interpret(number, cells, source.bad_bytes_seen, staged, rejects, problem)
            if not counted:
                continue
            data_rows += 1
            total += counted
            for contact in staged:
                phone = contact.phone
                first = first_index.get(phone)
                if first is not None:
                    repeats.append((first, contact))
                    continue
                index = first_index[phone] = len(phones)
                if seen_before is not None and seen_before(phone):
                    maybe_seen.append(index)
                phones.append(phone)
                source_rows.append(contact.row)
                source_columns.append(contact.column)
                source_values.append(contact.raw)
                if contact.zone.zone is None:
                    unknown_zones.append(index)
                add_subscriber(contact.subscriber_key, index, contact.zone.candidates)
                line = format_line(contact)
                lines_.append(line)
                chars += len(line)
            staged.clear()
            if len(phones) >= limit or len(rejects) >= limit or chars >= _MAX_CHUNK_CHARS:
                break
        else:
            break
        chunk.total = total
        chunk.rows = data_rows
        chunk.position = source.position()
        subscribers.write(chunk)
        chunk.seal(checks, maybe_seen)
        yield chunk
        limit = chunk_size
        chunk = Chunk()
        first_index.clear()
        maybe_seen.clear()
        chars = 0
    if data_rows == 0:
        raise EmptyFileError.under_header(where, interpreter.plan.header_row)
    chunk.total = total
    if chunk.total or chunk.rejects:
        chunk.rows = data_rows
        chunk.position = source.position()
        subscribers.write(chunk)
        chunk.seal(checks, maybe_seen)
        yield chunk
