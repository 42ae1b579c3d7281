"""Leasing contacts to a worker: `FOR UPDATE SKIP LOCKED` with an expiry, renewal and wake-ups.

Why this shape:

- A lease moves a contact `ready -> dialing` with `lease_owner` and `lease_expires_at` in one
  statement. `SKIP LOCKED` lets any number of workers lease from the same campaign without waiting
  on each other or taking the same row; the inner select walks the partial index
  `ix_contacts_eligible (campaign_id, next_attempt_at) WHERE state = 'ready'`, so the cost does not
  grow with the size of the table (one campaign per statement keeps it an ordered index scan).
- Leases are renewed with the worker's heartbeat, for contacts in its ready queue and in calls alike.
  A lease that expired belongs to a dead (or stalled) worker. It is NOT simply taken: contacts whose
  attempt is still open must first be reconciled with Asterisk (`dialer.worker.reconcile`), else a
  call still ringing would be dialled a second time. `release_unattempted_expired` returns only the
  contacts that have no open attempt.
- Workers wake on `LISTEN dialer_contacts` (payload: campaign id; sent by whoever makes contacts
  ready: list import, reconcile) and `LISTEN dialer_campaigns` (status changes), and on a timer at
  the earliest future `next_attempt_at`: never a tight polling loop (the VICIdial hopper anti-pattern).

All functions take a connection the caller owns (and commits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "CAMPAIGNS_CHANNEL",
    "CONTACTS_CHANNEL",
    "RENEW_LEASES_SQL",
    "CampaignProgress",
    "HotConnection",
    "LeasedContact",
    "campaign_progress",
    "driver_connection",
    "earliest_ready_at",
    "lease_contacts",
    "notify_campaign",
    "notify_contacts_ready",
    "release_leases",
    "release_unattempted_expired",
    "renew_leases",
]

CONTACTS_CHANNEL = "dialer_contacts"
CAMPAIGNS_CHANNEL = "dialer_campaigns"


@dataclass(frozen=True, slots=True)
class LeasedContact:
    """A contact leased to this worker: what dialing and compliance need, nothing more."""

    id: int
    campaign_id: int
    phone: str
    subscriber_key: str
    timezone: str | None
    tz_candidates: tuple[str, ...]
    attempts: int
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    subscriber_zones: tuple[str, ...] = ()  # every zone of the subscriber's numbers, when several
    call_list_id: int | None = None  # the import it came from (None: its list was deleted)


_LEASE_SQL = """
    UPDATE contacts c
       SET state = 'dialing', lease_owner = %(worker)s,
           lease_expires_at = now() + make_interval(secs => %(lease_s)s), updated_at = now()
      FROM (SELECT id FROM contacts
             WHERE campaign_id = %(campaign)s AND state = 'ready' AND next_attempt_at <= now()
             ORDER BY next_attempt_at
             LIMIT %(n)s
             FOR UPDATE SKIP LOCKED) eligible
     WHERE c.id = eligible.id
    RETURNING c.id, c.campaign_id, c.phone, c.subscriber_key, c.timezone, c.tz_candidates, c.attempts,
              c.name, c.extra, c.next_attempt_at, c.subscriber_zones, c.call_list_id
    """


# The hot path takes either a psycopg connection (workers use a psycopg pool for it) or an SQLAlchemy
# one (tests, tools); either way the caller owns the transaction.
HotConnection = AsyncConnection | psycopg.AsyncConnection[Any]


async def driver_connection(conn: HotConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection itself, or the one under SQLAlchemy's, in the same transaction."""
    if isinstance(conn, psycopg.AsyncConnection):
        return conn
    raw = await conn.get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def lease_contacts(
    conn: HotConnection, *, campaign_id: int, worker_id: str, limit: int, lease_seconds: float
) -> list[LeasedContact]:
    """Lease up to `limit` contacts due now, oldest `next_attempt_at` first.

    This is the hot path of every worker (and a benchmark: 1,000 contacts from a large table), so it
    talks to psycopg directly with a prepared statement, in the caller's transaction. That
    transaction commits without waiting for the WAL flush (`synchronous_commit = off`, this
    transaction only): a lease lost in a database crash only leaves its contacts `ready`, and the
    compliance gate then finds them not leased to us (`LeaseLost`) and dials nothing.
    """
    if limit <= 0:
        return []
    driver = await driver_connection(conn)
    async with driver.cursor() as cur:
        await cur.execute("SET LOCAL synchronous_commit = off")
        await cur.execute(
            _LEASE_SQL, {"worker": worker_id, "lease_s": lease_seconds, "campaign": campaign_id, "n": limit},
            prepare=True,
        )
        rows = await cur.fetchall()
    # RETURNING has no order: keep the queue in due order so the oldest are dialled first.
    rows.sort(key=lambda r: (r[9], r[0]))
    return [
        LeasedContact(
            id=r[0], campaign_id=r[1], phone=r[2], subscriber_key=r[3], timezone=r[4],
            tz_candidates=tuple(r[5] or ()), attempts=r[6], name=r[7], extra=dict(r[8] or {}),
            subscriber_zones=tuple(r[10] or ()), call_list_id=r[11],
        )
        for r in rows
    ]


