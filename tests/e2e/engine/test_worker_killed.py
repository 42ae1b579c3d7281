"""SIGKILL of one worker mid-run: the others finish the campaign, nothing is lost or dialled twice.

The killed worker's calls in flight are settled from Asterisk (its channels, then Asterisk's CDR that
the surviving workers ingest) before their contacts may be dialled again.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
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

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300)]


async def test_sigkill_of_a_worker_loses_nothing_and_dials_nobody_twice(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    contacts = [SeedContact(phone(prefix, i, "06789"[i % 5]), f"p-{i}", "Asia/Omsk") for i in range(500)]
    await seed_fault_run(database, asterisk.ami_url, contacts, max_channels=45, max_attempts=3, sim_hold=3)

    workers = [spawn_worker(database_url, tmp_path, f"w{i}") for i in range(3)]
    victim, survivors = workers[0], workers[1:]
    victim_like = f"%:{victim.pid}:%"
    with killed_at_exit(workers):
        await wait_until(
            lambda: _open_of(database, victim_like, at_least=5), 90, "the victim to have calls in flight"
        )
        victim.signal(signal.SIGKILL)
        assert await victim.wait(30) == -signal.SIGKILL
        async with database.connect() as conn:
            in_flight = (await conn.execute(text(
                "SELECT id FROM attempts WHERE worker_id LIKE :w AND ended_at IS NULL"), {"w": victim_like}
            )).scalars().all()
        logs = await finished(survivors, 240, log_tail=3000)
    assert in_flight, "the victim had no call in flight when killed"

    async with database.connect() as conn:
        status = (await conn.execute(text("SELECT status FROM campaigns"))).scalar_one()
        states = dict((await conn.execute(text("SELECT state, count(*) FROM contacts GROUP BY state"))).all())
        settled = (await conn.execute(text(
            "SELECT outcome, count(*) FROM attempts WHERE id = ANY(:ids) GROUP BY outcome"), {"ids": in_flight}
        )).all()
        reconciled_cdr = (await conn.execute(text(
            "SELECT count(*) FROM cdr WHERE attempt_id = ANY(:ids)"), {"ids": in_flight})).scalar_one()
        answered = (await conn.execute(text(
            "SELECT count(DISTINCT contact_id) FROM attempts WHERE outcome = 'answered'"))).scalar_one()
    assert status == "finished"
    assert states == {"done": 500}, states
    assert answered == 500
    outcomes = dict(settled)
    # The victim's calls were up when it died: Asterisk's CDR gives their real outcome (not `lost`).
    assert outcomes.get("answered", 0) >= len(in_flight) - 1, outcomes
    assert reconciled_cdr == len(in_flight)
    assert await double_dials(database) == []
    assert await unaccounted(database) == []
    assert "reconciled attempt" in logs


async def _open_of(engine: AsyncEngine, worker_like: str, *, at_least: int) -> bool:
    n = await scalar(engine, "SELECT count(*) FROM attempts WHERE worker_id LIKE :w AND ended_at IS NULL",
                     w=worker_like)
    return n >= at_least
