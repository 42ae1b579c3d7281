"""The database side of an import, on the caller's psycopg connection inside one transaction.

Per chunk: the numbers that need a check go to a TEMP staging table with COPY (a few go inline as
arrays); one query tells which are on the company's do-not-call list or already contacts of the
campaign (earlier chunks of this file included); the others go to `contacts` with COPY, which costs
PostgreSQL less than INSERT ... SELECT ... ON CONFLICT. Imports into one campaign are serialized by an
advisory lock, and DNC changes of the company wait for running imports (and the reverse), so what
the query saw still holds at commit; a writer that bypasses the lock makes the COPY fail on the unique
(campaign, phone) constraint, and the import fails whole. Killing the process rolls everything back:
nothing partial is ever visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from dialer.db.models import CampaignStatus
from dialer.lists.copy_format import CONTACT_COLUMNS
from dialer.lists.errors import ConcurrentImportError, StoppedCampaignError, UnknownCampaignError
from dialer.lists.model import RejectReason

# Advisory lock classes (pg_advisory_xact_lock(class, id)): imports share the company lock, DNC changes
# take it exclusively; imports into one campaign exclude each other.
LOCK_COMPANY_DNC = 60_601
LOCK_CAMPAIGN_IMPORT = 60_602

_CLASSIFY = """
SELECT k.idx,
       CASE WHEN d.hit THEN 'dnc'
            WHEN c.call_list_id = %(list)s THEN 'duplicate-in-file'
            ELSE 'duplicate-existing' END
