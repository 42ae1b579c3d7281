"""A running worker reconciles its CDR with Asterisk's (cdr.Reconciler in its TaskGroup): a call
Asterisk reported that the dialer never recorded moves `dialer_cdr_mismatch_total`; another
dialer's calls on the shared Asterisk (another ChannelId prefix) do not."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.metrics import DialerMetrics
from dialer.reservations import installation_prefix
from dialer.worker import Worker, WorkerOptions

pytestmark = [pytest.mark.timeout(120)]


async def _asterisk_cdr(database: AsyncEngine, unique_id: str, start: datetime) -> None:
    async with database.begin() as conn:
        await conn.execute(
            text("INSERT INTO asterisk_cdr (unique_id, server, disposition, start_at, end_at, duration, billsec, raw)"
                 " VALUES (:u, 'sbx', 'BUSY', :s, :e, 1, 0, CAST(:raw AS jsonb))"),
            {"u": unique_id, "s": start, "e": start + timedelta(seconds=1),
             "raw": json.dumps({"Channel": "Local/+79005556677@pstn-sim-0000000f;1", "UniqueID": unique_id})},
        )


async def test_worker_counts_cdr_mismatches_of_its_own_calls(database: AsyncEngine, database_url: str) -> None:
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    async with database.connect() as conn:
        ours = await installation_prefix(conn)
    await _asterisk_cdr(database, f"{ours}999-deadbeef", ten_minutes_ago)  # ours, no dialer row
    await _asterisk_cdr(database, "dlr-999-cafe", ten_minutes_ago)  # another dialer's on the shared Asterisk
    await _asterisk_cdr(database, "x-foreign-1", ten_minutes_ago)  # someone else's call
    metrics = DialerMetrics()
    worker = Worker(database, database_url, WorkerOptions(cdr_reconcile_seconds=0.2), metrics=metrics)
    reports = []
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        await worker.started.wait()
        for _ in range(600):  # up to 30 s, until three passes have run
            report = worker.cdr_reconciler.last_report if worker.cdr_reconciler is not None else None
            if report is not None and all(report is not r for r in reports):
                reports.append(report)
            if len(reports) >= 3:
                break
            await asyncio.sleep(0.05)
        worker.request_stop()
        assert await running == 0
    assert len(reports) >= 3
    # counted once, however many passes saw it
    assert metrics.registry.get_sample_value("dialer_cdr_mismatch_total") == 1
