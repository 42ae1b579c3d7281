"""SIGKILL of a `dialer run` worker in the middle of a CDR batch loses no CDR row Asterisk reported.

The batch is held mid-write deterministically: the test locks table `cdr`, so the worker's
COPY-then-upsert waits on the lock (seen in pg_stat_activity) while more calls end and queue in its
memory; then the worker is killed. A surviving peer (here the test's own AsteriskCdrIngester, as
any other worker would be) keeps ingesting Asterisk's Cdr events; `dialer cdr reconcile` then
rebuilds every row the dead worker never committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ami import AmiClient
from cdr.asterisk_cdr import AsteriskCdrIngester, message_fields
from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import phone, run_prefix, scalar, wait_until
from tests.integration.cdr.prometheus_server import utc_now
from tests.integration.engine.seed import (
    SeedContact,
    fast_settings,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(600)]

DIALER = Path(sys.executable).parent / "dialer"
REPO = Path(__file__).resolve().parents[3]


def spawn_worker(database_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    config = tmp / "dialer.toml"
    config.write_text('[dialer]\nlog_level = "INFO"\n[dialer.worker]\nlease_seconds = 10\nready_queue = 16\n',
                      encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": database_url, "DIALER_CONFIG": str(config),
           "DIALER_HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1"}
    with (tmp / "worker.log").open("wb") as log:
        return subprocess.Popen([str(DIALER), "run", "--campaign", "kill", "--metrics-port", "0"],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def test_sigkill_mid_batch_loses_nothing_asterisk_reported(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    async with database.begin() as conn:
        company = await seed_company(conn, "kill-co")
        trunk = await seed_trunk(conn, "kill-sbx", ami_url=asterisk.ami_url, cps=5, max_channels=40)
        # Calls stay up 6 s, so some are in flight when the worker dies; the window is open all day.
        campaign = await seed_campaign(conn, company, "kill", trunk_ids=[trunk], max_attempts=1,
                                       rules="file:test.toml", rules_toml=rules_toml(day=5, week=10, month=20),
                                       settings=fast_settings(sim_hold=6, dialer_hold=6), dial_timeout_s=4)
        await seed_contacts(conn, campaign, [
            SeedContact(phone(prefix, i, "0123456789"[i % 10]), f"k-{i}", "Europe/Moscow") for i in range(120)
        ])

    seen: set[str] = set()
    seen_changed = asyncio.Event()

    async def watch(events: AsyncIterator[Mapping[str, str]]) -> AsyncIterator[Mapping[str, str]]:
        async for event in events:
            seen.add(event.get("UniqueID", ""))
            seen_changed.set()
            yield event

    ingester = AsteriskCdrIngester(database, server="peer", server_tz="UTC", flush_interval=0.2)
    peer = AmiClient(asterisk.host, asterisk.port, asterisk.username, asterisk.secret, name="cdr-kill-peer")
    worker = spawn_worker(database_url, tmp_path)
    locker = await database.connect()
    try:
        async with peer, peer.events({"Cdr"}) as stream, asyncio.TaskGroup() as tg:
            tg.create_task(ingester.run())
            consumer = tg.create_task(ingester.consume(watch(message_fields(stream))))

            await wait_until(lambda: scalar(database, "SELECT count(*) FROM cdr"), 120, "the first CDR batch")
            written_before = await scalar(database, "SELECT count(*) FROM cdr")

            # Hold the next batch inside its transaction: the upsert waits for our lock.
            await locker.execute(text("LOCK TABLE cdr IN SHARE ROW EXCLUSIVE MODE"))

            async def upsert_waiting() -> bool:
                return bool(await scalar(
                    database,
                    """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                         AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO cdr %'""",
                ))

            await wait_until(upsert_waiting, 60, "the worker's CDR batch blocked mid-write")
            worker.send_signal(signal.SIGKILL)
            killed_at = utc_now()
            assert await asyncio.to_thread(worker.wait, 30) == -signal.SIGKILL
            await locker.rollback()

            # Asterisk finishes the calls the dead worker left: wait for their Cdr events.
            attempt_ids = {r[0] for r in await rows(database, "SELECT channel_id FROM attempts")}
            live = {c.uniqueid for c in await peer.find_channels()} & attempt_ids
            async with asyncio.timeout(120):
                while not live <= seen:
                    seen_changed.clear()
                    await seen_changed.wait()
            consumer.cancel()
            await ingester.aclose()
    finally:
        if worker.poll() is None:
            worker.kill()
        await locker.close()

    reported = {r[0] for r in await rows(
        database, "SELECT unique_id FROM asterisk_cdr WHERE unique_id IN (SELECT channel_id FROM attempts)")}
    before = {r[0] for r in await rows(database, "SELECT channel_id FROM cdr")}
    assert len(before) >= written_before
    lost = reported - before
    assert lost, "the kill lost nothing: the test did not kill mid-batch"

    env = {**os.environ, "DATABASE_URL": database_url, "DIALER_LOG_LEVEL": "WARNING"}
    since = (killed_at - timedelta(hours=1)).isoformat()
    # --grace 0: the worker is dead, no CDR of its calls is still on its way.
    args = [str(DIALER), "cdr", "reconcile", "--since", since, "--json", "--grace", "0"]
    result = await asyncio.to_thread(subprocess.run, args, env=env, capture_output=True, text=True, timeout=120,
                                     check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rebuilt = {m["channel_id"] for m in report["items"] if m["kind"] == "missing_in_dialer" and m["repaired"]}
    assert lost <= rebuilt

    after = dict(await rows(database, "SELECT channel_id, source FROM cdr"))
    assert reported <= set(after), f"still missing after reconcile: {reported - set(after)}"
    assert {after[c] for c in lost} == {"asterisk"}
    assert await scalar(database, "SELECT count(*) - count(DISTINCT channel_id) FROM cdr") == 0
    # Rebuilt rows carry what the attempt stored before dialing (contact, campaign, phone).
    incomplete = await rows(database, """
        SELECT c.channel_id FROM cdr c JOIN attempts a ON a.channel_id = c.channel_id
         JOIN contacts ct ON ct.id = a.contact_id
         WHERE c.source = 'asterisk' AND (c.campaign_id IS DISTINCT FROM a.campaign_id
               OR c.phone <> ct.phone OR c.contact_id IS DISTINCT FROM a.contact_id)""")
    assert incomplete == []
    summary = {
        "written_before_lock": written_before, "reported_by_asterisk": len(reported),
        "dialer_rows_at_kill": len(before), "lost_then_rebuilt": len(lost), "live_at_kill": len(live),
        "reconcile": report["mismatches"],
    }
    (tmp_path / "report.json").write_text(json.dumps(summary, indent=2))
