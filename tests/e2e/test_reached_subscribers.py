"""A campaign that completes a subscriber once a person answered (`reached complete`), through two
`dialer run` processes and the sandbox: subscribers with three numbers that all answer get one call,
never two at once, and their other numbers end `done` with `subscriber-reached`."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
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

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(360)]

SUBSCRIBERS = 30
NUMBERS = 3
HUMAN_DIGITS = "06789"


async def test_a_reached_subscriber_gets_one_call_across_workers(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    # A subscriber's numbers are due together, so that workers gate them at the same moment.
    contacts = [SeedContact(phone(prefix, s * NUMBERS + n, HUMAN_DIGITS[(s + n) % 5]), f"person-{s}")
                for s in range(SUBSCRIBERS) for n in range(NUMBERS)]
    settings = json.loads(fast_settings(sim_hold=1, dialer_hold=1)) | {"reached": "complete"}
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=20, max_channels=30)
        # Caps that would allow every number to be called: only the campaign's option stops the others.
        await seed_campaign(
            conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
            rules_toml=rules_toml(day=NUMBERS, week=NUMBERS, month=NUMBERS), max_attempts=2,
            retry_delays=FAST_RETRIES, settings=json.dumps(settings), dial_timeout_s=10,
        )
        await seed_contacts(conn, 1, contacts)

    workers = [spawn_worker(database_url, tmp_path, f"w{i}", until_done=False) for i in range(2)]
    try:
        await wait_until(lambda: scalar(database, "SELECT count(*) FROM attempts"), 60, "the first call")
        await wait_until(lambda: settled(database), 240, "every subscriber reached")
    finally:
        codes = await stop_all(workers)
    assert codes == [0, 0], "\n".join(w.log()[-3000:] for w in workers)
    assert await double_dials(database) == []
    assert await unaccounted(database) == []

    async with database.connect() as conn:
        attempts = (await conn.execute(text(
            """SELECT c.subscriber_key, a.created_at, a.ended_at FROM attempts a
                 JOIN contacts c ON c.id = a.contact_id ORDER BY a.created_at"""))).all()
        contacts_by_subscriber = (await conn.execute(text(
            """SELECT subscriber_key, array_agg(state || '/' || coalesce(last_outcome, '') ORDER BY state,
                      last_outcome) AS ends
                 FROM contacts GROUP BY subscriber_key"""))).all()
        reasons = (await conn.execute(text(
            "SELECT DISTINCT r ->> 'code' FROM decision_log, jsonb_array_elements(reasons) r"))).scalars().all()
    answered = defaultdict(list)
    for answer in await human_answers(database):
        answered[answer.subscriber].append(answer.at)
    # Every subscriber was reached once, and nobody was called again after or during that call.
    assert sorted(answered) == sorted(f"person-{s}" for s in range(SUBSCRIBERS))
    assert all(len(times) == 1 for times in answered.values()), answered
    calls = defaultdict(list)
    for row in attempts:
        calls[row.subscriber_key].append((row.created_at, row.ended_at))
    for key, spans in calls.items():
        for (_, ended), (started, _) in itertools.pairwise(spans):
            assert started >= ended, f"{key}: two numbers in a call at once: {spans}"
        assert spans[-1][0] <= answered[key][0], f"{key}: called after a person answered: {spans}"
    ends = {row.subscriber_key: row.ends for row in contacts_by_subscriber}
    assert all(e == ["done/answered"] + ["done/subscriber-reached"] * (NUMBERS - 1) for e in ends.values()), ends
    assert "subscriber-reached" in reasons
