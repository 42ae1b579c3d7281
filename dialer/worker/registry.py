"""The `workers` table: who is alive (heartbeat), what each serves, and who died with work in hand.

A worker is alive while its heartbeat is fresh. It is dead when the heartbeat is older than the
lease, or at once when it ran on this host and its pid is gone (a restart after SIGKILL need not
wait for the lease to expire). Pacing shares count the live workers serving a trunk or campaign.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.leasing import RENEW_LEASES_SQL

__all__ = [
    "BeatView",
    "LiveWorker",
    "begin_beat",
    "dead_workers",
    "end_beat",
    "make_worker_id",
    "mark_stopped",
    "pid_alive",
    "register_worker",
]


def make_worker_id(host: str | None = None, pid: int | None = None) -> str:
    """`host:pid:random`: unique across restarts (pids are reused) and readable in logs and CDRs."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}:{secrets.token_hex(3)}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class LiveWorker:
    id: str
    campaign_ids: tuple[int, ...]
    trunk_ids: tuple[int, ...]
    shares: dict[str, Any] = field(default_factory=dict)


async def register_worker(
    conn: AsyncConnection, *, worker_id: str, host: str, pid: int,
    campaign_ids: Sequence[int], trunk_ids: Sequence[int],
) -> None:
    await conn.execute(
        text(
            """INSERT INTO workers (id, host, pid, campaign_ids, trunk_ids)
               VALUES (:id, :host, :pid, :campaigns, :trunks)"""
        ),
        {"id": worker_id, "host": host, "pid": pid, "campaigns": list(campaign_ids), "trunks": list(trunk_ids)},
    )


# A heartbeat is one transaction in two round trips on the worker's autocommit hot-path pool (as the
# compliance gate): BEGIN + the shares lock + the live workers + their open calls; then, once this
# worker's shares are computed, its heartbeat row + the renewal of its leases + COMMIT.
_LOCK_SHARES_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('dialer-worker-shares', 0))"
_LIVE_WORKERS_SQL = """
    SELECT id, campaign_ids, trunk_ids, shares FROM workers
     WHERE stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => %(stale)s)
     ORDER BY id"""
_OPEN_CALLS_SQL = """
    SELECT worker_id, trunk_id, campaign_id, count(*) AS n FROM attempts
     WHERE ended_at IS NULL AND (trunk_id = ANY(%(trunks)s::int4[]) OR campaign_id = ANY(%(campaigns)s::int4[]))
     GROUP BY worker_id, trunk_id, campaign_id"""
_BEGIN_BEAT = ";\n".join(["BEGIN", _LOCK_SHARES_SQL, _LIVE_WORKERS_SQL, _OPEN_CALLS_SQL])
_HEARTBEAT_SQL = """
    UPDATE workers SET heartbeat_at = now(), campaign_ids = %(campaigns)s::int4[], trunk_ids = %(trunks)s::int4[],
           shares = %(shares)s::jsonb
     WHERE id = %(worker)s"""
_END_BEAT = ";\n".join([_HEARTBEAT_SQL, RENEW_LEASES_SQL, "COMMIT"])


@dataclass(frozen=True, slots=True)
class BeatView:
    """What a heartbeat reads under the shares lock: the live workers, and the open attempts per trunk
    and per campaign by worker (`{"trunk:3": {"w1": 4}, "campaign:7": ...}`)."""

    peers: list[LiveWorker]
    usage: dict[str, dict[str, int]]


async def begin_beat(
    cur: psycopg.AsyncClientCursor[Any], *, stale_after_s: float, trunk_ids: Sequence[int],
    campaign_ids: Sequence[int],
) -> BeatView:
    """Open the heartbeat's transaction on an autocommit connection, take the shares lock (heartbeats
    compute and publish shares one at a time, see dialer.worker.shares) and read what shares depend
    on. End it with `end_beat`, or roll back."""
    await cur.execute(_BEGIN_BEAT, {"stale": stale_after_s, "trunks": list(trunk_ids),
                                    "campaigns": list(campaign_ids)})
    cur.nextset()  # past BEGIN's empty result, to the lock's
    cur.nextset()
    peers = [LiveWorker(wid, tuple(campaigns or ()), tuple(trunks or ()), dict(shares or {}))
             for wid, campaigns, trunks, shares in await cur.fetchall()]
    cur.nextset()
    usage: dict[str, dict[str, int]] = {}
    for worker_id, trunk_id, campaign_id, n in await cur.fetchall():
        for key in (f"trunk:{trunk_id}", f"campaign:{campaign_id}"):
            per_worker = usage.setdefault(key, {})
            per_worker[worker_id] = per_worker.get(worker_id, 0) + n
    return BeatView(peers, usage)


async def end_beat(
    cur: psycopg.AsyncClientCursor[Any], *, worker_id: str, campaign_ids: Sequence[int], trunk_ids: Sequence[int],
    shares: Mapping[str, Any], lease_seconds: float,
) -> None:
    """Publish this worker's heartbeat (what it serves, its shares), renew its leases, and commit."""
    await cur.execute(_END_BEAT, {"worker": worker_id, "campaigns": list(campaign_ids), "trunks": list(trunk_ids),
                                  "shares": json.dumps(dict(shares)), "lease_s": lease_seconds})


async def mark_stopped(conn: AsyncConnection, *, worker_id: str) -> None:
    await conn.execute(text("UPDATE workers SET stopped_at = now() WHERE id = :id"), {"id": worker_id})


# Lease owners holding contacts, and whether their heartbeat is stale (`dead_workers`).
_LEASE_OWNERS_SQL = """
    SELECT DISTINCT c.lease_owner AS id, w.host, w.pid,
           (w.id IS NULL OR w.stopped_at IS NOT NULL
            OR w.heartbeat_at <= now() - make_interval(secs => {stale})) AS stale
      FROM contacts c LEFT JOIN workers w ON w.id = c.lease_owner
     WHERE c.state = 'dialing' AND c.lease_owner IS NOT NULL"""
LEASE_OWNERS_SQL = _LEASE_OWNERS_SQL.format(stale="%(stale)s")  # psycopg's placeholders


def dead_of(rows: Iterable[Sequence[Any]], *, host: str, alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """The dead among lease owners read by LEASE_OWNERS_SQL: (id, host, pid, stale) rows."""
    dead = []
    for worker_id, worker_host, pid, stale in rows:
        if stale or (worker_host == host and pid is not None and not alive(pid)):
            dead.append(worker_id)
    return sorted(dead)


async def dead_workers(
    conn: AsyncConnection, *, stale_after_s: float, host: str, alive: Callable[[int], bool] = pid_alive,
) -> list[str]:
    """Workers that hold contacts (leased or in calls) and are dead: stale heartbeat, stopped, or
    (on this host) a pid that no longer exists. A lease owner with no `workers` row is dead too."""
    rows = (await conn.execute(text(_LEASE_OWNERS_SQL.format(stale=":stale")), {"stale": stale_after_s})).all()
    return dead_of(rows, host=host, alive=alive)
