"""Withdrawing a call list from its campaign and restoring it, on real PostgreSQL: the waiting
contacts, the queued ones, the one in a call (excluded by the gate when it comes up again), the
gate's stale view after a restore, and the CLI and API contracts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ami.calls import CallResult
from ami.outcomes import Outcome
from compliance import RuleSet, Window
from dialer.api import create_app
from dialer.call_lists import list_call_lists, restore_call_list, withdraw_call_list
from dialer.campaigns import load_campaign_config
from dialer.db.session import session_scope
from dialer.errors import ConflictError, NotFoundError
from dialer.leasing import LeasedContact, driver_connection, lease_contacts
from dialer.reservations import (
    Admitted,
    AttemptRef,
    GateResult,
    HeldBack,
    LeaseLost,
    admit_attempt,
    close_attempt,
)
from dialer.retries import RetryPolicy
from tests.integration.control.cli import dialer
from tests.integration.engine.seed import seed_campaign, seed_company, seed_trunk

ALWAYS = Window(0, 86400)
RULES = RuleSet("always", ALWAYS, ALWAYS, ALWAYS)
BUSY_AGAIN = RetryPolicy.build("busy=1s", max_attempts=5)


async def _seed(database: AsyncEngine) -> tuple[int, int, int, int]:
    """Campaign `c` with list 1 (five numbers) and list 2 (one); returns (company, trunk, list 1, list 2)."""
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn)
        campaign = await seed_campaign(conn, company, "c", trunk_ids=[trunk])
        lists = [(await conn.execute(text(
            "INSERT INTO call_lists (campaign_id, filename, sha256, total, imported) "
            "VALUES (:c, :f, repeat('0', 64), :n, :n) RETURNING id"), {"c": campaign, "f": name, "n": n})).scalar_one()
            for name, n in (("first.csv", 5), ("second.csv", 1))]
        await conn.execute(text(
            """INSERT INTO contacts (campaign_id, call_list_id, phone, subscriber_key, timezone, tz_source,
                                     next_attempt_at)
               SELECT :c, CASE WHEN g <= 5 THEN :l1 ELSE :l2 END, '+7913000010' || g, 'k' || g,
                      'Europe/Moscow', 'explicit', now() - interval '1 minute' + g * interval '1 ms'
                 FROM generate_series(1, 6) g"""), {"c": campaign, "l1": lists[0], "l2": lists[1]})
        # number 4 waits for a retry tomorrow, number 5 is done
        await conn.execute(text("UPDATE contacts SET next_attempt_at = now() + interval '1 day', attempts = 1 "
                                "WHERE phone = '+79130000104'"))
        await conn.execute(text("UPDATE contacts SET state = 'done', last_outcome = 'answered' "
                                "WHERE phone = '+79130000105'"))
    return company, trunk, lists[0], lists[1]


async def _gate(database: AsyncEngine, contact: LeasedContact, company: int, trunk: int, *, withdrawn: bool
                ) -> GateResult:
    async with database.connect() as sa_conn:
        await sa_conn.execution_options(isolation_level="AUTOCOMMIT")
        conn = await driver_connection(sa_conn)
        gate = await admit_attempt(conn, contact=contact, company_id=company, rules=RULES, trunk_id=trunk,
                                   worker_id="w", lease_seconds=60, now=lambda: datetime.now(UTC),
                                   withdrawn=withdrawn)
    return gate


async def _states(database: AsyncEngine) -> dict[str, tuple[str, str | None]]:
    async with database.connect() as conn:
        rows = (await conn.execute(text("SELECT phone, state, last_outcome FROM contacts"))).all()
    return {row.phone[-1:]: (row.state, row.last_outcome) for row in rows}


async def test_withdraw_excludes_waiting_contacts_and_the_gate_the_one_in_a_call(database: AsyncEngine) -> None:
    company, trunk, first, second = await _seed(database)
    async with database.begin() as conn:
        leased = await lease_contacts(conn, campaign_id=1, worker_id="w", limit=2, lease_seconds=60)
    assert [c.phone[-1:] for c in leased] == ["1", "2"] and leased[0].call_list_id == first
    in_call = await _gate(database, leased[0], company, trunk, withdrawn=False)  # number 1 rings; 2 is queued
    assert isinstance(in_call, Admitted)

    async with session_scope(database) as session:
        done = await withdraw_call_list(session, "c", first)
    assert (done.excluded, done.in_call) == (3, 1)  # 2 (queued), 3 (due), 4 (retry tomorrow)
    assert await _states(database) == {
        "1": ("dialing", None), "2": ("excluded", "withdrawn"), "3": ("excluded", "withdrawn"),
        "4": ("excluded", "withdrawn"), "5": ("done", "answered"), "6": ("ready", None),
    }
    # The queued copy of number 2 in the worker is not dialled: its lease is gone.
    assert isinstance(await _gate(database, leased[1], company, trunk, withdrawn=False), LeaseLost)
    async with session_scope(database) as session:
        config = await load_campaign_config(session, 1)
        with pytest.raises(ConflictError, match="withdrawn already"):
            await withdraw_call_list(session, "c", first)
    assert config.withdrawn_lists == frozenset({first})

    # Number 1's call ends busy: it is due again in a second, and the gate excludes it then.
    now = datetime.now(UTC)
    busy = CallResult(outcome=Outcome.BUSY, hangup_cause=17, hangup_cause_text=None, channel_id=in_call.channel_id,
                      linked_id=None, started_at=now, answered_at=None, ended_at=now, ring_seconds=1.0, billsec=0,
                      amd_status=None, amd_cause=None, originate_reason=5)
    ref = AttemptRef(in_call.attempt_id, leased[0].id, 1, company, leased[0].subscriber_key, leased[0].phone, 1)
    async with database.begin() as conn:
        assert await close_attempt(conn, ref=ref, result=busy, policy=BUSY_AGAIN, now=now) is not None
        await conn.execute(text(
            "UPDATE contacts SET next_attempt_at = now() - interval '1 hour' WHERE phone = '+79130000101'"))
        [again] = await lease_contacts(conn, campaign_id=1, worker_id="w", limit=1, lease_seconds=60)
    held = await _gate(database, again, company, trunk, withdrawn=again.call_list_id in config.withdrawn_lists)
    assert isinstance(held, HeldBack) and held.codes == ("list-withdrawn",) and held.next_allowed_at is None
    assert (await _states(database))["1"] == ("excluded", "withdrawn")

    async with session_scope(database) as session:
        restored = await restore_call_list(session, "c", first)
        lists = await list_call_lists(session, "c")
    assert restored.restored == 4
    assert [(info.id, info.withdrawn_at is None) for info in lists] == [(first, True), (second, True)]
    # Number 5 is done without a person in the caps ledger: completed.
    assert [dict(info.results) for info in lists] == [
        {"reached": 0, "completed": 1, "not_reached": 0, "excluded": 0, "pending": 4},
        {"reached": 0, "completed": 0, "not_reached": 0, "excluded": 0, "pending": 1},
    ]
    states = await _states(database)
    # Each shows its last call's outcome again (number 1's busy call; none yet for the others).
    assert [states[n] for n in "12345"] == [("ready", "busy")] + [("ready", None)] * 3 + [("done", "answered")]
    async with database.connect() as conn:
        retry = (await conn.execute(text(
            "SELECT next_attempt_at FROM contacts WHERE phone = '+79130000104'"))).scalar_one()
    assert retry > datetime.now(UTC) + timedelta(hours=23)  # its retry time as it was

    # A worker that has not reloaded the campaign yet still takes the list for withdrawn: the contact
    # goes back to the queue rather than stay excluded.
    async with database.begin() as conn:
        stale = await lease_contacts(conn, campaign_id=1, worker_id="w", limit=1, lease_seconds=60)
    assert isinstance(await _gate(database, stale[0], company, trunk, withdrawn=True), HeldBack)
    assert (await _states(database))[stale[0].phone[-1:]] == states[stale[0].phone[-1:]]
    async with session_scope(database) as session:
        with pytest.raises(ConflictError, match="is not withdrawn"):
            await restore_call_list(session, "c", first)


@pytest.mark.parametrize("call_list_id", [0, 2, 99, 2**40])
async def test_a_list_of_another_campaign_or_none_is_not_found(database: AsyncEngine, call_list_id: int) -> None:
    await _seed(database)
    async with database.begin() as conn:
        company = (await conn.execute(text("SELECT id FROM companies"))).scalar_one()
        other = await seed_campaign(conn, company, "other")
        await conn.execute(text("UPDATE call_lists SET campaign_id = :o WHERE id = 2"), {"o": other})
    async with session_scope(database) as session:
        with pytest.raises(NotFoundError, match=f"call list {call_list_id} is not a list of campaign 'c'"):
            await withdraw_call_list(session, "c", call_list_id)
        with pytest.raises(NotFoundError, match="campaign 'nope' does not exist"):
            await restore_call_list(session, "nope", 1)


def test_withdraw_and_restore_through_the_cli(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO trunks (name, ami_url, dial_template) VALUES ('sim', 'ami://u:s@h:1', 'L/{number}')")
    assert dialer(database_url, "campaigns", "create", "c", "--trunk", "sim").returncode == 0
    listed = tmp_path / "debtors.csv"
    listed.write_text("phone;additional\n89130000201;A\n89130000202;B\n", encoding="utf-8")
    assert dialer(database_url, "lists", "import", str(listed), "--campaign", "c").returncode == 0

    withdrawn = dialer(database_url, "lists", "withdraw", "1", "--campaign", "c", "--json")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert json.loads(withdrawn.stdout) == {"campaign": "c", "call_list_id": 1, "excluded": 2, "in_call": 0}
    [shown] = json.loads(dialer(database_url, "lists", "list", "--campaign", "c", "--json").stdout)
    assert (shown["id"], shown["filename"], shown["imported"]) == (1, "debtors.csv", 2)
    assert shown["withdrawn_at"] is not None
    assert shown["results"] == {"reached": 0, "completed": 0, "not_reached": 0, "excluded": 2, "pending": 0}
    table = dialer(database_url, "lists", "list", "--campaign", "c")
    assert table.returncode == 0 and "debtors.csv" in table.stdout and "2 excluded" in table.stdout
    why = dialer(database_url, "contacts", "why", "+79130000201", "--campaign", "c")
    assert "its call list was withdrawn" in why.stdout, why.stdout
    again = dialer(database_url, "lists", "withdraw", "1", "--campaign", "c")
    assert again.returncode == 1 and "was withdrawn already" in again.stderr
    missing = dialer(database_url, "lists", "withdraw", "7", "--campaign", "c")
    assert missing.returncode == 1 and "call list 7 is not a list of campaign 'c'" in missing.stderr
    bad = dialer(database_url, "lists", "withdraw", "first", "--campaign", "c")
    assert bad.returncode == 2 and "CALL_LIST_ID" in bad.stderr

    restored = dialer(database_url, "lists", "restore", "1", "--campaign", "c")
    assert restored.returncode == 0 and "2 contacts back in the queue" in restored.stdout, restored.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM contacts WHERE state = 'ready'").fetchone() == (2,)


@pytest.fixture
async def client(database: AsyncEngine, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, reports_dir=tmp_path / "reports")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as http:
        yield http


async def test_withdraw_and_restore_through_the_api(database: AsyncEngine, client: httpx.AsyncClient) -> None:
    _, _, first, _ = await _seed(database)
    withdrawn = await client.post(f"/campaigns/c/lists/{first}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json() == {"campaign": "c", "call_list_id": first, "excluded": 4, "in_call": 0}
    lists = (await client.get("/campaigns/c/lists")).json()
    assert [(entry["id"], entry["withdrawn_at"] is None) for entry in lists] == [(first, False), (first + 1, True)]
    conflict = await client.post(f"/campaigns/c/lists/{first}/withdraw")
    assert conflict.status_code == 409 and "withdrawn already" in conflict.json()["error"]["message"]
    assert (await client.post("/campaigns/c/lists/99/withdraw")).status_code == 404
    assert (await client.post("/campaigns/nope/lists/1/withdraw")).status_code == 404
    assert (await client.post(f"/campaigns/c/lists/{2**40}/restore")).status_code == 422
    restored = await client.post(f"/campaigns/c/lists/{first}/restore")
    assert restored.status_code == 200 and restored.json()["restored"] == 4, restored.text
    assert (await client.post(f"/campaigns/c/lists/{first}/restore")).status_code == 409
