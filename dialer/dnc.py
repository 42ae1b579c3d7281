"""The do-not-call list of a company: add numbers, import a file of numbers, look companies up.

A number added to the list is excluded from every later import of the company's campaigns (counted
as `dnc`), and contacts already waiting to be dialed (`ready`) in its campaigns become `excluded`.
A contact a worker holds at that moment (in its queue, or on a call that may end in a retry) is
excluded by the compliance gate when it is next due (dialer.reservations): no listed number is dialed.
DNC changes take the company's advisory lock exclusively, so they never interleave with an import.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from compliance import Registry
from dialer.companies import DEFAULT_COMPANY
from dialer.db.models import LAST_ATTEMPT_OUTCOME_SQL, ExcludedBy
from dialer.errors import InvalidValueError
from dialer.lists.columns import ColumnPlan
from dialer.lists.connection import Database, transaction
from dialer.lists.errors import EmptyFileError, UnknownCompanyError
from dialer.lists.model import Reject, RejectReason
from dialer.lists.numbers import plan_numbers
from dialer.lists.phones import PhoneError, is_placeholder, normalize, split_cell
from dialer.lists.rows import with_area_code
from dialer.lists.sources import open_source, row_source
from dialer.lists.store import LOCK_COMPANY_DNC

_CHUNK = 50_000
_SHOWN_INVALID = 20


@dataclass(frozen=True, slots=True)
class DncSummary:
    """`total` phone values given; `added` new entries; `already` listed before or repeated."""

    company: str
    total: int
    added: int
    already: int
    invalid: int
    contacts_excluded: int
    invalid_examples: tuple[Reject, ...]  # the first few, for the message

    def as_json(self) -> dict[str, Any]:
        return {
            "company": self.company,
            "total": self.total,
            "added": self.added,
            "already": self.already,
            "invalid": self.invalid,
            "contacts_excluded": self.contacts_excluded,
        }


async def resolve_company(conn: psycopg.AsyncConnection[Any], name: str | None) -> tuple[int, str]:
    """(id, name) of the named company; with no name, the company `default`, created on demand."""
    if name is None:
        await conn.execute(
            "INSERT INTO companies (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (DEFAULT_COMPANY,)
        )
        name = DEFAULT_COMPANY
    cur = await conn.execute("SELECT id, name FROM companies WHERE name = %s", (name,))
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute("SELECT name FROM companies ORDER BY name LIMIT 20")
        known = ", ".join(str(r[0]) for r in await cur.fetchall()) or "none yet"
        raise UnknownCompanyError(f"unknown company {name!r}; companies: {known}")
    return int(row[0]), str(row[1])


async def _store(
    conn: psycopg.AsyncConnection[Any], company_id: int, source: str, batches: AsyncIterator[list[str]]
) -> tuple[int, int]:
    """Stage numbers, add the new ones, exclude waiting contacts; return (added, contacts excluded)."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_COMPANY_DNC, company_id))
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS dnc_keys (phone text NOT NULL) ON COMMIT DROP")
    await conn.execute("TRUNCATE dnc_keys")
    async for batch in batches:
        async with conn.cursor().copy("COPY dnc_keys (phone) FROM STDIN") as copy:
            await copy.write("".join(f"{phone}\n" for phone in batch).encode())
    cur = await conn.execute(
        "INSERT INTO dnc (company_id, phone, source) SELECT DISTINCT %s, phone, %s FROM dnc_keys "
        "ON CONFLICT (company_id, phone) DO NOTHING",
        (company_id, source),
    )
    added = cur.rowcount
    cur = await conn.execute(
        "UPDATE contacts c SET state = 'excluded', last_outcome = %s, updated_at = now() "
        "FROM campaigns g WHERE g.company_id = %s AND c.campaign_id = g.id AND c.state = 'ready' "
        "AND c.phone IN (SELECT phone FROM dnc_keys)",
        (ExcludedBy.DO_NOT_CALL.value, company_id),
    )
    return added, cur.rowcount


