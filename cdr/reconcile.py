"""Reconcile the dialer's CDR (`cdr`) with Asterisk's own (`asterisk_cdr`) by channel id.

The dialer's channel id is the originated channel's Uniqueid (Originate `ChannelId`), so the two
tables join on `cdr.channel_id = asterisk_cdr.unique_id`. Asterisk's side is limited to originated
legs: rows the dialer recorded an attempt for, and first legs of their call that are not the `;2`
half of a Local channel (Local `;2` legs carry OtherChannelId, not ours).

What a crash costs is rebuilt here: a call Asterisk reported with no dialer row gets one, built
from Asterisk's CDR and the attempt the worker stored before dialing (contact, campaign, trunk);
a dialer row whose outcome is `lost` (the worker never saw the end) takes Asterisk's outcome; and a
call whose attempt was closed but which neither CDR has (its worker was killed with the row still
queued, and no worker received Asterisk's `Cdr` event: a single worker, or the AMI link down at that
moment) gets its row from the closed attempt, which holds what the worker saw.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cdr.metrics import DialerMetrics
from cdr.records import OUTCOME_DISPOSITIONS, Disposition, disposition_for_outcome, outcome_for_disposition

__all__ = [
    "BILLSEC_TOLERANCE_S",
    "DEFAULT_GRACE",
    "Mismatch",
    "MismatchKind",
    "ReconcileReport",
    "Reconciler",
    "classify",
    "reconcile",
    "summary_lines",
]

log = structlog.stdlib.get_logger(__name__)

# Asterisk floors billsec to whole seconds from its own answer/end instants; ours come from AMI
# event timestamps: a difference of 1 s is rounding, more is a disagreement.
BILLSEC_TOLERANCE_S = 1
# How long a call's two records may legitimately be apart: Asterisk posts its Cdr event right after
# the hangup and the worker flushes its CDR batch within a second or two, so a call that ended less
# than this ago and is missing on one side is not reported yet (the other side is on its way).
DEFAULT_GRACE = timedelta(seconds=30)


class MismatchKind(enum.StrEnum):
    MISSING_IN_DIALER = "missing_in_dialer"  # Asterisk reported the call, the dialer has no row
    MISSING_IN_ASTERISK = "missing_in_asterisk"  # the dialer has a row, Asterisk reported nothing
    BILLSEC = "billsec"  # both have it; billsec differs by more than BILLSEC_TOLERANCE_S
    DISPOSITION = "disposition"  # both have it; answered/busy/... disagree
    LOST = "lost"  # the dialer lost track of the call (outcome lost); Asterisk knows how it ended
    MISSING_CDR = "missing_cdr"  # the attempt was closed, but neither side recorded the call


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a pair as the comparison needs it."""

    billsec: int | None
    disposition: str | None


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: MismatchKind
    channel_id: str
    dialer: Side | None
    asterisk: Side | None
    repaired: bool = False  # the dialer row was rebuilt or completed (from Asterisk's CDR or the attempt)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "channel_id": self.channel_id,
            "dialer_billsec": self.dialer.billsec if self.dialer else None,
            "asterisk_billsec": self.asterisk.billsec if self.asterisk else None,
            "dialer_disposition": self.dialer.disposition if self.dialer else None,
            "asterisk_disposition": self.asterisk.disposition if self.asterisk else None,
            "repaired": self.repaired,
        }


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    since: datetime
    until: datetime
    dialer_rows: int  # cdr rows in range (before repairs)
    asterisk_rows: int  # originated legs in asterisk_cdr in range
    matched: int  # pairs present on both sides that agree
    mismatches: tuple[Mismatch, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(m.kind.value for m in self.mismatches)
        return {kind.value: counted.get(kind.value, 0) for kind in MismatchKind}

    @property
    def repaired(self) -> int:
        return sum(1 for m in self.mismatches if m.repaired)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "dialer_rows": self.dialer_rows,
            "asterisk_rows": self.asterisk_rows,
            "matched": self.matched,
            "mismatches": self.counts,
            "repaired": self.repaired,
            "items": [m.as_dict() for m in self.mismatches],
        }


