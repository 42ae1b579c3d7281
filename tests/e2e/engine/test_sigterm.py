"""SIGTERM: a worker stops originating, lets its calls in progress end, flushes CDRs and exits 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
    calls_in_flight,
    phone,
    run_prefix,
    scalar,
    spawn_worker,
    wait_until,
)
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
        await wait_until(lambda: calls_in_flight(database, 5), 60, "calls in flight")
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


async def test_repeated_sigterm_still_exits_zero(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    """A second SIGTERM (and every later one, up to the process's very end) cuts the grace short
    but never kills the worker with the signal's default action."""
    prefix = run_prefix()
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=10, max_channels=30)
        await seed_campaign(conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
                            rules_toml=rules_toml(day=5), retry_delays=FAST_RETRIES,
                            settings=fast_settings(sim_hold=30), dial_timeout_s=10)
        await seed_contacts(conn, 1, [SeedContact(phone(prefix, i, 8), f"p{i}") for i in range(300)])
    worker = spawn_worker(database_url, tmp_path, "w0", until_done=False)
    try:
        await wait_until(lambda: calls_in_flight(database, 3), 60, "calls in flight")
        worker.signal(signal.SIGTERM)
        await wait_until(lambda: _logged(worker.log(), "waiting up to"), 30, "the drain to start")
        # SIGTERM again and again until the process is gone: during the drain, the flush, the
        # removal of the loop's handlers and the interpreter's exit.
        while worker.proc.poll() is None:
            worker.signal(signal.SIGTERM)
            await asyncio.sleep(0.05)
        code = await worker.wait(10)
    finally:
        worker.signal(signal.SIGKILL)
    log = worker.log()
    assert code == 0, log[-3000:]
    assert "received again" in log and "worker " in log and " stopped" in log, log[-3000:]


@pytest.mark.parametrize("delay_s", [0.0, 0.3, 1.0])
async def test_sigterm_at_start_up_exits_zero(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path, delay_s: float
) -> None:
    """SIGTERM as soon as `dialer run` handles signals (and a little later, while it connects)."""
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=10, max_channels=30)
        await seed_campaign(conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
                            rules_toml=rules_toml(day=5), retry_delays=FAST_RETRIES, settings=fast_settings())
    worker = spawn_worker(database_url, tmp_path, "w0", until_done=False)
    try:
        await worker.handles_stop_signals()
        await asyncio.sleep(delay_s)
        worker.signal(signal.SIGTERM)
        code = await worker.wait(60)
    finally:
        worker.signal(signal.SIGKILL)
    assert code == 0, worker.log()[-3000:]
    assert await scalar(database, "SELECT count(*) FROM attempts") == 0


async def _logged(log: str, line: str) -> bool:
    return line in log
