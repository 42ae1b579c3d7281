"""CdrWriter keeps its queued rows across a real PostgreSQL restart (a private embedded server)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from prometheus_client import CollectorRegistry

from cdr import CdrWriter, DialerMetrics, RetryPolicy
from dialer.db import migrate
from dialer.db.embedded import EmbeddedPostgres
from dialer.db.session import make_engine
from tests.integration.cdr.test_writer import record


@pytest.mark.slow
async def test_writer_retries_through_a_postgresql_restart(private_pg: EmbeddedPostgres) -> None:
    server = await asyncio.to_thread(private_pg.ensure_running)
    url = server.url()
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    metrics = DialerMetrics(CollectorRegistry())
    writer = CdrWriter(
        engine, batch_size=50, flush_interval=0.05, metrics=metrics, retry=RetryPolicy(initial=0.05, maximum=0.5)
    )

    try:
        async with asyncio.timeout(240), asyncio.TaskGroup() as tg:
            tg.create_task(writer.run())
            for i in range(100):
                writer.submit(record(i))
            await writer.wait_for(lambda s: s.rows_written >= 100)
            # Fast shutdown: the pooled connections get AdminShutdown, new ones are refused.
            await asyncio.to_thread(private_pg.stop)
            for i in range(100, 300):
                writer.submit(record(i))
            await writer.wait_for(lambda s: s.retries >= 3)
            assert writer.rows_written == 100
            assert writer.pending == 200
            await asyncio.to_thread(private_pg.ensure_running)
            await writer.wait_for(lambda s: s.rows_written >= 300)
            await writer.aclose()
    finally:
        await engine.dispose()
    with psycopg.connect(url) as conn:
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT channel_id) FROM cdr").fetchone() or (0, 0)
    assert (count, distinct) == (300, 300)
    assert (metrics.registry.get_sample_value("dialer_cdr_write_retries_total", {"table": "cdr"}) or 0) >= 3
