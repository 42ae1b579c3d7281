"""The compliance gate against real PostgreSQL: caps hold under concurrency, hold-backs, the ledger."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ami.calls import CallResult
from ami.outcomes import Outcome
from compliance import Cap, CapPeriod, RuleSet, Window, load_rules
from dialer.db.url import libpq_url
from dialer.dnc import add_dnc_numbers, remove_dnc_numbers
from dialer.leasing import LeasedContact, driver_connection, lease_contacts
from dialer.reservations import (
    Admitted,
    AttemptRef,
    CampaignNotDialable,
    ClosedAttempt,
    GateResult,
    HeldBack,
    LeaseLost,
    admit_attempt,
    close_attempt,
    undo_attempt,
)
from dialer.retries import RetryPolicy
from tests.integration.engine.seed import SeedContact, seed_campaign, seed_company, seed_contacts, seed_trunk

ALWAYS = Window(0, 86400)
CAPPED = RuleSet("always-2", ALWAYS, ALWAYS, ALWAYS, caps=(Cap(CapPeriod.DAY, 2), Cap(CapPeriod.WEEK, 3)))


def _now() -> datetime:
    return datetime.now(UTC)


def _result(
    channel: str, outcome: Outcome, *, billsec: int = 0, amd: str | None = None, complete: bool = True
) -> CallResult:
    now = _now()
    answered = outcome is Outcome.ANSWERED
    return CallResult(
        outcome=outcome, hangup_cause=16, hangup_cause_text=None, channel_id=channel, linked_id=channel,
        started_at=now, answered_at=now if answered else None, ended_at=now if complete else None,
        ring_seconds=1.0, billsec=billsec, amd_status=amd, amd_cause=None, originate_reason=4 if answered else 5,
        complete=complete,
    )


async def _setup(
    database: AsyncEngine, phones: list[str], key: str = "person-1"
) -> tuple[int, int, int, list[LeasedContact]]:
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn)
        campaign = await seed_campaign(conn, company, trunk_ids=[trunk])
        await seed_contacts(conn, campaign, [SeedContact(p, key, "Asia/Novosibirsk") for p in phones])
        leased = await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=100, lease_seconds=60)
    return company, campaign, trunk, leased


async def _admit(database: AsyncEngine, contact: LeasedContact, company: int, trunk: int, rules: RuleSet,
                 worker: str = "w", now: Callable[[], datetime] = _now, complete_reached: bool = False
                 ) -> GateResult:
    # The gate runs its own transaction on an autocommit psycopg connection, as on the worker's pool.
    async with database.connect() as sa_conn:
        await sa_conn.execution_options(isolation_level="AUTOCOMMIT")
        conn = await driver_connection(sa_conn)
        return await admit_attempt(conn, contact=contact, company_id=company, rules=rules, trunk_id=trunk,
                                   worker_id=worker, lease_seconds=60, now=now, complete_reached=complete_reached)


def _ref(admitted: Admitted, contact: LeasedContact, company: int) -> AttemptRef:
    return AttemptRef(admitted.attempt_id, contact.id, contact.campaign_id, company, contact.subscriber_key,
                      contact.phone, admitted.attempt_number)


async def _close(database: AsyncEngine, ref: AttemptRef, result: CallResult, policy: RetryPolicy,
                 complete_reached: bool = False) -> ClosedAttempt | None:
    async with database.begin() as conn:
        return await close_attempt(conn, ref=ref, result=result, policy=policy, now=_now(),
                                   complete_reached=complete_reached)


async def test_concurrent_numbers_of_one_subscriber_never_exceed_the_cap(database: AsyncEngine) -> None:
    phones = [f"+7913000000{i}" for i in range(6)]
    company, _, trunk, leased = await _setup(database, phones)
    results = await asyncio.gather(*(_admit(database, c, company, trunk, CAPPED) for c in leased))
    admitted = [r for r in results if isinstance(r, Admitted)]
    held = [r for r in results if isinstance(r, HeldBack)]
    # Two calls in flight are two potential answers: the day cap of 2 is reserved, the rest wait.
    assert len(admitted) == 2 and len(held) == 4
    for h in held:
        assert h.codes == ("cap-day",)
        assert h.next_allowed_at is not None and h.next_allowed_at > _now()
    async with database.connect() as conn:
        rows = (await conn.execute(text("SELECT state, attempts, next_attempt_at FROM contacts"))).all()
        logs = (await conn.execute(text("SELECT allowed, reasons FROM decision_log"))).all()
    assert sorted(r.state for r in rows) == ["dialing"] * 2 + ["ready"] * 4
    assert sum(r.attempts for r in rows) == 2
    assert len(logs) == 4 and all(not log.allowed and log.reasons[0]["code"] == "cap-day" for log in logs)


async def test_a_subscriber_s_calls_in_other_campaigns_of_the_company_count_and_other_companies_do_not(
    database: AsyncEngine,
) -> None:
    async with database.begin() as conn:
        acme = await seed_company(conn)
        other = await seed_company(conn, "other")
        trunk = await seed_trunk(conn)
        campaigns = [await seed_campaign(conn, acme, "acme-1", trunk_ids=[trunk]),
                     await seed_campaign(conn, acme, "acme-2", trunk_ids=[trunk]),
                     await seed_campaign(conn, other, "other-1", trunk_ids=[trunk])]
        leased = []
        for campaign, phone in zip(campaigns, ["+79130000001", "+79130000002", "+79130000003"], strict=True):
            await seed_contacts(conn, campaign, [SeedContact(phone, "person-1", "Asia/Novosibirsk")])
            leased += await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=1, lease_seconds=60)
    one_call = RuleSet("always-1", ALWAYS, ALWAYS, ALWAYS, caps=(Cap(CapPeriod.DAY, 1),))
    acme_1, acme_2, other_1 = leased
    assert isinstance(await _admit(database, acme_1, acme, trunk, one_call), Admitted)
    # Same company, another campaign and number: the call in flight holds the subscriber's one call.
    held = await _admit(database, acme_2, acme, trunk, one_call)
    assert isinstance(held, HeldBack) and held.codes == ("cap-day",)
    # Another company's subscriber with the same key is someone else.
    assert isinstance(await _admit(database, other_1, other, trunk, one_call), Admitted)
    async with database.connect() as conn:
        recorded = (await conn.execute(text(
            "SELECT a.company_id, a.subscriber_key, c.campaign_id"
            " FROM attempts a JOIN contacts c ON c.id = a.contact_id ORDER BY a.id"))).all()
    assert [tuple(r) for r in recorded] == [(acme, "person-1", campaigns[0]), (other, "person-1", campaigns[2])]


async def test_unanswered_end_frees_the_reservation_and_answers_go_to_the_ledger(database: AsyncEngine) -> None:
    company, campaign, trunk, leased = await _setup(database, ["+79130000001", "+79130000002", "+79130000003"])
    first, second, third = leased
    a1 = await _admit(database, first, company, trunk, CAPPED)
    a2 = await _admit(database, second, company, trunk, CAPPED)
    assert isinstance(a1, Admitted) and isinstance(a2, Admitted)
    policy = RetryPolicy.build("busy=1m", max_attempts=3)
    closed = await _close(database, _ref(a1, first, company), _result(a1.channel_id, Outcome.BUSY), policy)
    assert closed is not None and not closed.human and closed.step.state == "ready"
    # the busy call freed its reservation: the third number may be dialled
    a3 = await _admit(database, third, company, trunk, CAPPED)
    assert isinstance(a3, Admitted)
    human = _result(a2.channel_id, Outcome.ANSWERED, billsec=4, amd="HUMAN")
    closed = await _close(database, _ref(a2, second, company), human, policy)
    assert closed is not None and closed.human and closed.step.state == "done"
    # a second report of the same end changes nothing
    assert await _close(database, _ref(a2, second, company), human, policy) is None
    machine = _result(a3.channel_id, Outcome.ANSWERED, billsec=9, amd="MACHINE")
    closed = await _close(database, _ref(a3, third, company), machine, policy)
    assert closed is not None and not closed.human
    async with database.connect() as conn:
        ledger = (
            await conn.execute(text("SELECT attempt_id, subscriber_key, campaign_id FROM compliance_ledger"))
        ).all()
        contacts = {r.phone: r for r in (await conn.execute(
            text("SELECT phone, state, last_outcome, lease_owner, attempts FROM contacts"))).all()}
    assert [(r.attempt_id, r.subscriber_key, r.campaign_id) for r in ledger] == [(a2.attempt_id, "person-1", campaign)]
    assert contacts["+79130000001"].state == "ready" and contacts["+79130000001"].last_outcome == "busy"
    assert contacts["+79130000002"].state == "done" and contacts["+79130000002"].lease_owner is None
    assert contacts["+79130000003"].state == "ready"  # machine: retried later by default


async def test_an_answer_whose_end_was_not_seen_holds_the_cap(database: AsyncEngine) -> None:
    """Answered, then the AMI link or Asterisk went away: billsec is unknown, so a person is assumed
    and the subscriber's other numbers wait for the next day."""
    company, _, trunk, leased = await _setup(database, ["+79130000011", "+79130000012"])
    first, second = leased
    one_a_day = RuleSet("always-1", ALWAYS, ALWAYS, ALWAYS, caps=(Cap(CapPeriod.DAY, 1),))
    admitted = await _admit(database, first, company, trunk, one_a_day)
    assert isinstance(admitted, Admitted)
    unseen_end = _result(admitted.channel_id, Outcome.ANSWERED, billsec=0, complete=False)
    closed = await _close(database, _ref(admitted, first, company), unseen_end, RetryPolicy.build(max_attempts=3))
    assert closed is not None and closed.human
    held = await _admit(database, second, company, trunk, one_a_day)
    assert isinstance(held, HeldBack) and held.codes == ("cap-day",)
    async with database.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM compliance_ledger"))).scalar_one() == 1


