"""CdrWriter against real PostgreSQL: batches, idempotency by channel id, bad rows, bounds, shutdown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr import CdrQueueFull, CdrRecord, CdrWriter, CdrWriterClosed, DialerMetrics

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def record(i: int, **changes: object) -> CdrRecord:
    values: dict[str, object] = dict(
        channel_id=f"w-{i}", phone=f"+7900{i:07d}", created_at=T0 + timedelta(seconds=i), outcome="busy",
        campaign_id=1, company_id=1, trunk="t1", worker_id="w1", disposition="BUSY", hangup_cause=17,
        ring_seconds=Decimal("1.250"),
    )
    values.update(changes)
    return CdrRecord(**values)  # type: ignore[arg-type]


async def rows(engine: AsyncEngine, sql: str = "SELECT count(*) FROM cdr") -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_run_writes_batches_and_aclose_flushes(database: AsyncEngine) -> None:
    metrics = DialerMetrics(CollectorRegistry())
    writer = CdrWriter(database, batch_size=100, flush_interval=30.0, metrics=metrics)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(writer.run())
        for i in range(1234):
            writer.submit(record(i))
        # Twelve full batches go out without waiting for the 30 s interval; 34 rows wait for aclose.
        async with asyncio.timeout(60):
            await writer.wait_for(lambda s: s.rows_written >= 1200)
        assert writer.pending == 34
        async with asyncio.timeout(60):
            await writer.aclose()
    assert await rows(database) == [(1234,)]
    assert writer.pending == 0
    assert metrics.registry.get_sample_value("dialer_cdr_rows_written_total", {"table": "cdr"}) == 1234
    assert metrics.registry.get_sample_value("dialer_cdr_queue_rows", {"table": "cdr"}) == 0
    with pytest.raises(CdrWriterClosed):
        writer.submit(record(1))


async def test_flush_interval_writes_a_partial_batch(database: AsyncEngine) -> None:
    writer = CdrWriter(database, batch_size=1000, flush_interval=0.2)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(writer.run())
        writer.submit(record(1))
        async with asyncio.timeout(30):
            await writer.wait_for(lambda s: s.rows_written >= 1)
        task.cancel()
    assert await rows(database) == [(1,)]


async def test_same_channel_id_updates_instead_of_duplicating(database: AsyncEngine) -> None:
    writer = CdrWriter(database, batch_size=10, flush_interval=1.0)
    for i in range(5):
        writer.submit(record(i, outcome="no_answer"))
    await writer.flush()
    # A later record of a written channel, and two records of one channel inside one batch.
    writer.submit(record(1, outcome="answered", billsec=42, answered_at=T0 + timedelta(seconds=3)))
    writer.submit(record(2, outcome="busy"))
    writer.submit(record(2, outcome="congestion", hangup_cause=34))
    await writer.flush()
    # A whole batch written twice (a retry after an ambiguous commit) changes nothing.
    for i in range(5):
        writer.submit(record(i, outcome="no_answer") if i not in (1, 2) else record(i))
    writer.submit(record(1, outcome="answered", billsec=42, answered_at=T0 + timedelta(seconds=3)))
    writer.submit(record(2, outcome="congestion", hangup_cause=34))
    await writer.flush()
    got = await rows(database, "SELECT channel_id, outcome, billsec, hangup_cause FROM cdr ORDER BY channel_id")
    assert got == [
        ("w-0", "no_answer", 0, 17),
        ("w-1", "answered", 42, 17),
        ("w-2", "congestion", 0, 34),
        ("w-3", "no_answer", 0, 17),
        ("w-4", "no_answer", 0, 17),
    ]
    assert await rows(database, "SELECT DISTINCT source FROM cdr") == [("dialer",)]


async def test_every_column_round_trips(database: AsyncEngine) -> None:
    full = record(
        7, linked_id="L-7", attempt_id=70, contact_id=700, subscriber_key="sub-7", answered_at=T0,
        ended_at=T0 + timedelta(seconds=61), billsec=61, amd_status="HUMAN", outcome="answered",
        disposition="ANSWERED", hangup_cause=16, ring_seconds=Decimal("3.125"),
    )
    writer = CdrWriter(database)
    writer.submit(full)
    await writer.aclose()
    got = await rows(
        database,
        """SELECT channel_id, linked_id, attempt_id, campaign_id, company_id, contact_id, subscriber_key, phone,
                  trunk, worker_id, created_at, answered_at, ended_at, ring_seconds, billsec, disposition,
                  hangup_cause, amd_status, outcome FROM cdr""",
    )
    assert got == [(
        "w-7", "L-7", 70, 1, 1, 700, "sub-7", "+79000000007", "t1", "w1", full.created_at, T0,
        T0 + timedelta(seconds=61), Decimal("3.125"), 61, "ANSWERED", 16, "HUMAN", "answered",
    )]


async def test_rows_postgresql_refuses_are_skipped_alone(database: AsyncEngine) -> None:
    metrics = DialerMetrics(CollectorRegistry())
    writer = CdrWriter(database, batch_size=64, metrics=metrics)
    bad = {5, 40}
    for i in range(64):
        # phone is varchar(20): a 30-character value is refused by PostgreSQL, not by us.
        writer.submit(record(i, phone="+7" + "9" * 28) if i in bad else record(i))
    await writer.flush()
    assert await rows(database) == [(62,)]
    assert writer.rows_rejected == 2
    assert metrics.registry.get_sample_value("dialer_cdr_rows_rejected_total", {"table": "cdr"}) == 2
    ids = {r[0] for r in await rows(database, "SELECT channel_id FROM cdr")}
    assert ids == {f"w-{i}" for i in range(64) if i not in bad}


async def test_queue_is_bounded_and_put_waits_for_room(database: AsyncEngine) -> None:
    writer = CdrWriter(database, batch_size=10, flush_interval=60.0, max_pending=20)
    for i in range(20):
        writer.submit(record(i))
    with pytest.raises(CdrQueueFull) as info:
        writer.submit(record(20))
    assert info.value.pending == 20
    writer.submit(record(3, outcome="answered"))  # replacing a queued channel needs no room
    putter = asyncio.create_task(writer.put(record(20)))
    await asyncio.sleep(0)
    assert not putter.done()
    await writer.flush()
    await asyncio.wait_for(putter, 10)
    await writer.flush()
    assert await rows(database) == [(21,)]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        CdrRecord(channel_id="x", phone="+79001234567", created_at=datetime(2026, 1, 1), outcome="busy")


async def test_writes_through_an_autocommit_pool_small_and_large_batches(database: AsyncEngine,
                                                                          database_url: str) -> None:
    """A worker's writer goes through its hot-path pool: small batches are one upsert from arrays,
    larger ones COPY in a transaction; both idempotent by channel id."""
    from dialer.db.session import make_hot_pool

    pool = make_hot_pool(database_url, name="cdr-test", min_size=1, max_size=2)
    await pool.open(wait=True)
    try:
        writer = CdrWriter(database, batch_size=100, flush_interval=0.05, pool=pool)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(writer.run())
            writer.submit(record(1, linked_id=None, ring_seconds=None))
            writer.submit(record(2, answered_at=T0, billsec=7, outcome="answered", disposition="ANSWERED"))
            async with asyncio.timeout(30):
                await writer.wait_for(lambda s: s.rows_written >= 2)
            for i in range(300):  # three batches of 100: COPY
                writer.submit(record(i, hangup_cause=16))
            async with asyncio.timeout(60):
                await writer.aclose()
    finally:
        await pool.close()
    assert await rows(database) == [(300,)]
    assert await rows(database, "SELECT hangup_cause, source FROM cdr WHERE channel_id = 'w-2'") == [(16, "dialer")]
    assert await rows(database, "SELECT ring_seconds FROM cdr WHERE channel_id = 'w-299'") == [(Decimal("1.250"),)]
