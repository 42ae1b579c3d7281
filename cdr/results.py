"""A campaign's results, one row per contact, as CSV or XLSX: what goes back to the CRM.

Each row: the contact (number, subscriber key, name, list), its `result`, state, attempts, last
outcome and AMD verdict, its last call, when a person last answered it (the caps ledger: answered by
a human) and when one last answered any of its subscriber's numbers in the campaign, its next dial
while it waits, then the call list's own columns (the extra columns an import kept) under their
headers. Instants are in the company's time zone (`report_timezone`), as in the CDR export.

`result` sums a contact up: `reached` (a person answered), `completed` (final without a person: an
answering machine the campaign does not retry, an answer too short to count), `not_reached`
(attempts exhausted, invalid number), `excluded` (do-not-call, no calling window), `pending`.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from cdr.errors import CdrUnknownCampaignError
from cdr.tabular import (
    Column,
    Escape,
    IsFormula,
    StreamedSheet,
    close_workbook,
    csv_cells,
    open_workbook,
    zone,
    zone_name,
)

__all__ = ["COLUMNS", "RESULT_COUNTS_SQL", "ContactResult", "export_results_csv", "export_results_xlsx"]


class ContactResult(enum.StrEnum):
    REACHED = "reached"
    COMPLETED = "completed"
    NOT_REACHED = "not_reached"
    EXCLUDED = "excluded"
    PENDING = "pending"


COLUMNS: tuple[Column, ...] = (
    ("contact_id", "number"),
    ("call_list_id", "number"),
    ("phone", "text"),
    ("subscriber_key", "text"),
    ("name", "text"),
    ("result", "text"),
    ("state", "text"),
    ("attempts", "number"),
    ("last_outcome", "text"),
    ("last_amd_status", "text"),
    ("last_call_at", "instant"),
    ("human_answered_at", "instant"),
    ("subscriber_reached_at", "instant"),
    ("next_attempt_at", "instant"),
    ("subscriber_timezone", "text"),
    # Not `timezone`: a list import would read a column of that name as each subscriber's zone.
    ("report_timezone", "text"),
)

_CAMPAIGN_SQL = """
SELECT cp.id, coalesce(co.timezone, 'UTC') FROM campaigns cp JOIN companies co ON co.id = cp.company_id
 WHERE cp.name = :name
"""

# The list's own columns in the order they first appear (contact, then position in its `extra`), and
# the last contact they were read from: contacts imported later are left out of the export rather
# than written under a header that lacks their columns.
_EXTRA_SQL = """
SELECT (SELECT max(id) FROM contacts WHERE campaign_id = :campaign),
       ARRAY(SELECT k.key FROM contacts c, jsonb_object_keys(c.extra) WITH ORDINALITY AS k(key, n)
              WHERE c.campaign_id = :campaign
              GROUP BY k.key ORDER BY min(c.id), min(k.n))
"""


def result_sql(reached: str) -> str:
    """The SQL of a contact's `result`, from `reached` (a person answered) and `c.state`."""
    return (f"CASE WHEN {reached} THEN '{ContactResult.REACHED}'"
            f" WHEN c.state = 'done' THEN '{ContactResult.COMPLETED}'"
            f" WHEN c.state = 'failed' THEN '{ContactResult.NOT_REACHED}'"
            f" WHEN c.state = 'excluded' THEN '{ContactResult.EXCLUDED}'"
            f" ELSE '{ContactResult.PENDING}' END")


# A campaign's contacts counted by call list and result (`campaign_stats` adds the lists up, `lists list`
# shows each); a person answered where the caps ledger says so.
RESULT_COUNTS_SQL = f"""
SELECT c.call_list_id, {result_sql("h.contact_id IS NOT NULL")} AS result, count(*) AS n
  FROM contacts c
  LEFT JOIN (SELECT DISTINCT a.contact_id FROM attempts a JOIN compliance_ledger l ON l.attempt_id = a.id AND l.human
              WHERE a.campaign_id = :campaign) h ON h.contact_id = c.id
 WHERE c.campaign_id = :campaign
 GROUP BY 1, 2
"""

