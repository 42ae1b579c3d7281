"""Settling the calls of dead workers (and orphans of this one) from Asterisk, before re-dialling.

A worker killed with SIGKILL leaves contacts `dialing` with leases that stop being renewed, some
with an open attempt whose call may still be ringing or talking. Giving those contacts back to
`ready` at lease expiry would dial people twice. So, for each open attempt of a dead worker:

1. `CoreShowChannels` on the attempt's Asterisk: a channel with its ChannelId (or the `-2` leg of
   the Local pair) is still up -> wait, look again next round;
2. else its row in `asterisk_cdr` (every worker ingests Asterisk's `Cdr` events, so the calls of a
   dead worker are recorded by the living) -> the real outcome, billsec and AMD verdict;
3. else, after `reconcile_grace_seconds` of the channel being gone with no CDR -> `lost`
   (and counted against caps as a possible answer: see dialer.reservations).

Only then is the attempt closed (ledger and retry policy as for any call, in `close_attempt`),
which returns the contact to `ready` or completes it. Contacts of dead workers with no open attempt
(they were only queued) go back to `ready` at once. Closing is idempotent, so two workers
reconciling the same attempt, or a stalled worker waking up and reporting its call, change it once.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ami import AmiError, CallResult, Outcome
from cdr.errors import CdrError
from cdr.from_ami import record_from_result
from cdr.records import outcome_for_disposition
from dialer.campaigns import load_campaign_config
from dialer.errors import DialerError
from dialer.leasing import notify_contacts_ready, release_unattempted_expired
from dialer.reservations import AttemptRef, close_attempt
from dialer.retries import ReachedAction
from dialer.trunks import AmiUrl, parse_ami_url
from dialer.worker.context import WorkerContext
from dialer.worker.lanes import AmiPool
from dialer.worker.registry import LEASE_OWNERS_SQL, dead_of, dead_workers

__all__ = [
    "AsteriskCdrRow",
    "OpenAttempt",
    "Reconciler",
    "asterisk_cdr_row",
    "lost_result",
    "merge_with_asterisk_cdr",
    "open_attempts",
    "result_from_asterisk_cdr",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    id: int
    channel_id: str
    contact_id: int
    campaign_id: int
    company_id: int
    worker_id: str
    phone: str
    subscriber_key: str
    trunk_name: str | None
    ami_url: str | None
    created_at: datetime
    attempt_number: int

    @property
    def ref(self) -> AttemptRef:
        return AttemptRef(
            attempt_id=self.id, contact_id=self.contact_id, campaign_id=self.campaign_id,
            company_id=self.company_id, subscriber_key=self.subscriber_key, phone=self.phone,
            attempt_number=self.attempt_number,
        )


@dataclass(frozen=True, slots=True)
class AsteriskCdrRow:
    disposition: str | None
    answer_at: datetime | None
    end_at: datetime | None
    billsec: int | None
    raw: Mapping[str, Any]


_OPEN_ATTEMPTS_SQL = """
    SELECT a.id, a.channel_id, a.contact_id, c.campaign_id, cp.company_id, a.worker_id, c.phone,
           c.subscriber_key, t.name AS trunk_name, t.ami_url, a.created_at, c.attempts
      FROM attempts a
      JOIN contacts c ON c.id = a.contact_id
      JOIN campaigns cp ON cp.id = c.campaign_id
      LEFT JOIN trunks t ON t.id = a.trunk_id
     WHERE a.ended_at IS NULL
       AND (a.worker_id = ANY({dead}) OR (a.worker_id = {me} AND a.contact_id <> ALL({live})))
     ORDER BY a.id"""
# A round's usual case in one message on the hot-path pool: the lease owners (are any dead?) and this
# worker's own orphans; only when a worker is dead does the round read again (`open_attempts`).
_SCAN_SQL = ";\n".join([
    LEASE_OWNERS_SQL,
    _OPEN_ATTEMPTS_SQL.format(dead="'{}'::text[]", me="%(me)s", live="%(live)s::int8[]"),
])


async def open_attempts(
    conn: AsyncConnection, *, dead: Sequence[str], me: str, live_contacts: Collection[int]
) -> list[OpenAttempt]:
    """Open attempts of dead workers, and of this worker whose contact has no call in this process."""
    rows = (
        await conn.execute(
            text(_OPEN_ATTEMPTS_SQL.format(dead=":dead", me=":me", live=":live")),
            {"dead": list(dead), "me": me, "live": list(live_contacts)},
        )
    ).all()
    return [OpenAttempt(*row) for row in rows]


def _amd_status(raw: Mapping[str, Any]) -> str | None:
    for key, value in raw.items():
        if key.lower() in ("amdstatus", "amd_status") and value:
            return str(value)
    return None


def result_from_asterisk_cdr(attempt: OpenAttempt, row: AsteriskCdrRow) -> CallResult:
    """The call's end as Asterisk's own CDR tells it (no hangup cause: the Cdr event has none)."""
    outcome = Outcome(outcome_for_disposition(row.disposition))
    answered = row.answer_at if outcome is Outcome.ANSWERED else None
    ring = (answered - attempt.created_at).total_seconds() if answered is not None else None
    return CallResult(
        outcome=outcome, hangup_cause=None, hangup_cause_text=None, channel_id=attempt.channel_id,
        linked_id=None, started_at=attempt.created_at, answered_at=answered, ended_at=row.end_at,
        ring_seconds=None if ring is None else max(0.0, ring), billsec=row.billsec or 0,
        amd_status=_amd_status(row.raw), amd_cause=None, originate_reason=None, complete=True,
    )


def merge_with_asterisk_cdr(result: CallResult, row: AsteriskCdrRow) -> CallResult:
    """An incomplete AMI result (the link dropped before the call's end was seen) completed by
    Asterisk's CDR: disposition, answer instant and billsec from the CDR; what the AMI layer saw
    (hangup cause, AMD verdict, linked id) is kept where the CDR has nothing."""
    outcome = Outcome(outcome_for_disposition(row.disposition))
    answered = row.answer_at if outcome is Outcome.ANSWERED else None
    return dataclasses.replace(
        result,
        outcome=outcome,
        answered_at=answered or (result.answered_at if outcome is Outcome.ANSWERED else None),
        ended_at=row.end_at or result.ended_at,
        billsec=row.billsec if row.billsec is not None else result.billsec,
        amd_status=_amd_status(row.raw) or result.amd_status,
        complete=True,
    )


async def asterisk_cdr_row(conn: AsyncConnection, channel_id: str) -> AsteriskCdrRow | None:
    row = (
        await conn.execute(
            text("SELECT disposition, answer_at, end_at, billsec, raw FROM asterisk_cdr WHERE unique_id = :id"),
            {"id": channel_id},
        )
    ).one_or_none()
    return None if row is None else AsteriskCdrRow(*row)


def lost_result(attempt: OpenAttempt, now: datetime) -> CallResult:
    return CallResult(
        outcome=Outcome.LOST, hangup_cause=None, hangup_cause_text=None, channel_id=attempt.channel_id,
        linked_id=None, started_at=attempt.created_at, answered_at=None, ended_at=now, ring_seconds=None,
        billsec=0, amd_status=None, amd_cause=None, originate_reason=None, complete=False,
    )


class Reconciler:
    """Run `once()` regularly (the worker does, after each heartbeat)."""

    def __init__(self, ctx: WorkerContext, pool: AmiPool, *, host: str | None = None) -> None:
        self.ctx = ctx
        self.pool = pool
        self.host = host or socket.gethostname()
        self._gone_since: dict[int, float] = {}
        self.settled = 0
        self.lost = 0

    async def once(self) -> int:
        """One round; returns how many attempts it settled."""
        opts = self.ctx.options
        async with self.ctx.pg.connection() as pg, psycopg.AsyncClientCursor(pg) as cur:
            await cur.execute(_SCAN_SQL, {"stale": opts.lease_seconds, "me": self.ctx.worker_id,
                                          "live": list(self.ctx.live_contacts)})
            owners = await cur.fetchall()
            cur.nextset()
            attempts = [OpenAttempt(*row) for row in await cur.fetchall()]
        dead = [w for w in dead_of(owners, host=self.host) if w != self.ctx.worker_id]
        returned: list[int] = []
        if dead:
            async with self.ctx.engine.begin() as conn:
                dead = await dead_workers(conn, stale_after_s=opts.lease_seconds, host=self.host)
                dead = [w for w in dead if w != self.ctx.worker_id]
                returned = await release_unattempted_expired(conn, dead_workers=dead)
                for campaign_id in returned:
                    await notify_contacts_ready(conn, campaign_id)
                attempts = await open_attempts(conn, dead=dead, me=self.ctx.worker_id,
                                               live_contacts=self.ctx.live_contacts)
        if returned:
            log.info("returned queued contacts of dead workers %s to ready", ", ".join(dead))
        if not attempts:
            self._gone_since.clear()
            return 0
        live = await self._live_channels({a.ami_url for a in attempts if a.ami_url})
        settled = 0
        for attempt in attempts:
            if attempt.contact_id in self.ctx.live_contacts:
                continue
            if await self._settle(attempt, live):
                settled += 1
        self.settled += settled
        return settled

    async def _live_channels(self, urls: Collection[str]) -> dict[str, set[str] | None]:
        """Uniqueids up on each server (None: the server cannot be asked now)."""
        out: dict[str, set[str] | None] = {}
        for url in urls:
            try:
                ami: AmiUrl = parse_ami_url(url)
            except DialerError:
                out[url] = None
                continue
            client = self.pool.client(ami.server)
            if client is None:
                self.pool.want(ami)
                out[url] = None
                continue
            try:
                out[url] = {c.uniqueid for c in await client.find_channels()}
            except AmiError as exc:
                log.warning("CoreShowChannels on %s failed: %s", ami.server, exc)
                out[url] = None
        return out

    async def _settle(self, attempt: OpenAttempt, live: Mapping[str, set[str] | None]) -> bool:
        up = live.get(attempt.ami_url or "")
        if attempt.ami_url is not None and up is None:
            return False  # cannot ask that Asterisk now: never guess while it may still ring
        if up is not None and ({attempt.channel_id, f"{attempt.channel_id}-2"} & up):
            self._gone_since.pop(attempt.id, None)
            return False
        async with self.ctx.engine.connect() as conn:
            row = await asterisk_cdr_row(conn, attempt.channel_id)
        if row is not None:
            result = result_from_asterisk_cdr(attempt, row)
        else:
            first = self._gone_since.setdefault(attempt.id, self.ctx.clock.monotonic())
            if self.ctx.clock.monotonic() - first < self.ctx.options.reconcile_grace_seconds:
                return False
            result = lost_result(attempt, self.ctx.wall())
        self._gone_since.pop(attempt.id, None)
        async with self.ctx.sessions() as session:
            config = await load_campaign_config(session, attempt.campaign_id)
        async with self.ctx.engine.begin() as conn:
            closed = await close_attempt(conn, ref=attempt.ref, result=result, policy=config.retry,
                                         now=self.ctx.wall(),
                                         complete_reached=config.reached is ReachedAction.COMPLETE)
            if closed is not None:
                await notify_contacts_ready(conn, attempt.campaign_id)
        if closed is None:
            return False
        if result.outcome is Outcome.LOST:
            self.lost += 1
        log.info("reconciled attempt %s (%s, worker %s): %s", attempt.id, attempt.channel_id, attempt.worker_id,
                 result.outcome.value)
        try:
            self.ctx.cdr.submit(record_from_result(
                result, phone=attempt.phone, attempt_id=attempt.id, campaign_id=attempt.campaign_id,
                company_id=attempt.company_id, contact_id=attempt.contact_id,
                subscriber_key=attempt.subscriber_key, trunk=attempt.trunk_name, worker_id=attempt.worker_id,
            ))
        except (CdrError, ValueError) as exc:
            log.error("CDR of reconciled %s not queued: %s", attempt.channel_id, exc)
        return True