UNCAPPED = RuleSet("always", ALWAYS, ALWAYS, ALWAYS)
HUMAN_POLICY = RetryPolicy.build("no_answer=1m", max_attempts=3)


async def test_a_campaign_that_completes_reached_subscribers_dials_their_other_numbers_no_more(
    database: AsyncEngine,
) -> None:
    company, _, trunk, leased = await _setup(
        database, ["+79130000020", "+79130000021", "+79130000022", "+79130000023"])
    called_before, first, second, third = leased
    # One number was called before and waits for its retry (no answer: in a minute).
    unanswered = await _admit(database, called_before, company, trunk, UNCAPPED, complete_reached=True)
    assert isinstance(unanswered, Admitted)
    await _close(database, _ref(unanswered, called_before, company),
                 _result(unanswered.channel_id, Outcome.NO_ANSWER), HUMAN_POLICY, complete_reached=True)
    admitted = await _admit(database, first, company, trunk, UNCAPPED, complete_reached=True)
    assert isinstance(admitted, Admitted)
    # While one number rings, the subscriber's others wait (the answer may complete them).
    waiting = await _admit(database, second, company, trunk, UNCAPPED, complete_reached=True)
    assert isinstance(waiting, HeldBack) and waiting.codes == ("subscriber-in-call",)
    assert waiting.next_allowed_at is not None
    assert timedelta(seconds=50) < waiting.next_allowed_at - waiting.decided_at <= timedelta(minutes=1)
    person = _result(admitted.channel_id, Outcome.ANSWERED, billsec=12, amd="HUMAN")
    closed = await _close(database, _ref(admitted, first, company), person, HUMAN_POLICY, complete_reached=True)
    assert closed is not None and closed.human
    done = await _admit(database, third, company, trunk, UNCAPPED, complete_reached=True)
    assert isinstance(done, HeldBack) and done.codes == ("subscriber-reached",) and done.next_allowed_at is None
    async with database.connect() as conn:
        contacts = {r.phone: r for r in (await conn.execute(text(
            "SELECT phone, state, last_outcome, lease_owner, attempts, next_attempt_at FROM contacts"))).all()}
        logs = (await conn.execute(text(
            "SELECT c.phone, d.allowed, d.reasons, d.next_allowed_at FROM decision_log d"
            " JOIN contacts c ON c.id = d.contact_id ORDER BY d.id"))).all()
        attempts = (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one()
    assert attempts == 2
    # The answer completed, at once, the number called before (found through its attempt); the number
    # never called is completed by the gate when it comes up.
    assert (contacts["+79130000020"].state, contacts["+79130000020"].last_outcome) == ("done", "subscriber-reached")
    assert contacts["+79130000021"].state == "done" and contacts["+79130000021"].last_outcome == "answered"
    assert contacts["+79130000022"].state == "ready" and contacts["+79130000022"].attempts == 0
    assert contacts["+79130000022"].next_attempt_at == waiting.next_allowed_at
    third_row = contacts["+79130000023"]
    assert (third_row.state, third_row.last_outcome, third_row.lease_owner, third_row.attempts) == (
        "done", "subscriber-reached", None, 0)
    assert [(r.phone, r.allowed, r.reasons[0]["code"], r.next_allowed_at) for r in logs] == [
        ("+79130000022", False, "subscriber-in-call", waiting.next_allowed_at),
        ("+79130000020", False, "subscriber-reached", None),
        ("+79130000023", False, "subscriber-reached", None),
    ]


async def test_only_a_person_answering_in_this_campaign_completes_a_subscriber(database: AsyncEngine) -> None:
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn)
        campaigns = [await seed_campaign(conn, company, name, trunk_ids=[trunk]) for name in ("first", "second")]
        phones = {campaigns[0]: ["+79130000031", "+79130000032"], campaigns[1]: ["+79130000033"]}
        leased: list[LeasedContact] = []
        for campaign, numbers in phones.items():
            await seed_contacts(conn, campaign, [SeedContact(p, "person-3", "Asia/Novosibirsk") for p in numbers])
            leased += await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10, lease_seconds=60)
    by_phone = {c.phone: c for c in leased}
    machine_answer = await _admit(database, by_phone["+79130000031"], company, trunk, UNCAPPED, complete_reached=True)
    assert isinstance(machine_answer, Admitted)
    machine = _result(machine_answer.channel_id, Outcome.ANSWERED, billsec=20, amd="MACHINE")
    await _close(database, _ref(machine_answer, by_phone["+79130000031"], company), machine, HUMAN_POLICY)
    other_campaign = await _admit(database, by_phone["+79130000033"], company, trunk, UNCAPPED, complete_reached=True)
    assert isinstance(other_campaign, Admitted)
    person = _result(other_campaign.channel_id, Outcome.ANSWERED, billsec=20, amd="HUMAN")
    await _close(database, _ref(other_campaign, by_phone["+79130000033"], company), person, HUMAN_POLICY)
    # A machine is not the subscriber, and a person reached by another campaign leaves this one's
    # task undone: only the caps count that answer here.
    assert isinstance(
        await _admit(database, by_phone["+79130000032"], company, trunk, UNCAPPED, complete_reached=True), Admitted)


