"""The AMI link cut mid-run (a loopback proxy the test controls between the workers and Asterisk).

The workers reconnect; the calls in flight at the cut are settled (followed to their end after the
resync, completed from Asterisk's CDR, or `lost` and retried); the run completes with every contact
answered once and nobody dialled twice at once.
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
from tests.integration.ami.proxy import LoopbackProxy
from tests.integration.engine.seed import SeedContact

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300)]

OUTAGE_S = 3.0  # how long the proxy refuses connections after the cut


async def test_ami_cut_mid_run_completes_and_settles_affected_calls(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    contacts = [SeedContact(phone(prefix, i, "06789"[i % 5]), f"p-{i}", "Asia/Irkutsk") for i in range(300)]
    async with LoopbackProxy(asterisk.host, asterisk.port) as proxy:
        proxied = f"ami://{asterisk.username}:{asterisk.secret}@127.0.0.1:{proxy.port}"
        await seed_fault_run(database, proxied, contacts, max_channels=40, max_attempts=5, sim_hold=4)
        workers = [spawn_worker(database_url, tmp_path, f"w{i}") for i in range(2)]
        with killed_at_exit(workers):
            await wait_until(lambda: calls_in_flight(database, 15), 90, "calls in flight")
            async with database.connect() as conn:
                in_flight = (await conn.execute(
                    text("SELECT id FROM attempts WHERE ended_at IS NULL"))).scalars().all()
            proxy.refuse = True
            proxy.cut()
            await asyncio.sleep(OUTAGE_S)
            proxy.refuse = False
            logs = await finished(workers, 240)
    assert "ami.disconnected" in logs and logs.count("ami.connected") >= 4, logs

    async with database.connect() as conn:
        states = dict((await conn.execute(text("SELECT state, count(*) FROM contacts GROUP BY state"))).all())
        affected = dict((await conn.execute(text(
            "SELECT coalesce(outcome, 'open'), count(*) FROM attempts WHERE id = ANY(:ids) GROUP BY 1"),
            {"ids": in_flight})).all())
        answered_contacts = (await conn.execute(text(
            "SELECT count(DISTINCT contact_id) FROM attempts WHERE outcome = 'answered'"))).scalar_one()
    assert states == {"done": 300}, states
    assert "open" not in affected and sum(affected.values()) == len(in_flight), affected
    assert answered_contacts == 300
    assert await double_dials(database) == []
    assert await unaccounted(database) == []