_SQL = f"""
WITH calls AS (
    SELECT a.contact_id, max(a.created_at) AS last_call_at, max(l.answered_at) AS human_answered_at,
           (array_agg(a.amd_status ORDER BY a.created_at DESC, a.id DESC))[1] AS last_amd_status
      FROM attempts a LEFT JOIN compliance_ledger l ON l.attempt_id = a.id AND l.human
     WHERE a.campaign_id = :campaign
     GROUP BY a.contact_id),
lines AS (
    SELECT c.id AS contact_id, c.call_list_id, c.phone, c.subscriber_key, c.name,
           {result_sql("calls.human_answered_at IS NOT NULL")} AS result,
           c.state, c.attempts, c.last_outcome, calls.last_amd_status, calls.last_call_at, calls.human_answered_at,
           max(calls.human_answered_at) OVER (PARTITION BY c.subscriber_key) AS subscriber_reached_at,
           CASE WHEN c.state = 'ready' THEN c.next_attempt_at END AS next_attempt_at,
           coalesce(c.timezone, array_to_string(c.tz_candidates, ' ')) AS subscriber_timezone, c.extra
      FROM contacts c LEFT JOIN calls ON calls.contact_id = c.id
     WHERE c.campaign_id = :campaign AND c.id <= :last)
SELECT * FROM lines
 WHERE CAST(:results AS text[]) IS NULL OR result = ANY(CAST(:results AS text[]))
 ORDER BY contact_id
"""


class _Results:
    """The campaign's id and zone, its columns (ours, then the list's), and its rows."""

    def __init__(self, campaign_id: int, zone_text: str, last: int, extra: list[str],
                 only: Collection[ContactResult] | None) -> None:
        self.campaign_id = campaign_id
        self.last = last
        self.only = None if only is None else sorted(str(result) for result in only)
        self.zone_name = zone_name(zone_text)
        self.zone = zone(zone_text)
        ours = {name for name, _ in COLUMNS}
        # A list column named like one of ours (a `name` or `phone` header) keeps its value, renamed.
        self.extra = [(key, f"{key} (list)" if key in ours else key) for key in extra]
        self.columns: tuple[Column, ...] = COLUMNS + tuple((header, "text") for _, header in self.extra)

    async def rows(self, conn: AsyncConnection) -> AsyncIterator[dict[str, Any]]:
        result = await conn.stream(text(_SQL), {"campaign": self.campaign_id, "last": self.last,
                                                "results": self.only})
        async for row in result.mappings():
            extra = row["extra"] or {}
            line = dict(row) | {"report_timezone": self.zone_name}
            for key, header in self.extra:
                line[header] = extra.get(key)
            yield line


async def _results(conn: AsyncConnection, campaign: str, only: Collection[ContactResult] | None) -> _Results:
    found = (await conn.execute(text(_CAMPAIGN_SQL), {"name": campaign})).one_or_none()
    if found is None:
        raise CdrUnknownCampaignError("campaign", f"{campaign!r}: no such campaign")
    last, extra = (await conn.execute(text(_EXTRA_SQL), {"campaign": found[0]})).one()
    return _Results(int(found[0]), str(found[1]), last or 0, [str(key) for key in extra], only)


async def export_results_csv(conn: AsyncConnection, campaign: str, out: TextIO, *, escape: Escape,
                             only: Collection[ContactResult] | None = None) -> int:
    """Write the campaign's contacts (those with a result in `only`, if given) as CSV (header row
    first) to `out`; returns the number of rows."""
    results = await _results(conn, campaign, only)
    writer = csv.writer(out)
    writer.writerow([name for name, _ in results.columns])
    count = 0
    async for row in results.rows(conn):
        writer.writerow(csv_cells(row, results.columns, results.zone, escape))
        count += 1
    return count


async def export_results_xlsx(conn: AsyncConnection, campaign: str, path: Path, *, is_formula: IsFormula,
                              only: Collection[ContactResult] | None = None) -> int:
    """Write the campaign's contacts (those with a result in `only`, if given) to sheet `results` of an
    XLSX workbook at `path`, in constant memory; returns the number of rows."""
    results = await _results(conn, campaign, only)
    workbook = open_workbook(path)
    sheet = StreamedSheet(workbook, "results", results.columns, is_formula)
    count = 0
    try:
        async for row in results.rows(conn):
            sheet.write(row, results.zone)
            count += 1
        sheet.finish()
    finally:
        close_workbook(workbook, path)
    return count