async def test_a_campaign_that_continues_dials_a_reached_subscriber_s_other_numbers_within_the_caps(
    database: AsyncEngine,
) -> None:
    company, _, trunk, leased = await _setup(database, ["+79130000041", "+79130000042", "+79130000043"])
    first, second, third = leased
    admitted = await _admit(database, first, company, trunk, CAPPED)
    assert isinstance(admitted, Admitted)
    assert isinstance(await _admit(database, second, company, trunk, CAPPED), Admitted)
    person = _result(admitted.channel_id, Outcome.ANSWERED, billsec=12, amd="HUMAN")
    await _close(database, _ref(admitted, first, company), person, HUMAN_POLICY)
    held = await _admit(database, third, company, trunk, CAPPED)
    assert isinstance(held, HeldBack) and held.codes == ("cap-day",)


async def test_window_hold_back_sets_next_attempt_and_logs_why(database: AsyncEngine) -> None:
    company, _, trunk, leased = await _setup(database, ["+79130000009"])
    local = _now().astimezone(ZoneInfo("Asia/Novosibirsk"))
    # a one-hour window that starts two hours from now, local time (wrapping to the window after midnight)
    start = ((local.hour + 2) % 22) * 3600
    rules = RuleSet("closed-now", Window(start, start + 3600), Window(start, start + 3600), Window(start, start + 3600))
    held = await _admit(database, leased[0], company, trunk, rules)
    assert isinstance(held, HeldBack) and held.codes == ("outside-window",)
    assert "Asia/Novosibirsk" in held.reasons[0].message
    assert held.next_allowed_at is not None and held.next_allowed_at > _now()
    async with database.connect() as conn:
        row = (await conn.execute(text("SELECT state, next_attempt_at, lease_owner, attempts FROM contacts"))).one()
        log = (await conn.execute(text("SELECT next_allowed_at, reasons FROM decision_log"))).one()
    assert row.state == "ready" and row.lease_owner is None and row.attempts == 0
    assert abs(row.next_attempt_at - held.next_allowed_at) < timedelta(seconds=1)
    assert log.next_allowed_at == row.next_attempt_at and log.reasons[0]["code"] == "outside-window"