def expected_disposition(outcome: str | None, disposition: str | None) -> str | None:
    """The disposition the dialer claims: its own column, else the one its outcome implies."""
    if disposition:
        return disposition
    implied = disposition_for_outcome(outcome or "")
    return implied.value if implied is not None else None


def classify(
    channel_id: str,
    dialer: Side | None,
    dialer_outcome: str | None,
    asterisk: Side | None,
    *,
    dialer_settled: bool = True,
    asterisk_settled: bool = True,
    attempt_closed: bool = False,
    dialer_from_attempt: bool = False,
) -> list[Mismatch]:
    """The mismatches of one channel id (pure).

    `dialer_settled`/`asterisk_settled` False: that side's call ended within the grace, so the other
    side's row may still be on its way and its absence is not a mismatch yet. `attempt_closed`: the
    dialer closed the call's attempt (with no row on either side, `dialer_settled` tells whether that
    was before the grace). `dialer_from_attempt`: the dialer's row was rebuilt from the attempt, so
    Asterisk's absence was reported then (`missing_cdr`), not again.
    """
    if dialer is None and asterisk is None:
        if not (attempt_closed and dialer_settled):
            return []
        return [Mismatch(MismatchKind.MISSING_CDR, channel_id, None, None)]
    if dialer is None:
        if not asterisk_settled:
            return []
        return [Mismatch(MismatchKind.MISSING_IN_DIALER, channel_id, None, asterisk)]
    if asterisk is None:
        if not dialer_settled or dialer_from_attempt:
            return []
        return [Mismatch(MismatchKind.MISSING_IN_ASTERISK, channel_id, dialer, None)]
    if dialer_outcome == "lost":
        return [Mismatch(MismatchKind.LOST, channel_id, dialer, asterisk)]
    found = []
    if abs((dialer.billsec or 0) - (asterisk.billsec or 0)) > BILLSEC_TOLERANCE_S:
        found.append(Mismatch(MismatchKind.BILLSEC, channel_id, dialer, asterisk))
    claimed = expected_disposition(dialer_outcome, dialer.disposition)
    if claimed is not None and asterisk.disposition is not None and claimed != asterisk.disposition:
        found.append(Mismatch(MismatchKind.DISPOSITION, channel_id, dialer, asterisk))
    return found


def _case(column: str, mapping: Iterable[tuple[str, str]], default: str = "NULL") -> str:
    """SQL CASE mapping the values of `column` as `mapping` does (tables of cdr.records)."""
    whens = " ".join(f"WHEN '{value}' THEN '{mapped}'" for value, mapped in mapping)
    return f"(CASE {column} {whens} ELSE {default} END)"


def _outcome_case(column: str) -> str:
    """An Asterisk disposition as the dialer outcome of a row rebuilt from Asterisk's CDR."""
    return _case(column, ((d.value, outcome_for_disposition(d.value)) for d in Disposition), "'failed'")


def _disposition_case(column: str) -> str:
    """A dialer outcome as the disposition Asterisk writes for it (NULL for `lost`)."""
    return _case(column, ((outcome, d.value) for outcome, d in OUTCOME_DISPOSITIONS.items()))


# Originated legs of Asterisk's CDR: the dialer stored an attempt for it, or it is the first leg of
# its call and not the ;2 half of a Local channel.
_ASTERISK_SCOPE = """
    (EXISTS (SELECT 1 FROM attempts t WHERE t.channel_id = a.unique_id)
     OR ((a.linked_id IS NULL OR a.linked_id = a.unique_id)
         AND coalesce(a.raw->>'Channel', a.raw->>'channel', '') NOT LIKE 'Local/%;2'))
"""

