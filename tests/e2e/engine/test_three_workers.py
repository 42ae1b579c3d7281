"""Three `dialer run` processes, 2,000 contacts, subscribers with several numbers that all answer.

Caps hold across workers and numbers (answered by a human per subscriber per local day, week,
month), nobody is dialled twice, and every contact ends answered or held back with a logged reason.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
    ZONES_BY_OFFSET,
    cap_violations,
    double_dials,
    human_answers,
    phone,
    run_prefix,
    scalar,
    settled,
    spawn_worker,
    stop_all,
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

CAPS = {"day": 2, "week": 4, "month": 16}
HUMAN_DIGITS = "06789"


def _contacts(total: int, prefix: str, rng: random.Random) -> list[SeedContact]:
    contacts: list[SeedContact] = []
    subscriber = 0
    zones = list(ZONES_BY_OFFSET.values())
    while len(contacts) < total:
        numbers = min(rng.choice((1, 2, 3, 4, 5)), total - len(contacts))
        zone = rng.choice(zones)
        for _ in range(numbers):
            seq = len(contacts)
            contacts.append(SeedContact(phone(prefix, seq, HUMAN_DIGITS[seq % 5]), f"person-{subscriber}", zone))
        subscriber += 1
    return contacts


async def test_three_workers_keep_caps_and_never_double_dial(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    rng = random.Random(7)
    contacts = _contacts(2000, run_prefix(), rng)
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=30, max_channels=45)
        await seed_campaign(
            conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml", rules_toml=rules_toml(**CAPS),
            max_attempts=2, retry_delays=FAST_RETRIES, settings=fast_settings(sim_hold=1, dialer_hold=1),
            dial_timeout_s=10,
        )
        await seed_contacts(conn, 1, contacts)

    workers = [spawn_worker(database_url, tmp_path, f"w{i}", until_done=False) for i in range(3)]
    try:
        await wait_until(lambda: scalar(database, "SELECT count(*) FROM attempts"), 60, "the first call")
        await wait_until(lambda: settled(database), 300, "every contact dialled or held back")
    finally:
        codes = await stop_all(workers)
    logs = "\n".join(w.log()[-3000:] for w in workers)
    assert codes == [0, 0, 0], logs

    assert cap_violations(await human_answers(database), **CAPS) == []
    assert await double_dials(database) == []
    assert await unaccounted(database) == []
    async with database.connect() as conn:
        states = dict((await conn.execute(text("SELECT state, count(*) FROM contacts GROUP BY state"))).all())
        held = (await conn.execute(text(
            """SELECT count(*) FROM contacts c WHERE c.state = 'ready'
                 AND EXISTS (SELECT 1 FROM decision_log d WHERE d.contact_id = c.id
                              AND d.reasons -> 0 ->> 'code' LIKE 'cap-%')"""))).scalar_one()
        per_worker = (await conn.execute(text(
            "SELECT worker_id, count(*) FROM attempts GROUP BY worker_id"))).all()
        ledger = (await conn.execute(text("SELECT count(*) FROM compliance_ledger"))).scalar_one()
        cdr = (await conn.execute(text("SELECT count(*) FROM cdr"))).scalar_one()
        attempts = (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one()
    # every contact: answered (done) or held back by the caps until a later local period
    assert states.get("done", 0) + held == len(contacts), states
    assert held > 0 and states.get("done", 0) > 0
    assert len(per_worker) == 3 and all(n > 0 for _, n in per_worker), per_worker
    assert ledger == len(await human_answers(database))
    assert cdr == attempts