async def test_a_contact_no_longer_leased_to_us_is_not_dialled(database: AsyncEngine) -> None:
    company, _, trunk, leased = await _setup(database, ["+79130000005"])
    result = await _admit(database, leased[0], company, trunk, CAPPED, worker="someone-else")
    assert isinstance(result, LeaseLost)
    async with database.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one() == 0


async def test_a_contact_with_an_attempt_open_is_not_dialled_again(database: AsyncEngine) -> None:
    """A worker taken for dead while alive has its queued contacts handed back and may lease one again
    while its first copy is being dialled: the second gate of that contact must not admit it."""
    company, campaign, trunk, leased = await _setup(database, ["+79130000006"])
    first = await _admit(database, leased[0], company, trunk, CAPPED)
    assert isinstance(first, Admitted)
    async with database.begin() as conn:  # what another worker's reconciler does to a "dead" worker's lease
        await conn.execute(text("UPDATE contacts SET state = 'ready', lease_owner = NULL, lease_expires_at = NULL"))
        again = await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10, lease_seconds=60)
    assert [c.id for c in again] == [leased[0].id]
    assert isinstance(await _admit(database, again[0], company, trunk, CAPPED), LeaseLost)
    # Nor held back: that would make it `ready` (due again soon) while its call is up. Under a cap of
    # one a day the open attempt counts as an answer, so the gate would hold it.
    one_a_day = RuleSet("always-1", ALWAYS, ALWAYS, ALWAYS, caps=(Cap(CapPeriod.DAY, 1),))
    assert isinstance(await _admit(database, again[0], company, trunk, one_a_day), LeaseLost)
    async with database.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one() == 1
        assert (await conn.execute(text("SELECT state FROM contacts"))).scalar_one() == "dialing"
        assert (await conn.execute(text("SELECT count(*) FROM decision_log"))).scalar_one() == 0