_PAIRS = f"""
WITH ids AS (
    SELECT a.unique_id AS id FROM asterisk_cdr a
    WHERE a.start_at >= :since AND a.start_at < :until AND a.unique_id LIKE :prefix AND {_ASTERISK_SCOPE}
    UNION
    SELECT c.channel_id FROM cdr c
    WHERE c.created_at >= :since AND c.created_at < :until AND c.channel_id LIKE :prefix
    UNION
    SELECT t.channel_id FROM attempts t
    WHERE t.created_at >= :since AND t.created_at < :until AND t.channel_id LIKE :prefix AND t.ended_at IS NOT NULL
)
SELECT ids.id,
       c.channel_id IS NOT NULL AS has_dialer, c.billsec, c.disposition, c.outcome,
       coalesce(c.ended_at, c.created_at, t.ended_at) < :settled AS settled,
       a.unique_id IS NOT NULL AS has_asterisk, a.billsec, a.disposition,
       coalesce(a.end_at, a.start_at, a.received_at) < :settled AS a_settled,
       t.ended_at IS NOT NULL AS attempt_closed, c.source = 'attempt' AS from_attempt
FROM ids
LEFT JOIN cdr c ON c.channel_id = ids.id
LEFT JOIN asterisk_cdr a ON a.unique_id = ids.id
LEFT JOIN attempts t ON t.channel_id = ids.id
"""

# A dialer row rebuilt from Asterisk's CDR and the attempt stored before dialing (when there is one).
_REBUILD = f"""
INSERT INTO cdr (channel_id, linked_id, attempt_id, campaign_id, company_id, contact_id, subscriber_key,
                 phone, trunk, worker_id, created_at, answered_at, ended_at, ring_seconds, billsec,
                 disposition, hangup_cause, amd_status, outcome, source)
SELECT a.unique_id, a.linked_id, t.id, t.campaign_id, cp.company_id, t.contact_id, ct.subscriber_key,
       left(coalesce(ct.phone,
                     '+' || substring(coalesce(a.raw->>'Channel', a.raw->>'channel') FROM '^Local/\\+?([0-9]+)@'),
                     ''), 20),
       tr.name, t.worker_id,
       coalesce(t.created_at, a.start_at, a.received_at), a.answer_at, a.end_at,
       extract(epoch FROM coalesce(a.answer_at, a.end_at) - a.start_at)::numeric(10, 3),
       coalesce(a.billsec, 0), a.disposition, t.hangup_cause,
       coalesce(t.amd_status, nullif(coalesce(a.raw->>'AMDStatus', a.raw->>'amdstatus'), '')),
       {_outcome_case("a.disposition")}, 'asterisk'
FROM asterisk_cdr a
LEFT JOIN attempts t ON t.channel_id = a.unique_id
LEFT JOIN contacts ct ON ct.id = t.contact_id
LEFT JOIN campaigns cp ON cp.id = t.campaign_id
LEFT JOIN trunks tr ON tr.id = t.trunk_id
WHERE a.unique_id = ANY(:ids)
ON CONFLICT (channel_id) DO NOTHING
"""

# A lost call completed from Asterisk's CDR (what the worker would have written had it seen the end).
_REPAIR_LOST = f"""
UPDATE cdr c
SET outcome = {_outcome_case("a.disposition")}, disposition = a.disposition, billsec = coalesce(a.billsec, 0),
    answered_at = coalesce(c.answered_at, a.answer_at), ended_at = coalesce(c.ended_at, a.end_at),
    amd_status = coalesce(c.amd_status, nullif(coalesce(a.raw->>'AMDStatus', a.raw->>'amdstatus'), '')),
    source = 'asterisk'
FROM asterisk_cdr a
WHERE a.unique_id = c.channel_id AND c.outcome = 'lost' AND c.channel_id = ANY(:ids)
"""

