"""A campaign's answered-leg options, set with the real CLI, reach the sandbox's dialplan through `dialer run`.

Campaign `msg` (`--route playback:... --machine message --machine-message dialer/prompt-message`): the
person hears the route's prompt (DialerAction route-playback), the answering machine gets the message
(machine-message). Campaign `noamd` (`--no-amd`): AMD never runs, so no verdict is stored (amd_status
null) and person and machine alike take the route.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.asterisk_fixture import AsteriskSandbox
from tests.e2e.engine.harness import phone, run_prefix, scalar, settled, spawn_worker, stop_all, wait_until
from tests.integration.control.cli import dialer
from tests.integration.engine.seed import SeedContact, rules_toml, seed_contacts

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300)]

PROMPT = "dialer/prompt-hello"
MESSAGE = "dialer/prompt-message"  # generated into the sandbox with the greetings
_CDRS_OF_ATTEMPTS = "SELECT count(*) FROM asterisk_cdr WHERE unique_id IN (SELECT channel_id FROM attempts)"


def cli(database_url: str, *args: str) -> None:
    done = dialer(database_url, *args)
    assert done.returncode == 0, (args, done.stderr)


async def _at_least(engine: AsyncEngine, sql: str, wanted: int) -> bool:
    return await scalar(engine, sql) >= wanted


async def test_cli_answered_options_drive_the_dialplan(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, tmp_path: Path,
) -> None:
    rules = tmp_path / "test.toml"
    rules.write_text(rules_toml(day=5, week=5, month=5), encoding="utf-8")
    cli(database_url, "trunks", "add", "sim", "--ami", asterisk.ami_url, "--dial", "Local/{number}@pstn-sim",
        "--cps", "10", "--max-channels", "10")
    common = ["--trunk", "sim", "--rules", str(rules), "--max-attempts", "1", "--dial-timeout", "20"]
    cli(database_url, "campaigns", "create", "msg", *common, "--route", f"playback:{PROMPT}",
        "--machine", "message", "--machine-message", MESSAGE)
    cli(database_url, "campaigns", "create", "noamd", *common, "--route", f"playback:{PROMPT}", "--no-amd",
        "--machine", "hangup")
    # The simulated subscribers stay on the line long enough to hear the prompt or the message
    # (SIM_HOLD: a sandbox variable, sent as the campaign's raw channel variables).
    async with database.begin() as conn:
        await conn.execute(text(
            """UPDATE campaigns SET settings = settings || '{"variables": {"SIM_HOLD": "10"}}'"""))
        ids: dict[str, int] = {r.name: r.id for r in await conn.execute(text("SELECT name, id FROM campaigns"))}
        prefix = run_prefix()
        # last digit 0: a person; 5: an answering machine (asterisk/README.md)
        numbers = {
            ("msg", "HUMAN"): phone(prefix, 1, 0), ("msg", "MACHINE"): phone(prefix, 2, 5),
            ("noamd", "HUMAN"): phone(prefix, 3, 0), ("noamd", "MACHINE"): phone(prefix, 4, 5),
        }
        for (campaign, _), number in numbers.items():
            await seed_contacts(conn, ids[campaign], [SeedContact(number, f"subscriber-{number}")])
    for campaign in ("msg", "noamd"):
        cli(database_url, "campaigns", "start", campaign)

    worker = spawn_worker(database_url, tmp_path, "answered", campaign=None, until_done=False)
    try:
        await wait_until(lambda: settled(database), 180, "every contact dialled")
        # the machine's message ends its call last: wait for Asterisk's CDR of every attempt
        await wait_until(lambda: _at_least(database, _CDRS_OF_ATTEMPTS, len(numbers)), 90, "Asterisk's CDRs")
    finally:
        codes = await stop_all([worker])
    assert codes == [0], worker.log()[-4000:]

    async with database.connect() as conn:
        attempts = {r.phone: r for r in (await conn.execute(text(
            """SELECT c.phone, a.outcome, a.amd_status, a.channel_id
                 FROM attempts a JOIN contacts c ON c.id = a.contact_id"""))).all()}
        raw = {r.unique_id: r.raw for r in (await conn.execute(text(
            "SELECT unique_id, raw FROM asterisk_cdr"))).all()}
    assert set(attempts) == set(numbers.values()), worker.log()[-4000:]

    def seen(campaign: str, kind: str) -> tuple[str, str | None, str | None, str | None]:
        attempt = attempts[numbers[campaign, kind]]
        cdr = raw[attempt.channel_id]
        return attempt.outcome, attempt.amd_status, cdr.get("AMDStatus") or None, cdr.get("DialerAction")

    assert seen("msg", "HUMAN") == ("answered", "HUMAN", "HUMAN", "route-playback")
    assert seen("msg", "MACHINE") == ("answered", "MACHINE", "MACHINE", "machine-message")
    # AMD skipped: no verdict anywhere, and the machine takes the person's route too
    assert seen("noamd", "HUMAN") == ("answered", None, None, "route-playback")
    assert seen("noamd", "MACHINE") == ("answered", None, None, "route-playback")