@dataclass(frozen=True, slots=True)
class DncRemoval:
    """`total` numbers given; `removed` taken off the list; `not_listed` were not on it (or repeated);
    `contacts_restored` contacts the list had excluded, back in the queue of `campaign_ids`."""

    company: str
    total: int
    removed: int
    not_listed: int
    contacts_restored: int
    campaign_ids: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "company": self.company,
            "total": self.total,
            "removed": self.removed,
            "not_listed": self.not_listed,
            "contacts_restored": self.contacts_restored,
        }


async def remove_dnc_numbers(
    db: Database, phones: Iterable[str], company: str | None = None, *, registry: Registry | None = None
) -> DncRemoval:
    """Take numbers off a company's list; invalid numbers raise InvalidNumbersError, nothing removed.

    Contacts the list excluded (`last_outcome` do-not-call, by `dnc add` or by the gate) wait to be
    dialed again, with their attempts, retry time and last call's outcome as they were; the caller wakes
    their campaigns (`dialer.lifecycle.after_contacts_added`). Contacts excluded for another reason stay
    excluded.
    """
    given = list(phones)
    numbers = set(_numbers(given, registry, "removed"))
    async with transaction(db) as conn:
        company_id, company_name = await resolve_company(conn, company)
        await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_COMPANY_DNC, company_id))
        cur = await conn.execute(
            "DELETE FROM dnc WHERE company_id = %s AND phone = ANY(%s::text[]) RETURNING phone",
            (company_id, sorted(numbers)),
        )
        removed = [str(row[0]) for row in await cur.fetchall()]
        cur = await conn.execute(
            f"UPDATE contacts c SET state = 'ready', last_outcome = {LAST_ATTEMPT_OUTCOME_SQL}, updated_at = now() "
            "FROM campaigns g WHERE g.company_id = %s AND c.campaign_id = g.id AND c.state = 'excluded' "
            "AND c.last_outcome = %s AND c.phone = ANY(%s::text[]) RETURNING c.campaign_id",
            (company_id, ExcludedBy.DO_NOT_CALL.value, removed),
        )
        campaigns = [int(row[0]) for row in await cur.fetchall()]
    return DncRemoval(company_name, len(given), len(removed), len(given) - len(removed), len(campaigns),
                      tuple(sorted(set(campaigns))))


@dataclass(frozen=True, slots=True)
class DncEntry:
    phone: str
    source: str | None  # cli, api, file:NAME
    added_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"phone": self.phone, "source": self.source, "added_at": self.added_at.isoformat()}


async def dnc_entries(
    db: Database, company: str | None = None, phones: Iterable[str] | None = None
) -> AsyncIterator[DncEntry]:
    """The company's list in number order, streamed (a server-side cursor); only `phones` (E.164) if given."""
    wanted = None if phones is None else sorted(set(phones))
    async with transaction(db) as conn:
        company_id, _ = await resolve_company(conn, company)
        cursor = conn.cursor(name="dnc_entries")
        cursor.itersize = 10_000
        await cursor.execute(
            "SELECT phone, source, added_at FROM dnc WHERE company_id = %s "
            "AND (%s::text[] IS NULL OR phone = ANY(%s::text[])) ORDER BY phone",
            (company_id, wanted, wanted),
        )
        async for phone, source, added_at in cursor:
            yield DncEntry(phone, source, added_at)


class InvalidNumbersError(InvalidValueError):
    """Numbers given to add or remove that are no valid numbers: nothing was changed. `numbers` holds
    each one's (position from 0, value, why); `field` names the first (`phones.N`)."""

    def __init__(self, numbers: list[tuple[int, str, str]], nothing: str) -> None:
        listed = "; ".join(f"{raw!r}: {why}" for _, raw, why in numbers)
        super().__init__(f"phones.{numbers[0][0]}", f"invalid phone number(s), nothing {nothing}: {listed}")
        self.numbers = tuple(numbers)


def _numbers(phones: list[str], registry: Registry | None, nothing: str) -> list[str]:
    """The numbers in E.164; InvalidNumbersError naming every value that is none."""
    numbers: list[str] = []
    invalid: list[tuple[int, str, str]] = []
    for index, raw in enumerate(phones):
        phone = normalize(raw, registry=registry)
        if isinstance(phone, PhoneError):
            invalid.append((index, raw, phone.message))
        else:
            numbers.append(phone)
    if invalid:
        raise InvalidNumbersError(invalid, nothing)
    return numbers


