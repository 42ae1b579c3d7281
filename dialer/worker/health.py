"""The worker's `/healthz` verdict: healthy while it can reach its database and at least one
Asterisk server, and its clock agrees with the database's (without any of them it places no call)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.worker.lanes import AmiPool

__all__ = ["DB_PROBE_TIMEOUT_S", "worker_health"]

# A health probe answers within a scraper's timeout (Prometheus and orchestrators use a few seconds).
DB_PROBE_TIMEOUT_S = 2.0


async def worker_health(engine: AsyncEngine, pool: AmiPool, *, db_timeout_s: float = DB_PROBE_TIMEOUT_S,
                        clock_problem: str | None = None) -> str | None:
    """None when healthy, else the reasons (cdr.exporter.HealthCheck); `clock_problem` from ClockGuard."""
    problems: list[str] = [] if clock_problem is None else [clock_problem]
    try:
        async with asyncio.timeout(db_timeout_s), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to answer is the verdict, not an error of the probe
        problems.append(f"database unreachable ({type(exc).__name__})")
    if not pool.connected_servers():
        wanted = pool.servers()
        problems.append(f"no AMI server connected (of {', '.join(wanted)})" if wanted
                        else "no AMI server connected (no trunk to serve yet)")
    return "; ".join(problems) or None