RENEW_LEASES_SQL = """
    UPDATE contacts SET lease_expires_at = now() + make_interval(secs => %(lease_s)s)
     WHERE lease_owner = %(worker)s AND state = 'dialing'"""


async def renew_leases(conn: HotConnection, *, worker_id: str, lease_seconds: float) -> int:
    """Extend every lease this worker holds; returns how many. (The worker renews them in its
    heartbeat's transaction with the same statement.)"""
    driver = await driver_connection(conn)
    async with driver.cursor() as cur:
        await cur.execute(RENEW_LEASES_SQL, {"worker": worker_id, "lease_s": lease_seconds})
        return cur.rowcount


async def release_leases(conn: AsyncConnection, *, worker_id: str, contact_ids: Sequence[int]) -> int:
    """Give contacts this worker leased but did not dial back to `ready`, unchanged otherwise.

    A contact with an open attempt is never released here: its call decides what happens to it.
    """
    if not contact_ids:
        return 0
    result = await conn.execute(
        text(
            """UPDATE contacts c SET state = 'ready', lease_owner = NULL, lease_expires_at = NULL,
                      updated_at = now()
                WHERE c.id = ANY(:ids) AND c.lease_owner = :worker AND c.state = 'dialing'
                  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.contact_id = c.id AND a.ended_at IS NULL)"""
        ),
        {"ids": list(contact_ids), "worker": worker_id},
    )
    return result.rowcount


async def release_unattempted_expired(conn: AsyncConnection, *, dead_workers: Sequence[str]) -> list[int]:
    """Return to `ready` the expired leases of dead workers that have no open attempt.

    Returns the campaign ids touched (to NOTIFY). Contacts with an open attempt stay `dialing`
    until the reconciler closes the attempt.
    """
    if not dead_workers:
        return []
    rows = (
        await conn.execute(
            text(
                """UPDATE contacts c SET state = 'ready', lease_owner = NULL, lease_expires_at = NULL,
                          updated_at = now()
                    WHERE c.state = 'dialing' AND c.lease_owner = ANY(:dead)
                      AND NOT EXISTS (SELECT 1 FROM attempts a
                                       WHERE a.contact_id = c.id AND a.ended_at IS NULL)
                RETURNING c.campaign_id"""
            ),
            {"dead": list(dead_workers)},
        )
    ).all()
    return sorted({r.campaign_id for r in rows})


async def earliest_ready_at(conn: AsyncConnection, *, campaign_id: int) -> datetime | None:
    """When the next `ready` contact of a campaign becomes due (an index lookup)."""
    return (
        await conn.execute(
            text(
                """SELECT next_attempt_at FROM contacts
                    WHERE campaign_id = :campaign AND state = 'ready'
                    ORDER BY next_attempt_at LIMIT 1"""
            ),
            {"campaign": campaign_id},
        )
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    ready_now: int
    ready_later: int
    dialing: int

    @property
    def finished(self) -> bool:
        """Nothing left to dial, now or later, and nothing in flight."""
        return self.ready_now == 0 and self.ready_later == 0 and self.dialing == 0


async def campaign_progress(conn: AsyncConnection, *, campaign_id: int) -> CampaignProgress:
    row = (
        await conn.execute(
            text(
                """SELECT count(*) FILTER (WHERE state = 'ready' AND next_attempt_at <= now()) AS ready_now,
                          count(*) FILTER (WHERE state = 'ready' AND next_attempt_at > now()) AS ready_later,
                          count(*) FILTER (WHERE state = 'dialing') AS dialing
                     FROM contacts WHERE campaign_id = :campaign AND state IN ('ready', 'dialing')"""
            ),
            {"campaign": campaign_id},
        )
    ).one()
    return CampaignProgress(ready_now=row.ready_now, ready_later=row.ready_later, dialing=row.dialing)


async def notify_contacts_ready(conn: AsyncConnection, campaign_id: int) -> None:
    """Wake the workers of a campaign: contacts became ready (delivered at commit)."""
    await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {
        "channel": CONTACTS_CHANNEL, "payload": str(campaign_id)})


async def notify_campaign(conn: AsyncConnection, campaign_id: int) -> None:
    """Tell workers a campaign's status or settings changed (delivered at commit)."""
    await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {
        "channel": CAMPAIGNS_CHANNEL, "payload": str(campaign_id)})