FROM {keys}
LEFT JOIN LATERAL (
    SELECT true AS hit FROM dnc
    WHERE {dnc_filter} dnc.company_id = %(company)s AND dnc.phone = k.phone LIMIT 1
) d ON true
LEFT JOIN LATERAL (
    SELECT c.call_list_id, true AS found FROM contacts c
    WHERE k.probe AND c.campaign_id = %(campaign)s AND c.phone = k.phone LIMIT 1
) c ON true
WHERE d.hit OR c.found
"""
_STAGED = "import_keys k"
_INLINE = "unnest(%(idx)s::int[], %(probe)s::bool[], %(phone)s::text[]) AS k(idx, probe, phone)"
# Few numbers to check (the usual case of a first import): one round trip, no staging.
INLINE_KEYS_MAX = 1_000
# The subscribers of the campaign whose numbers span several zones get all of them on each of their
# contacts (contacts.subscriber_zones: the window must be open in each); the others NULL. The import
# writes them already for the subscribers a chunk sees whole (`dialer.lists.chunks.SubscriberZones`);
# this pass reads the campaign's subscribers (`keys`: only these; NULL: all) and sets what is due on
# those whose numbers span zones and on the `recheck` ones (a chunk's value may be wrong for them: a
# number of theirs was turned down) or on all (`recheck_all`). A subscriber with one contact has
# NULL: that contact's zone or candidates already say it all. The zones are in byte order, as the
# import writes them, and only rows whose value changes are written.
_SUBSCRIBER_ZONES = """
    WITH spread AS (
        SELECT subscriber_key, string_agg(zones, ',') AS zones, count(*) AS contacts
          FROM (SELECT subscriber_key, coalesce(timezone, array_to_string(tz_candidates, ',')) AS zones
                  FROM contacts
                 WHERE campaign_id = %(campaign)s
                   AND (%(keys)s::text[] IS NULL OR subscriber_key = ANY(%(keys)s::text[]))) AS c
         GROUP BY subscriber_key
        HAVING min(zones) <> max(zones) OR %(recheck_all)s OR subscriber_key = ANY(%(recheck)s::text[])),
    zones AS MATERIALIZED (
        SELECT subscriber_key, CASE WHEN contacts > 1 AND cardinality(zones) > 1 THEN zones END AS zones
          FROM (SELECT subscriber_key, contacts,
                       ARRAY(SELECT DISTINCT z COLLATE "C" FROM unnest(string_to_array(zones, ',')) AS z
                              WHERE z <> '' ORDER BY 1)::varchar[] AS zones
                  FROM spread) AS s)
    UPDATE contacts c SET subscriber_zones = zones.zones
      FROM zones
     WHERE c.campaign_id = %(campaign)s AND c.subscriber_key = zones.subscriber_key
       AND c.subscriber_zones IS DISTINCT FROM zones.zones
    """
# The pass groups every contact of the campaign by subscriber: in memory, not in temporary files.
_SUBSCRIBER_ZONES_WORK_MEM = "256MB"

_COPY_CONTACTS = f"COPY contacts ({', '.join(CONTACT_COLUMNS)}) FROM STDIN"


@dataclass(frozen=True, slots=True)
class Keys:
    """The numbers of a chunk to check: `idx` indexes the chunk's contacts; `probe` asks for the
    contacts lookup (DNC is always checked). Large sets travel as COPY text into the staging table."""

    count: int
    idx: list[int]
    probe: list[bool]
    phone: list[str]
    copy_text: bytes = b""  # `idx<TAB>probe<TAB>phone` lines when there are more than INLINE_KEYS_MAX


@dataclass(frozen=True, slots=True)
class KeyChecks:
    """Which numbers of a chunk the database must check, known once the import holds its locks.

    `stage_all`: every number (the company has a do-not-call list); `probe_all`: every number is
    looked up among the campaign's contacts (it had some before). Otherwise only numbers that may
    repeat an earlier chunk of the file are looked up.
    """

    stage_all: bool
    probe_all: bool


@dataclass(frozen=True, slots=True)
class CampaignTarget:
    id: int
    company_id: int
    name: str
    subscriber_column: str


async def find_campaign(conn: psycopg.AsyncConnection[Any], name: str) -> CampaignTarget:
    cur = await conn.execute(
        "SELECT id, company_id, name, subscriber_column, status FROM campaigns WHERE name = %s", (name,)
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute("SELECT name FROM campaigns ORDER BY name LIMIT 20")
        known = [str(r[0]) for r in await cur.fetchall()]
        hint = f"; campaigns: {', '.join(known)}" if known else "; there are no campaigns yet"
        raise UnknownCampaignError(f"unknown campaign {name!r}{hint}")
    if row[4] == CampaignStatus.STOPPED.value:
        raise StoppedCampaignError(f"campaign {name!r} is stopped, which is final: its contacts would never be "
                                   "dialed; import into a new campaign")
    return CampaignTarget(int(row[0]), int(row[1]), str(row[2]), str(row[3]))


class ImportSession:
    """Statements of one import inside the caller's open transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], target: CampaignTarget) -> None:
        self._conn = conn
        self.target = target
        self.call_list_id = 0
        self._dnc_filter = ""
        self.checks = KeyChecks(stage_all=True, probe_all=True)

    async def begin(self, filename: str, sha256: str) -> int:
        """Lock, create the staging table and the call list row; return the call list id."""
        conn, target = self._conn, self.target
        await conn.execute("SET LOCAL client_encoding = 'UTF8'")
        await conn.execute(
            "SELECT pg_advisory_xact_lock_shared(%s, %s), pg_advisory_xact_lock(%s, %s)",
            (LOCK_COMPANY_DNC, target.company_id, LOCK_CAMPAIGN_IMPORT, target.id),
        )
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_keys "
            "(idx integer NOT NULL, phone text NOT NULL, probe boolean NOT NULL) ON COMMIT DROP"
        )
        cur = await conn.execute(
            "SELECT EXISTS (SELECT 1 FROM dnc WHERE company_id = %s), "
            "EXISTS (SELECT 1 FROM contacts WHERE campaign_id = %s)",
            (target.company_id, target.id),
        )
        row = await cur.fetchone()
        assert row is not None
        has_dnc, had_contacts = bool(row[0]), bool(row[1])
        self._dnc_filter = "" if has_dnc else "false AND"
        self.checks = KeyChecks(stage_all=has_dnc or had_contacts, probe_all=had_contacts)
        cur = await conn.execute(
            "INSERT INTO call_lists (campaign_id, filename, sha256) VALUES (%s, %s, %s) RETURNING id",
            (target.id, filename, sha256),
        )
        row = await cur.fetchone()
        assert row is not None
        self.call_list_id = int(row[0])
        return self.call_list_id

    async def classify(self, keys: Keys) -> list[tuple[int, RejectReason]]:
        """The numbers among `keys` on the DNC list or already contacts of the campaign, with why."""
        conn = self._conn
        params: dict[str, Any] = {
            "list": self.call_list_id,
            "company": self.target.company_id,
            "campaign": self.target.id,
        }
        if keys.copy_text:
            await conn.execute("TRUNCATE import_keys")
            async with conn.cursor().copy("COPY import_keys (idx, probe, phone) FROM STDIN") as copy:
                await copy.write(keys.copy_text)
            source = _STAGED
        else:
            params.update(idx=keys.idx, probe=keys.probe, phone=keys.phone)
            source = _INLINE
        cur = await conn.execute(_CLASSIFY.format(keys=source, dnc_filter=self._dnc_filter), params)
        return [(int(idx), RejectReason(reason)) for idx, reason in await cur.fetchall()]

    async def store(self, lines: bytes) -> None:
        """COPY contact lines (see copy_format) into `contacts`."""
        try:
            async with self._conn.cursor().copy(_COPY_CONTACTS) as copy:
                await copy.write(lines)
        except psycopg.errors.UniqueViolation as exc:
            raise ConcurrentImportError(
                f"contacts of campaign {self.target.name!r} were added by another writer during the "
                "import; nothing was stored, run the import again"
            ) from exc

    async def finish(
        self,
        *,
        total: int,
        imported: int,
        duplicates: int,
        invalid: int,
        dnc: int,
        timezone_unknown: int,
        reject_report: str,
        unsettled: list[str] | None = None,
    ) -> None:
        """Record the list's counts and give the subscribers with numbers in several zones all of them
        (`_SUBSCRIBER_ZONES`): `unsettled` are those whose value the import could not settle
        (`chunks.SubscriberZones`; None: too many to say). When this import brought the campaign's
        first contacts, only they are read again."""
        await self._conn.execute(
            "UPDATE call_lists SET total = %s, imported = %s, duplicates = %s, invalid = %s, dnc = %s, "
            "timezone_unknown = %s, reject_report = %s WHERE id = %s",
            (total, imported, duplicates, invalid, dnc, timezone_unknown, reject_report, self.call_list_id),
        )
        restricted = not self.checks.probe_all and unsettled is not None
        params = {"campaign": self.target.id, "keys": unsettled if restricted else None,
                  "recheck": unsettled or [], "recheck_all": unsettled is None}
        if imported and not (restricted and not unsettled):
            # The statistics may say `contacts` is empty while its pages remain (after an import rolled
            # back or a campaign deleted): the planner would then join each contact to each subscriber
            # in a nested loop, quadratic in the campaign's size. Hash joins stay linear whatever the
            # estimates; the settings are put back for the rest of the transaction.
            cur = await self._conn.execute(
                "SELECT current_setting('enable_nestloop'), current_setting('work_mem'), "
                "set_config('enable_nestloop', 'off', true), set_config('work_mem', %s, true)",
                (_SUBSCRIBER_ZONES_WORK_MEM,))
            row = await cur.fetchone()
            assert row is not None
            await self._conn.execute(_SUBSCRIBER_ZONES, params)
            await self._conn.execute(
                "SELECT set_config('enable_nestloop', %s, true), set_config('work_mem', %s, true)", (row[0], row[1]))
