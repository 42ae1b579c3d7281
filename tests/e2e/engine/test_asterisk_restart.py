"""Asterisk restarted mid-run (its own module: it ends every call on the shared sandbox).

Every call up at the restart ends with it; the workers reconnect, settle those calls (real outcome
when Asterisk reported it, else `lost`, retried), and the campaign completes.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
    double_dials,
    phone,
    run_prefix,
    scalar,
    spawn_worker,
    unaccounted,
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

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(420)]


async def test_asterisk_restart_mid_run_completes(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    contacts = [SeedContact(phone(prefix, i, "06789"[i % 5]), f"p-{i}", "Asia/Yakutsk") for i in range(250)]
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=20, max_channels=40)
        await seed_campaign(
            conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
            rules_toml=rules_toml(day=10, week=20, month=40), max_attempts=5, retry_delays=FAST_RETRIES,
            settings=fast_settings(sim_hold=4, dialer_hold=1), dial_timeout_s=10,
        )
        await seed_contacts(conn, 1, contacts)
    workers = [spawn_worker(database_url, tmp_path, f"w{i}") for i in range(2)]
    try:
        await wait_until(lambda: _open_at_least(database, 15), 90, "calls in flight")
        async with database.connect() as conn:
            in_flight = (await conn.execute(text("SELECT id FROM attempts WHERE ended_at IS NULL"))).scalars().all()
        await asyncio.to_thread(asterisk.restart)
        codes = [await w.wait(300) for w in workers]
    finally:
        for w in workers:
            w.signal(signal.SIGKILL)
    logs = "\n".join(w.log()[-4000:] for w in workers)
    assert codes == [0, 0], logs

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


async def _open_at_least(engine: AsyncEngine, n: int) -> bool:
    return await scalar(engine, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") >= n