async def test_undo_forgets_an_attempt_that_never_left(database: AsyncEngine) -> None:
    company, _, trunk, leased = await _setup(database, ["+79130000007"])
    admitted = await _admit(database, leased[0], company, trunk, CAPPED)
    assert isinstance(admitted, Admitted)
    async with database.begin() as conn:
        await undo_attempt(conn, attempt_id=admitted.attempt_id, contact_id=leased[0].id, worker_id="w")
    async with database.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one() == 0
        row = (await conn.execute(text("SELECT state, attempts, lease_owner FROM contacts"))).one()
    assert (row.state, row.attempts, row.lease_owner) == ("ready", 0, None)


async def test_gate_on_one_worker_connection_pause_and_lost_statements(
    database: AsyncEngine, database_url: str
) -> None:
    """The worker's way: one autocommit psycopg connection, the gate its own transaction each time.
    A paused campaign records nothing and leaves the connection idle; statements the session lost
    (DEALLOCATE ALL, as a pooler's reset does) are prepared again, and so are some left over."""
    company, campaign, trunk, leased = await _setup(database, ["+79130000021", "+79130000022"])
    first, second = leased
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        await conn.execute("PREPARE dialer_gate_lock AS SELECT 1")  # left over from an attempt cut short
        await conn.execute("UPDATE campaigns SET status = 'paused' WHERE id = %s", (campaign,))
        paused = await admit_attempt(conn, contact=first, company_id=company, rules=CAPPED, trunk_id=trunk,
                                     worker_id="w", lease_seconds=60, now=_now)
        assert isinstance(paused, CampaignNotDialable)
        assert conn.info.transaction_status == TransactionStatus.IDLE
        await conn.execute("UPDATE campaigns SET status = 'running' WHERE id = %s", (campaign,))
        admitted = await admit_attempt(conn, contact=first, company_id=company, rules=CAPPED, trunk_id=trunk,
                                       worker_id="w", lease_seconds=60, now=_now)
        assert isinstance(admitted, Admitted) and admitted.attempt_number == 1
        await conn.execute("DEALLOCATE ALL")
        again = await admit_attempt(conn, contact=second, company_id=company, rules=CAPPED, trunk_id=trunk,
                                    worker_id="w", lease_seconds=60, now=_now)
        assert isinstance(again, Admitted)
        assert conn.info.transaction_status == TransactionStatus.IDLE
    async with database.connect() as sa_conn:
        rows = (await sa_conn.execute(text("SELECT contact_id, channel_id FROM attempts ORDER BY id"))).all()
    assert [(r.contact_id, r.channel_id) for r in rows] == [(first.id, admitted.channel_id),
                                                            (second.id, again.channel_id)]


