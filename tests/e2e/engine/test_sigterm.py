"""SIGTERM: a worker stops originating, lets its calls in progress end, flushes CDRs and exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import phone, run_prefix, scalar, spawn_worker, wait_until
from tests.integration.engine.seed import (
    FAST_RETRIES,
    SeedContact,
    fast_settings,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(180)]


async def test_sigterm_lets_calls_end_and_exits_zero(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=10, max_channels=30)
        await seed_campaign(conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
                            rules_toml=rules_toml(day=5), retry_delays=FAST_RETRIES,
                            settings=fast_settings(sim_hold=4), dial_timeout_s=10)
        await seed_contacts(conn, 1, [SeedContact(phone(prefix, i, 8), f"p{i}") for i in range(300)])
    worker = spawn_worker(database_url, tmp_path, "w0", until_done=False)
    try:
        await wait_until(lambda: _open_at_least(database, 5), 60, "calls in flight")
        worker.signal(signal.SIGTERM)
        code = await worker.wait(90)
    finally:
        worker.signal(signal.SIGKILL)
    assert code == 0, worker.log()[-3000:]
    log = worker.log()
    assert "waiting up to" in log and "still up after the grace" not in log
    assert await scalar(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") == 0
    assert await scalar(database, "SELECT count(*) FROM contacts WHERE state = 'dialing'") == 0
    assert await scalar(database, "SELECT count(*) FROM cdr") == await scalar(database, "SELECT count(*) FROM attempts")
    assert await scalar(database, "SELECT count(*) FROM workers WHERE stopped_at IS NOT NULL") == 1
    assert await scalar(database, "SELECT count(*) FROM contacts WHERE state = 'ready'") > 0  # it stopped dialling


async def _open_at_least(engine: AsyncEngine, n: int) -> bool:
    return await scalar(engine, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") >= n