# A dialer row rebuilt from the closed attempt alone (what the worker saw and recorded at the close).
_REBUILD_FROM_ATTEMPT = f"""
INSERT INTO cdr (channel_id, attempt_id, campaign_id, company_id, contact_id, subscriber_key, phone, trunk,
                 worker_id, created_at, answered_at, ended_at, ring_seconds, billsec, disposition, hangup_cause,
                 amd_status, outcome, source)
SELECT t.channel_id, t.id, t.campaign_id, cp.company_id, t.contact_id, ct.subscriber_key, ct.phone, tr.name,
       t.worker_id, t.created_at, t.answered_at, t.ended_at, t.ring_seconds, coalesce(t.billsec, 0),
       {_disposition_case("t.outcome")}, t.hangup_cause, t.amd_status, t.outcome, 'attempt'
FROM attempts t
JOIN contacts ct ON ct.id = t.contact_id
JOIN campaigns cp ON cp.id = t.campaign_id
LEFT JOIN trunks tr ON tr.id = t.trunk_id
WHERE t.channel_id = ANY(:ids) AND t.ended_at IS NOT NULL
ON CONFLICT (channel_id) DO NOTHING
"""

_COUNTS = f"""
SELECT (SELECT count(*) FROM cdr c
        WHERE c.created_at >= :since AND c.created_at < :until AND c.channel_id LIKE :prefix),
       (SELECT count(*) FROM asterisk_cdr a
        WHERE a.start_at >= :since AND a.start_at < :until AND a.unique_id LIKE :prefix AND {_ASTERISK_SCOPE})
"""


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def reconcile(
    conn: AsyncConnection,
    *,
    since: datetime,
    now: datetime,
    repair: bool = True,
    channel_prefix: str = "",
    grace: timedelta = DEFAULT_GRACE,
    metrics: DialerMetrics | None = None,
) -> ReconcileReport:
    """Compare both CDRs for calls started in [since, now); rebuild/complete dialer rows when `repair`.

    Runs in the caller's transaction (the caller commits). A call missing on one side is reported
    once the other side's record is older than `grace` (0 after a crash: nothing is on its way).
    Counts every mismatch found in `dialer_cdr_mismatch_total` when `metrics` is given.
    """
    if since.tzinfo is None or now.tzinfo is None:
        raise ValueError("reconcile: since and now must be timezone-aware")
    params: dict[str, Any] = {
        "since": since, "until": now, "settled": now - grace, "prefix": _like_prefix(channel_prefix),
    }
    dialer_rows, asterisk_rows = (await conn.execute(text(_COUNTS), params)).one()
    mismatches: list[Mismatch] = []
    matched = 0
    for row in (await conn.execute(text(_PAIRS), params)).all():
        (channel_id, has_dialer, d_bill, d_disp, d_outcome, settled, has_asterisk, a_bill, a_disp, a_settled,
         attempt_closed, from_attempt) = row
        dialer = Side(d_bill, d_disp) if has_dialer else None
        asterisk = Side(a_bill, a_disp) if has_asterisk else None
        found = classify(channel_id, dialer, d_outcome, asterisk, dialer_settled=bool(settled),
                         asterisk_settled=bool(a_settled), attempt_closed=bool(attempt_closed),
                         dialer_from_attempt=bool(from_attempt))
        if not found and dialer is not None and asterisk is not None:
            matched += 1
        mismatches.extend(found)
    if repair:
        mismatches = await _repair(conn, mismatches)
    if metrics is not None and mismatches:
        metrics.cdr_mismatch_total.inc(len(mismatches))
    report = ReconcileReport(since, now, int(dialer_rows), int(asterisk_rows), matched, tuple(mismatches))
    log.info("cdr reconciled", since=since.isoformat(), matched=matched, **report.counts)
    return report


# The repair of each kind that has one: its statement, given the channel ids, returns those it repaired.
_REPAIRS: dict[MismatchKind, str] = {
    MismatchKind.MISSING_IN_DIALER: _REBUILD + " RETURNING channel_id",
    MismatchKind.LOST: _REPAIR_LOST + " RETURNING c.channel_id",
    MismatchKind.MISSING_CDR: _REBUILD_FROM_ATTEMPT + " RETURNING channel_id",
}


