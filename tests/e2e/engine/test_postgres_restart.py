"""PostgreSQL restarted mid-run, under two workers with calls in flight (a private server: the
shared test server serves the other tests).

The workers' connections die with the server; gates, closes and CDR writes wait and retry until it
is back; the campaign completes, nothing dialled twice, every contact and attempt accounted for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.db import migrate
from dialer.db.embedded import EmbeddedPostgres
from dialer.db.session import make_engine
from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
    calls_in_flight,
    double_dials,
    finished,
    killed_at_exit,
    phone,
    run_prefix,
    scalar,
    seed_fault_run,
    spawn_worker,
    unaccounted,
    wait_until,
)
from tests.integration.engine.seed import SeedContact

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(420)]


async def test_postgresql_restart_mid_run_completes(
    private_pg: EmbeddedPostgres, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    url = (await asyncio.to_thread(private_pg.ensure_running)).url()
    await asyncio.to_thread(migrate.upgrade, url)
    database: AsyncEngine = make_engine(url)
    prefix = run_prefix()
    contacts = [SeedContact(phone(prefix, i, "06789"[i % 5]), f"p-{i}", "Asia/Omsk") for i in range(200)]
    try:
        await seed_fault_run(database, asterisk.ami_url, contacts, max_channels=40, max_attempts=5, sim_hold=3)
        workers = [spawn_worker(url, tmp_path, f"w{i}") for i in range(2)]
        with killed_at_exit(workers):
            await wait_until(lambda: calls_in_flight(database, 10), 90, "calls in flight")
            await database.dispose()
            await asyncio.to_thread(private_pg.stop)  # fast shutdown: every session is cut
            await asyncio.sleep(3)  # calls end, CDRs and closes queue up while the server is away
            await asyncio.to_thread(private_pg.ensure_running)
            logs = await finished(workers, 300)
        done = await scalar(database, "SELECT count(*) FROM contacts WHERE state = 'done'")
        answered = await scalar(database, "SELECT count(DISTINCT contact_id) FROM attempts WHERE outcome = 'answered'")
        cdr_rows = await scalar(database, "SELECT count(*) FROM cdr")
        attempts = await scalar(database, "SELECT count(*) FROM attempts")
        assert (done, answered) == (200, 200), logs
        assert cdr_rows == attempts
        assert await double_dials(database) == []
        assert await unaccounted(database) == []
    finally:
        await database.dispose()