async def add_dnc_numbers(
    db: Database,
    phones: Iterable[str],
    company: str | None = None,
    *,
    source: str = "cli",
    registry: Registry | None = None,
) -> DncSummary:
    """Add numbers (any spelling `normalize` accepts) to a company's list; one invalid number raises
    InvalidNumbersError, naming all of them, and nothing is added.

    `registry`: numbers in its ranges are valid even where libphonenumber does not know them yet (as
    in a call list import), so that every number a list can hold can also be listed here.
    """
    valid = _numbers(list(phones), registry, "added")
    async with transaction(db) as conn:
        company_id, company_name = await resolve_company(conn, company)
        added, excluded = await _store(conn, company_id, source, _one(valid))
    return DncSummary(company_name, len(valid), added, len(valid) - added, 0, excluded, ())


async def _one(batch: list[str]) -> AsyncIterator[list[str]]:
    yield batch


async def _in_thread(batches: Iterator[list[str]]) -> AsyncIterator[list[str]]:
    """Read the file in a worker thread, one batch at a time (constant memory)."""
    while (batch := await asyncio.to_thread(next, batches, None)) is not None:
        yield batch


class _DncFileReader:
    """Batches of valid numbers from a file; counts and keeps the invalid ones."""

    def __init__(
        self,
        rows: Iterator[tuple[int, list[str]]],
        plan: ColumnPlan,
        registry: Registry | None,
    ) -> None:
        self._rows = rows
        self._plan = plan
        self._registry = registry
        self.rows = 0
        self.total = 0
        self.valid = 0
        self.invalid: list[Reject] = []
        self.invalid_count = 0

    def batches(self) -> Iterator[list[str]]:
        batch: list[str] = []
        for number, cells in self._rows:
            if any(cell.strip() for cell in cells):
                self.rows += 1
            for index in self._plan.phones:
                if index >= len(cells):
                    continue
                for raw in split_cell(cells[index]):
                    phone = normalize(raw, registry=self._registry)
                    code = self._plan.area_code
                    if isinstance(phone, PhoneError) and code is not None and code < len(cells):
                        phone = with_area_code(raw, cells[code], self._registry) or phone
                    if isinstance(phone, PhoneError) and is_placeholder(raw):
                        continue
                    self.total += 1
                    if isinstance(phone, PhoneError):
                        self.invalid_count += 1
                        if len(self.invalid) < _SHOWN_INVALID:
                            column = self._plan.header(index)
                            self.invalid.append(
                                Reject(number, column, raw, RejectReason.INVALID_NUMBER, phone.message)
                            )
                        continue
                    self.valid += 1
                    batch.append(phone)
            if len(batch) >= _CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch


async def import_dnc_file(
    db: Database,
    source: Path | BinaryIO,
    company: str | None = None,
    *,
    sheet: str | None = None,
    filename: str | None = None,
    registry: Registry | None = None,
) -> DncSummary:
    """Add every number of a CSV/XLSX file (its phone columns, found as `lists import` finds them, or
    numbers without a header: `plan_numbers`) to the list.

    `registry` as for `add_dnc_numbers`."""
    with open_source(source, filename) as file:
        rows = await asyncio.to_thread(row_source, file, sheet)
        plan, row_iter = await asyncio.to_thread(plan_numbers, iter(rows), file.name, "")
        reader = _DncFileReader(row_iter, plan, registry)
        async with transaction(db) as conn:
            company_id, company_name = await resolve_company(conn, company)
            added, excluded = await _store(conn, company_id, f"file:{file.name}", _in_thread(reader.batches()))
            if not reader.rows:
                raise EmptyFileError.under_header(file.name, plan.header_row)
    return DncSummary(
        company_name,
        reader.total,
        added,
        reader.valid - added,
        reader.invalid_count,
        excluded,
        tuple(reader.invalid),
    )