async def _repair(conn: AsyncConnection, mismatches: Sequence[Mismatch]) -> list[Mismatch]:
    repaired: set[str] = set()
    for kind, statement in _REPAIRS.items():
        ids = [m.channel_id for m in mismatches if m.kind is kind]
        if ids:
            repaired.update(r[0] for r in (await conn.execute(text(statement), {"ids": ids})).all())
    return [
        Mismatch(m.kind, m.channel_id, m.dialer, m.asterisk, repaired=m.channel_id in repaired)
        if m.kind in _REPAIRS else m
        for m in mismatches
    ]


class Reconciler:
    """Reconcile periodically inside a worker (a task of its TaskGroup).

    Each pass looks back `lookback` and counts in `dialer_cdr_mismatch_total` only mismatches no
    reconciler has counted before (table `cdr_mismatches`, in the pass's transaction), so a difference
    is counted once, not once per pass nor once per worker.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        metrics: DialerMetrics | None = None,
        interval: float = 60.0,
        lookback: timedelta = timedelta(hours=2),
        channel_prefix: str = "",
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._interval = interval
        self._lookback = lookback
        self._prefix = channel_prefix
        self._grace = grace
        self.last_report: ReconcileReport | None = None

    async def run_once(self, now: datetime) -> ReconcileReport:
        async with self._engine.begin() as conn:
            report = await reconcile(
                conn, since=now - self._lookback, now=now, channel_prefix=self._prefix, grace=self._grace,
                metrics=None,
            )
            fresh = await _first_counts(conn, report.mismatches, now, forget_before=now - 2 * self._lookback)
        if self._metrics is not None and fresh:
            self._metrics.cdr_mismatch_total.inc(fresh)
        self.last_report = report
        return report

    async def run(self, clock: Callable[[], datetime] | None = None) -> None:
        """Reconcile every `interval` seconds until cancelled; a failed pass is logged and retried."""
        now = clock or _utc_now
        while True:
            try:
                await self.run_once(now())
            except Exception as exc:  # the database may be restarting: next pass
                log.warning("cdr reconcile pass failed", error=repr(exc))
            await asyncio.sleep(self._interval)


async def _first_counts(
    conn: AsyncConnection, mismatches: Sequence[Mismatch], now: datetime, forget_before: datetime
) -> int:
    """How many of `mismatches` no reconciler has counted yet; records them as counted at `now`.
    Mismatches counted before `forget_before` are forgotten (out of every pass's look-back by then)."""
    await conn.execute(text("DELETE FROM cdr_mismatches WHERE found_at < :before"), {"before": forget_before})
    if not mismatches:
        return 0
    result = await conn.execute(
        text(
            """INSERT INTO cdr_mismatches (channel_id, kind, found_at)
               SELECT channel_id, kind, :now FROM unnest(CAST(:channels AS text[]), CAST(:kinds AS text[]))
                      AS found(channel_id, kind)
               ON CONFLICT DO NOTHING"""
        ),
        {"channels": [m.channel_id for m in mismatches], "kinds": [m.kind.value for m in mismatches], "now": now},
    )
    return result.rowcount


def _utc_now() -> datetime:
    return datetime.now(UTC)


def summary_lines(report: ReconcileReport) -> list[str]:
    """Human-readable report lines for the CLI."""
    lines = [
        f"reconciled calls started {report.since.isoformat()} .. {report.until.isoformat()}",
        f"dialer rows: {report.dialer_rows}, Asterisk originated legs: {report.asterisk_rows}, "
        f"matching: {report.matched}",
    ]
    lines += [f"{kind}: {count}" for kind, count in report.counts.items()]
    lines.append(f"dialer rows rebuilt or completed from Asterisk's CDR or the attempt: {report.repaired}")
    return lines
