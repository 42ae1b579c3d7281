"""Pacing holds across two workers: CPS per trunk and max channels per trunk, from the originations.

Two campaigns run at once on two trunks of the sandbox: one bound by its trunk's CPS (short busy
calls, many channels), one bound by its trunk's channels (longer answered calls). Workers split each
limit between them (shares renewed with the heartbeat). Checked with a tolerance from the attempts'
origination instants and durations; the precise figures are in benchmarks/bench_engine.py.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import phone, run_prefix, spawn_worker
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

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300)]

WORKERS = 2
CPS = 10
CHANNELS = 6


def max_in_window(instants: list[datetime], seconds: float) -> int:
    stamps = sorted(t.timestamp() for t in instants)
    return max(bisect.bisect_left(stamps, s + seconds) - i for i, s in enumerate(stamps))


def max_overlap(spans: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(s.timestamp(), 1) for s, _ in spans] + [(e.timestamp(), -1) for _, e in spans])
    level = peak = 0
    for _, delta in events:  # at equal instants the end (-1) sorts first: touching spans do not overlap
        level += delta
        peak = max(peak, level)
    return peak


def test_window_helpers() -> None:
    t = [datetime.fromtimestamp(x) for x in (0.0, 0.1, 0.95, 1.0, 2.5)]
    assert max_in_window(t, 1.0) == 3
    assert max_overlap([(t[0], t[2]), (t[1], t[3]), (t[2], t[4])]) == 2


async def test_cps_and_channels_hold_across_workers(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    async with database.begin() as conn:
        company = await seed_company(conn)
        fast = await seed_trunk(conn, "cps-bound", ami_url=asterisk.ami_url, cps=CPS, max_channels=100)
        narrow = await seed_trunk(conn, "channel-bound", ami_url=asterisk.ami_url, cps=20, max_channels=CHANNELS)
        common = {"rules": "file:test.toml", "rules_toml": rules_toml(day=10, week=20, month=40),
                  "max_attempts": 1, "retry_delays": FAST_RETRIES, "dial_timeout_s": 10}
        busy = await seed_campaign(conn, company, "busy", trunk_ids=[fast], settings=fast_settings(), **common)
        talk = await seed_campaign(conn, company, "talk", trunk_ids=[narrow],
                                   settings=fast_settings(sim_hold=3, dialer_hold=1), **common)
        await seed_contacts(conn, busy, [SeedContact(phone(prefix, i, 1), f"b{i}") for i in range(200)])
        await seed_contacts(conn, talk, [SeedContact(phone(prefix, 1000 + i, 7), f"t{i}") for i in range(40)])
    workers = [spawn_worker(database_url, tmp_path, f"w{i}", campaign=None) for i in range(WORKERS)]
    codes = [await w.wait(240) for w in workers]
    assert codes == [0] * WORKERS, "\n".join(w.log()[-3000:] for w in workers)

    async with database.connect() as conn:
        rows = (await conn.execute(text(
            """SELECT t.name, a.created_at, a.ended_at, a.worker_id
                 FROM attempts a JOIN trunks t ON t.id = a.trunk_id"""))).all()
    busy_starts = [r.created_at for r in rows if r.name == "cps-bound"]
    talk_spans = [(r.created_at, r.ended_at) for r in rows if r.name == "channel-bound"]
    assert len(busy_starts) == 200 and len(talk_spans) == 40
    assert len({r.worker_id for r in rows}) == WORKERS  # both workers dialled: the limits were shared
    # CPS: each worker's bucket gives at most rate*W + 1 slots in any window of W seconds.
    for seconds in (1.0, 5.0):
        assert max_in_window(busy_starts, seconds) <= CPS * seconds + 2 * WORKERS, seconds
    # Channels: a channel is held from the decision to dial until the call's end is known.
    assert max_overlap(talk_spans) <= CHANNELS