async def test_a_subscriber_key_with_quotes_and_backslashes_is_data(database: AsyncEngine) -> None:
    """Keys come from users' files; the gate sends them as SQL literals (dialer.db.prepared)."""
    key = "O'Brien \\'; DELETE FROM contacts; -- ёж"
    company, _, trunk, leased = await _setup(database, ["+79130000001", "+79130000002"], key=key)
    one_call = RuleSet("always-1", ALWAYS, ALWAYS, ALWAYS, caps=(Cap(CapPeriod.DAY, 1),))
    first, second = leased
    assert isinstance(await _admit(database, first, company, trunk, one_call), Admitted)
    held = await _admit(database, second, company, trunk, one_call)
    assert isinstance(held, HeldBack) and held.codes == ("cap-day",)
    async with database.connect() as conn:
        keys = (await conn.execute(text("SELECT subscriber_key FROM attempts"))).scalars().all()
        contacts = (await conn.execute(text("SELECT count(*) FROM contacts"))).scalar_one()
    assert (keys, contacts) == ([key], 2)


async def test_a_subscriber_with_numbers_in_several_zones_is_dialled_only_when_each_is_open(
    database: AsyncEngine,
) -> None:
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn)
        campaign = await seed_campaign(conn, company, trunk_ids=[trunk])
        await seed_contacts(conn, campaign, [SeedContact("+79160000001", "spread", "Europe/Moscow"),
                                             SeedContact("+79240000001", "spread", "Asia/Vladivostok"),
                                             SeedContact("+79160000002", "alone", "Europe/Moscow")])
        # As the import sets it for a subscriber whose numbers span several zones.
        await conn.execute(text("UPDATE contacts SET subscriber_zones = '{Asia/Vladivostok,Europe/Moscow}' "
                                "WHERE subscriber_key = 'spread'"))
        leased = {c.phone: c for c in await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10,
                                                           lease_seconds=60)}
    # A workday, 13:00 in Moscow, 20:00 in Vladivostok: the 09:10-19:50 window is open in one zone only.
    at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    rules = load_rules("fz230-twin")
    held = await _admit(database, leased["+79160000001"], company, trunk, rules, now=lambda: at)
    assert isinstance(held, HeldBack) and held.codes == ("outside-window",)
    assert "Asia/Vladivostok" in held.reasons[0].message
    # Next: 09:10 in Moscow the next day, 16:10 in Vladivostok.
    assert held.next_allowed_at == datetime(2026, 12, 4, 6, 10, tzinfo=UTC)
    assert isinstance(await _admit(database, leased["+79160000002"], company, trunk, rules, now=lambda: at), Admitted)


async def test_a_number_put_on_the_do_not_call_list_after_its_import_is_never_dialled_again(
    database: AsyncEngine,
) -> None:
    """The subscriber refuses calls while one number waits in a worker's queue and another is on a call:
    `dnc add` excludes only contacts that are `ready`, so the gate checks the list when it dials."""
    company, campaign, trunk, leased = await _setup(database, ["+79130000011", "+79130000012"])
    queued, on_a_call = leased
    admitted = await _admit(database, on_a_call, company, trunk, CAPPED)
    assert isinstance(admitted, Admitted)
    summary = await add_dnc_numbers(database, ["+79130000011", "8 913 000-00-12"], "acme")
    assert (summary.added, summary.contacts_excluded) == (2, 0)  # both were leased: nothing `ready` to exclude

    held = await _admit(database, queued, company, trunk, CAPPED)
    assert isinstance(held, HeldBack) and held.codes == ("do-not-call",) and held.next_allowed_at is None
    # The call ends busy: the retry policy makes the contact due again, and the gate keeps it off the line.
    closed = await _close(database, _ref(admitted, on_a_call, company), _result(admitted.channel_id, Outcome.BUSY),
                          RetryPolicy(delays={Outcome.BUSY: timedelta(0)}, max_attempts=5))
    assert closed is not None and closed.step.state.value == "ready"
    async with database.begin() as conn:
        again = await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10, lease_seconds=60)
    assert [c.id for c in again] == [on_a_call.id]
    retry = await _admit(database, again[0], company, trunk, CAPPED)
    assert isinstance(retry, HeldBack) and retry.codes == ("do-not-call",)
    async with database.connect() as conn:
        states = (await conn.execute(text("SELECT phone, state, last_outcome FROM contacts ORDER BY phone"))).all()
        attempts = (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one()
        logs = (await conn.execute(text("SELECT reasons, next_allowed_at FROM decision_log"))).all()
    assert [tuple(s) for s in states] == [("+79130000011", "excluded", "do-not-call"),
                                          ("+79130000012", "excluded", "do-not-call")]
    assert attempts == 1
    assert [(log.reasons[0]["code"], log.next_allowed_at) for log in logs] == [("do-not-call", None)] * 2
    # Taken off the list (a mistake, or the subscriber withdrew the refusal): both are dialled again.
    removal = await remove_dnc_numbers(database, ["+79130000011", "+79130000012"], "acme")
    assert (removal.removed, removal.contacts_restored, removal.campaign_ids) == (2, 2, (campaign,))
    async with database.connect() as conn:
        states = (await conn.execute(text("SELECT phone, state, last_outcome FROM contacts ORDER BY phone"))).all()
    # Each shows its last call's outcome again (none yet for the first).
    assert [tuple(s) for s in states] == [("+79130000011", "ready", None), ("+79130000012", "ready", "busy")]
    async with database.begin() as conn:
        back = await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10, lease_seconds=60)
    assert sorted(c.phone for c in back) == ["+79130000011", "+79130000012"]
    for contact in back:
        assert isinstance(await _admit(database, contact, company, trunk, CAPPED), Admitted)


