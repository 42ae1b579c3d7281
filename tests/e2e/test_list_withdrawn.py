"""`dialer lists withdraw` while `dialer run` dials the list: no call of the list starts afterwards
(contacts in a call then are excluded when their retry comes up, through the worker's reloaded
campaign), and the campaign's other list goes on."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import phone, run_prefix, scalar, spawn_worker, stop_all, wait_until
from tests.integration.control.cli import dialer
from tests.integration.engine.seed import (
    FAST_RETRIES,
    fast_settings,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_trunk,
)

WITHDRAWN = "SELECT count(*) FROM contacts WHERE call_list_id = 1 AND state = 'excluded'"

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(240)]

# [pstn-sim] by the last digit: the first list rings unanswered for the dial timeout (5 s), so that some
# of its calls are up when it is withdrawn; the second is busy at once. Both are retried 3 s later.
RINGS, BUSY = 2, 1


async def test_a_withdrawn_list_is_dialled_no_more_while_the_other_goes_on(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    prefix = run_prefix()
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=10, max_channels=10)
        campaign = await seed_campaign(conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
                                       rules_toml=rules_toml(day=5), max_attempts=30, retry_delays=FAST_RETRIES,
                                       settings=fast_settings(), dial_timeout_s=5)
        for list_number, size, digit in ((1, 8, RINGS), (2, 4, BUSY)):
            call_list = (await conn.execute(text(
                "INSERT INTO call_lists (campaign_id, filename, sha256, total, imported) "
                "VALUES (:c, :f, repeat('0', 64), :n, :n) RETURNING id"),
                {"c": campaign, "f": f"list-{list_number}.csv", "n": size})).scalar_one()
            await conn.execute(text(
                """INSERT INTO contacts (campaign_id, call_list_id, phone, subscriber_key, timezone, tz_source)
                   SELECT :c, :l, p, p, 'Europe/Moscow', 'explicit' FROM unnest(CAST(:phones AS text[])) p"""),
                {"c": campaign, "l": call_list,
                 "phones": [phone(prefix, 100 * list_number + i, digit) for i in range(size)]})

    def attempts_of(call_list: int, since: datetime | None = None) -> Awaitable[int]:
        return scalar(database, "SELECT count(*) FROM attempts a JOIN contacts c ON c.id = a.contact_id "
                                "WHERE c.call_list_id = :list AND a.created_at > :since",
                      list=call_list, since=since or datetime.min.replace(tzinfo=UTC))

    worker = spawn_worker(database_url, tmp_path, "w0", until_done=False)
    try:
        await wait_until(lambda: _at_least(attempts_of(1), 8), 90, "the first list ringing")
        withdrawn = dialer(database_url, "lists", "withdraw", "1", "--campaign", "e2e", "--json")
        assert withdrawn.returncode == 0, withdrawn.stderr
        assert json.loads(withdrawn.stdout)["in_call"] > 0, withdrawn.stdout
        async with database.connect() as conn:  # after the withdrawal's commit: calls admitted before it may start
            at = (await conn.execute(text("SELECT now()"))).scalar_one()
        # Once the calls up then have ended and come up for their retry, and the other list went on.
        await wait_until(lambda: _at_least(scalar(database, WITHDRAWN), 8), 60, "the first list excluded")
        await wait_until(lambda: _at_least(attempts_of(2, at), 12), 60, "the second list going on")
    finally:
        codes = await stop_all([worker])
    assert codes == [0], worker.log()[-3000:]
    assert await attempts_of(1, at) == 0
    async with database.connect() as conn:
        ends = (await conn.execute(text(
            "SELECT state, last_outcome, count(*) FROM contacts WHERE call_list_id = 1 GROUP BY 1, 2"))).all()
        reasons = (await conn.execute(text(
            """SELECT DISTINCT d.reasons -> 0 ->> 'code' FROM decision_log d JOIN contacts c ON c.id = d.contact_id
                WHERE c.call_list_id = 1"""))).scalars().all()
    # Contacts in a call at the withdrawal were excluded by the gate at their retry, the rest at once.
    assert [tuple(row) for row in ends] == [("excluded", "withdrawn", 8)]
    assert set(reasons) <= {"list-withdrawn"}


async def _at_least(count: Awaitable[int], wanted: int) -> bool:
    return await count >= wanted
