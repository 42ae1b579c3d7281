"""PostgreSQL restarted mid-run, under two workers with calls in flight (a private server: the
shared test server serves the other tests).

The workers' connections die with the server; gates, closes and CDR writes wait and retry until it
is back; the campaign completes, nothing dialled twice, every contact and attempt accounted for.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.db import migrate
from dialer.db.embedded import EmbeddedPostgres
from dialer.db.session import make_engine
from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import double_dials, phone, run_prefix, scalar, spawn_worker, unaccounted, wait_until
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


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path / "pg")
    try:
        yield pg
    finally:
        pg.stop()


async def test_postgresql_restart_mid_run_completes(
    private_pg: EmbeddedPostgres, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    url = (await asyncio.to_thread(private_pg.ensure_running)).url()
    await asyncio.to_thread(migrate.upgrade, url)
    database: AsyncEngine = make_engine(url)
    prefix = run_prefix()
    contacts = [SeedContact(phone(prefix, i, "06789"[i % 5]), f"p-{i}", "Asia/Omsk") for i in range(200)]
    try:
        async with database.begin() as conn:
            company = await seed_company(conn)
            trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=20, max_channels=40)
            await seed_campaign(
                conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
                rules_toml=rules_toml(day=10, week=20, month=40), max_attempts=5, retry_delays=FAST_RETRIES,
                settings=fast_settings(sim_hold=3, dialer_hold=1), dial_timeout_s=10,
            )
            await seed_contacts(conn, 1, contacts)
        workers = [spawn_worker(url, tmp_path, f"w{i}") for i in range(2)]
        try:
            await wait_until(lambda: _open_at_least(database, 10), 90, "calls in flight")
            await database.dispose()
            await asyncio.to_thread(private_pg.stop)  # fast shutdown: every session is cut
            await asyncio.sleep(3)  # calls end, CDRs and closes queue up while the server is away
            await asyncio.to_thread(private_pg.ensure_running)
            codes = [await w.wait(300) for w in workers]
        finally:
            for w in workers:
                w.signal(signal.SIGKILL)
        logs = "\n".join(w.log()[-4000:] for w in workers)
        assert codes == [0, 0], logs
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


async def _open_at_least(engine: AsyncEngine, n: int) -> bool:
    return await scalar(engine, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") >= n