@pytest.mark.parametrize("removal", ["committed", "committing"])
async def test_a_number_taken_off_the_list_while_a_gate_excludes_it_is_dialled_again(
    database: AsyncEngine, database_url: str, removal: str
) -> None:
    """`dnc remove` gives back the contacts the list excluded. A gate that found the number listed in its
    first round trip excludes the contact in its second: a removal that committed in between
    (`committed`), or is between its restore and its commit then (`committing`), must not leave the
    contact excluded for good."""
    phone = "+79130000031"
    company, campaign, trunk, (leased,) = await _setup(database, [phone])
    async with database.begin() as conn:  # the same number in another campaign, excluded while it waited
        other_campaign = await seed_campaign(conn, company, "other", trunk_ids=[trunk])
        (other,) = await seed_contacts(conn, other_campaign, [SeedContact(phone, "person-1")])
    assert (await add_dnc_numbers(database, [phone], "acme")).contacts_excluded == 1
    url = libpq_url(database_url)

    async def remove() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await remove_dnc_numbers(conn, [phone], "acme")

    def lock_waiters() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
            return int(row[0]) if row else 0

    remover = threading.Thread(target=asyncio.run, args=(remove(),))
    # `committing`: the removal's restore waits on `other`'s row, held here, so it has deleted the number
    # and restored nothing of ours (the leased contact was not excluded yet) when the gate writes.
    blocker = await psycopg.AsyncConnection.connect(url)
    if removal == "committing":
        await blocker.execute("SELECT 1 FROM contacts WHERE id = %s FOR UPDATE", (other,))

    def decide_now() -> datetime:  # between the gate's two round trips
        remover.start()
        if removal == "committed":
            remover.join(30)
        else:
            for _ in range(300):
                if lock_waiters() >= 1:
                    break
                time.sleep(0.05)
        return _now()

    async def release_when_the_gate_waits_or_ends() -> None:
        for _ in range(600):
            if gating.done() or await asyncio.to_thread(lock_waiters) >= 2:
                break
            await asyncio.sleep(0.05)
        await blocker.rollback()

    async with blocker, asyncio.TaskGroup() as tg:
        gating = tg.create_task(_admit(database, leased, company, trunk, CAPPED, now=decide_now))
        tg.create_task(release_when_the_gate_waits_or_ends())
    await asyncio.to_thread(remover.join, 30)
    held = gating.result()
    assert isinstance(held, HeldBack) and held.codes == ("do-not-call",)  # listed when it decided
    async with database.connect() as conn:
        states = (await conn.execute(text("SELECT id, state, last_outcome FROM contacts ORDER BY id"))).all()
        listed = (await conn.execute(text("SELECT count(*) FROM dnc"))).scalar_one()
    assert listed == 0
    assert [tuple(s) for s in states] == [(leased.id, "ready", None), (other, "ready", None)]
    async with database.begin() as conn:
        again = await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10, lease_seconds=60)
    assert [c.id for c in again] == [leased.id]
    assert isinstance(await _admit(database, again[0], company, trunk, CAPPED), Admitted)
