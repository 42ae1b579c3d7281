"""Asterisk restarted mid-run (its own module: it ends every call on the shared sandbox).

Every call up at the restart ends with it; the workers reconnect, settle those calls (real outcome
when Asterisk reported it, else `lost`, retried), and the campaign completes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
    calls_in_flight,
    double_dials,
    finished,
    killed_at_exit,
    phone,
    run_prefix,
    seed_fault_run,
    spawn_worker,
    unaccounted,
    wait_until,
)
from tests.integration.engine.seed import SeedContact

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(420)]


async def test_asterisk_restart_mid_run_completes(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    contacts = [SeedContact(phone(prefix, i, "06789"[i % 5]), f"p-{i}", "Asia/Yakutsk") for i in range(250)]
    await seed_fault_run(database, asterisk.ami_url, contacts, max_channels=40, max_attempts=5, sim_hold=4)
    workers = [spawn_worker(database_url, tmp_path, f"w{i}") for i in range(2)]
    with killed_at_exit(workers):
        await wait_until(lambda: calls_in_flight(database, 15), 90, "calls in flight")
        async with database.connect() as conn:
            in_flight = (await conn.execute(text("SELECT id FROM attempts WHERE ended_at IS NULL"))).scalars().all()
        await asyncio.to_thread(asterisk.restart)
        await finished(workers, 300)

    async with database.connect() as conn:
        states = dict((await conn.execute(text("SELECT state, count(*) FROM contacts GROUP BY state"))).all())
        affected = dict((await conn.execute(text(
            "SELECT coalesce(outcome, 'open'), count(*) FROM attempts WHERE id = ANY(:ids) GROUP BY 1"),
            {"ids": in_flight})).all())
        answered_contacts = (await conn.execute(text(
            "SELECT count(DISTINCT contact_id) FROM attempts WHERE outcome = 'answered'"))).scalar_one()
        retried = (await conn.execute(text(
            "SELECT count(*) FROM contacts WHERE attempts > 1"))).scalar_one()
    assert states == {"done": 250}, states
    assert "open" not in affected and sum(affected.values()) == len(in_flight), affected
    # the calls cut by the restart were not answered to the end: they were dialled again and answered
    assert retried > 0
    assert answered_contacts == 250
    assert await double_dials(database) == []
    assert await unaccounted(database) == []
