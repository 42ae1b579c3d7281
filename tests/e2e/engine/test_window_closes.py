"""A calling window that closes during the run: no call starts after it, in each subscriber's local time.

Three groups of subscribers, one hour of UTC offset apart: for the middle zone the window closes
about 30 s into the run; the zone an hour behind stays inside it; the zone an hour ahead is already
past it and is held back from the start. Checked from the attempts, the dialer's CDR and Asterisk's CDR.
The rules have no end margin, as the presets: the calls' starts in the CDRs are inside the window all
the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import (
    ZONES_BY_OFFSET,
    double_dials,
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

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300)]

CLOSES_IN = timedelta(seconds=35)
# No end margin in the rules: the workers' dial lead (dial_lead_seconds) alone keeps each call's start,
# a moment after the decision and on Asterisk's clock, inside the window.
END_MARGIN_S = 0


def _zones(now: datetime) -> tuple[str, str, str]:
    """(an hour behind, closing, an hour ahead), with the closing zone's local hour in 02-21."""
    for offset in range(3, 12):
        if 2 <= now.astimezone(ZoneInfo(ZONES_BY_OFFSET[offset])).hour <= 21:
            return ZONES_BY_OFFSET[offset - 1], ZONES_BY_OFFSET[offset], ZONES_BY_OFFSET[offset + 1]
    raise AssertionError("no Russian zone with a local hour between 02 and 21")  # impossible: 9 offsets


def _clock(t: datetime) -> str:
    return t.strftime("%H:%M:%S")


async def test_no_call_starts_after_the_window_closes(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    behind, closing, ahead = _zones(now)
    close_local = now.astimezone(ZoneInfo(closing)) + CLOSES_IN
    window = f"{_clock(close_local - timedelta(hours=2))}-{_clock(close_local)}"
    closes_at = close_local.astimezone(UTC)
    prefix = run_prefix()
    contacts: list[SeedContact] = []
    for group, zone, count in (("c", closing, 250), ("b", behind, 40), ("a", ahead, 40)):
        for i in range(count):
            seq = len(contacts)
            digit = "1" if i % 4 == 0 else "6789"[i % 4]  # a quarter busy: retried until the window closes
            contacts.append(SeedContact(phone(prefix, seq, digit), f"{group}-{i}", zone))
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=5, max_channels=20)
        await seed_campaign(
            conn, company, "e2e", trunk_ids=[trunk], rules="file:test.toml",
            rules_toml=rules_toml(window=window, day=10, week=20, month=40, end_margin_s=END_MARGIN_S),
            max_attempts=3, retry_delays=FAST_RETRIES, settings=fast_settings(sim_hold=1, dialer_hold=1),
            dial_timeout_s=10,
        )
        await seed_contacts(conn, 1, contacts)

    workers = [spawn_worker(database_url, tmp_path, f"w{i}", until_done=False) for i in range(2)]
    try:
        await wait_until(lambda: scalar(database, "SELECT count(*) FROM attempts"), 60, "the first call")
        await wait_until(lambda: _past(closes_at), 120, "the window to close")
        await wait_until(lambda: settled(database), 180, "every contact dialled or held back")
    finally:
        codes = await stop_all(workers)
    assert codes == [0, 0], "\n".join(w.log()[-3000:] for w in workers)

    async with database.connect() as conn:
        attempts = (await conn.execute(text(
            """SELECT c.timezone, a.created_at, a.channel_id, cd.created_at AS cdr_created, ac.start_at AS ast_start
                 FROM attempts a JOIN contacts c ON c.id = a.contact_id
                 LEFT JOIN cdr cd ON cd.attempt_id = a.id
                 LEFT JOIN asterisk_cdr ac ON ac.unique_id = a.channel_id"""))).all()
        held = dict((await conn.execute(text(
            """SELECT c.timezone, count(DISTINCT c.id) FROM contacts c JOIN decision_log d ON d.contact_id = c.id
                WHERE c.state = 'ready' AND d.reasons -> 0 ->> 'code' = 'outside-window'
                  AND d.next_allowed_at > now() GROUP BY c.timezone"""))).all())
    last_start = closes_at - timedelta(seconds=END_MARGIN_S)
    closing_attempts = [a for a in attempts if a.timezone == closing]
    assert closing_attempts, "nothing was dialled in the closing zone"
    assert not [a for a in attempts if a.timezone == ahead], "a zone past its window was dialled"
    late = [a for a in closing_attempts if a.created_at >= last_start]
    assert late == [], f"attempts after the last start {last_start}: {late[:5]}"
    assert [a for a in closing_attempts if a.cdr_created is not None and a.cdr_created >= last_start] == []
    # Asterisk's CDR has whole seconds: a call started before the end may show the end's second at most.
    assert [a for a in closing_attempts if a.ast_start is not None and a.ast_start > closes_at] == []
    assert sum(1 for a in closing_attempts if a.ast_start is not None) > len(closing_attempts) // 2
    # the window really closed on calls still to be made, and the other zones behaved as they should
    assert held.get(closing, 0) > 0, held
    assert held.get(ahead) == 40, held
    assert held.get(behind, 0) == 0, held
    assert await double_dials(database) == []
    assert await unaccounted(database) == []


async def _past(instant: datetime) -> bool:
    return datetime.now(UTC) > instant
