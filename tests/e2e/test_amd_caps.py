"""AMD through the whole product: `dialer run` dials people and answering machines in the sandbox.

People (including the hard greetings: a longer phrase, background noise, late speech) are HUMAN
and counted in the FZ-230 caps ledger; answering machines are MACHINE and not counted; the
dialer's CDR and Asterisk's own CDR show both verdicts. The campaign's routing travels as channel
variables from the campaign's settings: people hear the prompt, machines are hung up on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import run_prefix, scalar, settled, spawn_worker, stop_all, wait_until
from tests.integration.engine.seed import (
    SeedContact,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300)]

# Last three digits A B C of the greeting variant (asterisk/README.md, "Greeting variants").
PEOPLE = {
    "000": "Алло?", "007": "Алло? (slow voice)", "036": "Алло, здравствуйте, слушаю вас",
    "207": "Алло? in background noise", "509": "Алло? after 3 s of silence",
}
MACHINES = {"005": "long voicemail greeting", "015": "operator voicemail", "535": "voicemail in noise"}


async def _at_least(engine: AsyncEngine, sql: str, wanted: int) -> bool:
    return await scalar(engine, sql) >= wanted


def number(prefix: str, seq: int, abc: str) -> str:
    """+7 9PP PSS 9ABC: this run's own numbers; the 4th digit from the end (9) picks the variant."""
    return f"+79{prefix}{seq:02d}9{abc}"


async def test_people_count_in_the_caps_and_machines_do_not(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path,
) -> None:
    prefix = run_prefix()
    kinds = {number(prefix, i, abc): "HUMAN" for i, abc in enumerate(PEOPLE)}
    kinds |= {number(prefix, 50 + i, abc): "MACHINE" for i, abc in enumerate(MACHINES)}
    settings = {
        "machine": "hangup",
        # Campaign routing as the worker sends it (see asterisk/README.md, "Routing after AMD").
        "variables": {"SIM_HOLD": "10", "DIALER_ROUTE": "playback:dialer/prompt-hello",
                      "DIALER_MACHINE": "hangup"},
    }
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=asterisk.ami_url, cps=10, max_channels=10)
        campaign = await seed_campaign(
            conn, company, "amd", trunk_ids=[trunk], rules="file:test.toml",
            rules_toml=rules_toml(day=1, week=1, month=1), max_attempts=1, settings=json.dumps(settings),
            dial_timeout_s=20,
        )
        await seed_contacts(conn, campaign, [SeedContact(phone, f"subscriber-{phone}") for phone in kinds])

    worker = spawn_worker(database_url, tmp_path, "amd", campaign="amd", until_done=False)
    try:
        await wait_until(lambda: _at_least(database, "SELECT count(*) FROM attempts", 1), 60, "the first call")
        await wait_until(lambda: settled(database), 180, "every contact dialled")
        everything = len(kinds)
        await wait_until(lambda: _at_least(database, "SELECT count(*) FROM cdr", everything), 60, "the CDRs")
        await wait_until(lambda: _at_least(database, "SELECT count(*) FROM asterisk_cdr", everything), 60,
                         "Asterisk's CDRs")
    finally:
        codes = await stop_all([worker])
    assert codes == [0], worker.log()[-4000:]

    async with database.connect() as conn:
        attempts = {r.phone: r for r in (await conn.execute(text(
            """SELECT c.phone, a.id, a.outcome, a.amd_status, a.amd_cause, c.state
                 FROM attempts a JOIN contacts c ON c.id = a.contact_id"""))).all()}
        ledger = set((await conn.execute(text("SELECT phone FROM compliance_ledger WHERE human"))).scalars())
        cdr = {r.phone: r for r in (await conn.execute(text(
            "SELECT phone, outcome, disposition, amd_status, channel_id FROM cdr"))).all()}
        asterisk_cdr = {r.unique_id: r.raw for r in (await conn.execute(text(
            "SELECT unique_id, raw FROM asterisk_cdr"))).all()}

    assert set(attempts) == set(kinds), worker.log()[-4000:]
    for phone, status in kinds.items():
        attempt = attempts[phone]
        assert (attempt.outcome, attempt.amd_status) == ("answered", status), (phone, attempt)
        assert attempt.state == "done", (phone, attempt)
        assert cdr[phone].amd_status == status and cdr[phone].disposition == "ANSWERED", cdr[phone]
    # FZ-230 caps: answered by a person only.
    assert ledger == {p for p, s in kinds.items() if s == "HUMAN"}
    # Asterisk's own CDR (ingested from cdr_manager) carries the verdict and what the dialplan did.
    for phone, status in kinds.items():
        raw = asterisk_cdr[cdr[phone].channel_id]
        assert raw.get("AMDStatus") == status, raw
        assert raw.get("DialerAction") == ("route-playback" if status == "HUMAN" else "machine-hangup"), raw
