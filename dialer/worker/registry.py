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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "LiveWorker",
    "dead_workers",
    "heartbeat",
    "live_workers",
    "lock_shares",
    "make_worker_id",
    "mark_stopped",
    "open_calls",
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


async def heartbeat(
    conn: AsyncConnection, *, worker_id: str, campaign_ids: Sequence[int], trunk_ids: Sequence[int],
    shares: Mapping[str, Any] | None = None,
) -> None:
    await conn.execute(
        text(
            """UPDATE workers SET heartbeat_at = now(), campaign_ids = :campaigns, trunk_ids = :trunks,
                      shares = CAST(:shares AS jsonb)
                WHERE id = :id"""
        ),
        {"id": worker_id, "campaigns": list(campaign_ids), "trunks": list(trunk_ids),
         "shares": json.dumps(dict(shares or {}))},
    )


async def lock_shares(conn: AsyncConnection) -> None:
    """Heartbeats compute and publish shares one at a time (see dialer.worker.shares)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('dialer-worker-shares', 0))"))


async def open_calls(
    conn: AsyncConnection, *, trunk_ids: Sequence[int], campaign_ids: Sequence[int]
) -> dict[str, dict[str, int]]:
    """Open attempts per trunk and per campaign, by worker: `{"trunk:3": {"w1": 4}, "campaign:7": ...}`."""
    rows = (
        await conn.execute(
            text(
                """SELECT worker_id, trunk_id, campaign_id, count(*) AS n FROM attempts
                    WHERE ended_at IS NULL AND (trunk_id = ANY(:trunks) OR campaign_id = ANY(:campaigns))
                    GROUP BY worker_id, trunk_id, campaign_id"""
            ),
            {"trunks": list(trunk_ids), "campaigns": list(campaign_ids)},
        )
    ).all()
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        for key in (f"trunk:{r.trunk_id}", f"campaign:{r.campaign_id}"):
            per_worker = out.setdefault(key, {})
            per_worker[r.worker_id] = per_worker.get(r.worker_id, 0) + r.n
    return out


async def mark_stopped(conn: AsyncConnection, *, worker_id: str) -> None:
    await conn.execute(text("UPDATE workers SET stopped_at = now() WHERE id = :id"), {"id": worker_id})


async def live_workers(conn: AsyncConnection, *, stale_after_s: float) -> list[LiveWorker]:
    rows = (
        await conn.execute(
            text(
                """SELECT id, campaign_ids, trunk_ids, shares FROM workers
                    WHERE stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => :stale)
                    ORDER BY id"""
            ),
            {"stale": stale_after_s},
        )
    ).all()
    return [LiveWorker(r.id, tuple(r.campaign_ids or ()), tuple(r.trunk_ids or ()), dict(r.shares or {}))
            for r in rows]


async def dead_workers(
    conn: AsyncConnection, *, stale_after_s: float, host: str, alive: Callable[[int], bool] = pid_alive,
) -> list[str]:
    """Workers that hold contacts (leased or in calls) and are dead: stale heartbeat, stopped, or
    (on this host) a pid that no longer exists. A lease owner with no `workers` row is dead too."""
    rows = (
        await conn.execute(
            text(
                """SELECT DISTINCT c.lease_owner AS id, w.host, w.pid,
                          (w.id IS NULL OR w.stopped_at IS NOT NULL
                           OR w.heartbeat_at <= now() - make_interval(secs => :stale)) AS stale
                     FROM contacts c LEFT JOIN workers w ON w.id = c.lease_owner
                    WHERE c.state = 'dialing' AND c.lease_owner IS NOT NULL"""
            ),
            {"stale": stale_after_s},
        )
    ).all()
    dead = []
    for r in rows:
        if r.stale or (r.host == host and r.pid is not None and not alive(r.pid)):
            dead.append(r.id)
    return sorted(dead)
