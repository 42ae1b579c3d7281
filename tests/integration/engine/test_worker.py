"""One worker in this process against the real Asterisk sandbox: a small campaign end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.metrics import DialerMetrics
from dialer.db.session import session_scope
from dialer.leasing import LeasedContact
from dialer.lifecycle import Action, apply_action
from dialer.worker import Worker, WorkerOptions
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.engine.seed import (
    FAST_RETRIES,
    SeedContact,
    fast_settings,
    rules_toml,
    seed_sandbox_campaign,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]


async def test_a_campaign_runs_to_the_end(database: AsyncEngine, database_url: str,
                                          asterisk: AsteriskSandbox) -> None:
    # Last digit = behaviour in [pstn-sim]: 1 busy, 2 no answer, 3 congestion, 4 invalid, 5 machine, 6-9 human.
    digits = "1234567890" * 3
    contacts = [SeedContact(f"+7913555{i:03d}{d}", f"sub-{i}", "Asia/Novosibirsk") for i, d in enumerate(digits)]
    await seed_sandbox_campaign(
        database, asterisk.ami_url, contacts, cps=10, max_channels=20,
        rules_toml=rules_toml(), max_attempts=2, retry_delays=FAST_RETRIES, settings=fast_settings(), dial_timeout_s=5,
    )
    metrics = DialerMetrics()
    worker = Worker(database, database_url,
                    WorkerOptions(campaigns=("camp",), until_done=True, lease_seconds=10, idle_recheck_seconds=2),
                    metrics=metrics)
    assert await asyncio.wait_for(worker.run(), 150) == 0

    async with database.connect() as conn:
        states = dict((await conn.execute(text(
            "SELECT right(phone, 1) || ':' || state, count(*) FROM contacts GROUP BY 1"))).all())
        open_attempts = (await conn.execute(text("SELECT count(*) FROM attempts WHERE ended_at IS NULL"))).scalar_one()
        outcomes = dict((await conn.execute(text(
            "SELECT right(c.phone, 1) || ':' || a.outcome, count(*)"
            " FROM attempts a JOIN contacts c ON c.id = a.contact_id GROUP BY 1"))).all())
        status = (await conn.execute(text("SELECT status FROM campaigns"))).scalar_one()
        ledger = (await conn.execute(text("SELECT count(*) FROM compliance_ledger"))).scalar_one()
        cdr = (await conn.execute(text("SELECT count(*) FROM cdr"))).scalar_one()
        attempts = (await conn.execute(text("SELECT count(*) FROM attempts"))).scalar_one()
    assert status == "finished"
    assert open_attempts == 0
    assert cdr == attempts
    # humans done after one attempt; busy / no answer / congestion retried once then failed;
    # invalid numbers failed at once.
    for d in "06789":
        assert states.get(f"{d}:done") == 3, sorted(states.items())
        assert outcomes.get(f"{d}:answered") == 3, sorted(outcomes.items())
    for d, outcome in (("1", "busy"), ("2", "no_answer"), ("3", "congestion")):
        assert states.get(f"{d}:failed") == 3, sorted(states.items())
        assert outcomes.get(f"{d}:{outcome}") == 6, sorted(outcomes.items())
    assert states.get("4:failed") == 3 and outcomes.get("4:invalid_number") == 3, sorted(outcomes.items())
    # Answering machines (digit 5): whatever AMD heard, the engine follows its verdict: MACHINE is
    # retried; anything else completes the contact. Only HUMAN (or no AMD) counts in the caps ledger.
    async with database.connect() as conn:
        machine_attempts = (await conn.execute(text(
            """SELECT c.id, c.state, a.amd_status FROM attempts a JOIN contacts c ON c.id = a.contact_id
                WHERE right(c.phone, 1) = '5' ORDER BY a.id"""))).all()
        humans = (await conn.execute(text(
            """SELECT count(*) FROM attempts WHERE outcome = 'answered' AND billsec > 0
                 AND coalesce(nullif(amd_status, ''), 'HUMAN') = 'HUMAN'"""))).scalar_one()
    by_contact: dict[int, list[str | None]] = {}
    for contact_id, _, amd in machine_attempts:
        by_contact.setdefault(contact_id, []).append(amd)
    final = {contact_id: state for contact_id, state, _ in machine_attempts}
    for contact_id, verdicts in by_contact.items():
        if verdicts[-1] == "MACHINE":
            assert final[contact_id] == "failed" if len(verdicts) == 2 else final[contact_id] == "ready"
        else:
            assert final[contact_id] == "done"
    assert ledger == humans and humans >= 15  # the human answers only (MACHINE, NOTSURE, HANGUP are not)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _until(predicate: Callable[[], Awaitable[bool]], within_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def test_pause_stops_originations_at_once_live_calls_finish_and_resume_continues(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    contacts = [SeedContact(f"+7913666{i:04d}7", f"p-{i}", "Asia/Omsk") for i in range(200)]
    campaign, _ = await seed_sandbox_campaign(
        database, asterisk.ami_url, contacts, cps=10, max_channels=30,
        rules_toml=rules_toml(day=5), retry_delays=FAST_RETRIES, settings=fast_settings(sim_hold=3), dial_timeout_s=10,
    )
    worker = Worker(database, database_url, WorkerOptions(campaigns=("camp",), lease_seconds=10))
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        await _until(lambda: _at_least(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL", 8),
                     60, "calls in flight")
        async with session_scope(database) as session:
            await apply_action(session, campaign, Action.PAUSE)
        # Every attempt recorded before the pause committed is visible now; any later one has a larger id.
        last_before_pause = await _count(database, "SELECT coalesce(max(id), 0) FROM attempts")
        # live calls finish on their own; queued contacts go back to ready
        await _until(lambda: _none(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL"), 60,
                     "calls in flight to end")
        await _until(lambda: _none(database, "SELECT count(*) FROM contacts WHERE state = 'dialing'"), 30,
                     "queued contacts to be handed back")
        before_resume = await _count(database, "SELECT count(*) FROM attempts")
        late = await _count(database, f"SELECT count(*) FROM attempts WHERE id > {last_before_pause}")
        assert late == 0, "originations continued after the pause"
        assert 8 <= before_resume < 200
        async with session_scope(database) as session:
            await apply_action(session, campaign, Action.RESUME)
        await _until(lambda: _at_least(database, "SELECT count(*) FROM attempts", before_resume + 5), 60,
                     "dialling to resume")
        worker.request_stop()
        assert await running == 0
    assert await _count(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") == 0
    assert await _count(database, "SELECT count(*) FROM contacts WHERE state = 'dialing'") == 0


async def test_pause_is_immediate_even_before_its_notify_reaches_the_worker(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    """The gate reads the campaign under its row lock (dialer.lifecycle.campaign_dialable) in the
    transaction that records the attempt: once the pause commits, no attempt is recorded, however
    late the worker hears of it. The pause here sends no NOTIFY (the worker's next resync is 30 s
    away), so only the gate can stop the dialling."""
    contacts = [SeedContact(f"+7913667{i:04d}7", f"p-{i}", "Asia/Omsk") for i in range(300)]
    campaign, _ = await seed_sandbox_campaign(
        database, asterisk.ami_url, contacts, cps=20, max_channels=40,
        rules_toml=rules_toml(day=5), retry_delays=FAST_RETRIES, settings=fast_settings(sim_hold=2), dial_timeout_s=10,
    )
    worker = Worker(database, database_url, WorkerOptions(campaigns=("camp",), lease_seconds=10))
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        await _until(lambda: _at_least(database, "SELECT count(*) FROM attempts", 10), 60, "dialling")
        async with database.begin() as conn:
            await conn.execute(text("UPDATE campaigns SET status = 'paused' WHERE id = :id"), {"id": campaign})
        last_before_pause = await _count(database, "SELECT coalesce(max(id), 0) FROM attempts")
        await _until(lambda: _none(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL"), 60,
                     "calls in flight to end")
        late = await _count(database, f"SELECT count(*) FROM attempts WHERE id > {last_before_pause}")
        worker.request_stop()
        assert await running == 0
    assert late == 0, f"{late} attempt(s) recorded after the pause committed"
    assert await _count(database, "SELECT count(*) FROM attempts") < len(contacts)


async def _at_least(engine: AsyncEngine, sql: str, n: int) -> bool:
    return await _count(engine, sql) >= n


async def _none(engine: AsyncEngine, sql: str) -> bool:
    return await _count(engine, sql) == 0


async def test_a_contact_queued_twice_is_dialled_once_and_keeps_its_call_mark(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    """A peer that took this worker for dead hands its queue back, and the worker may lease a contact
    again while it is dialling it: the second copy is dropped unseen by the gate, and the contact
    stays marked as having a call here (else the reconciler would take that call for an orphan)."""
    campaign, [contact_id] = await seed_sandbox_campaign(
        database, asterisk.ami_url, [SeedContact("+79136680007", "p-1", "Asia/Omsk")], cps=10, max_channels=5,
        rules_toml=rules_toml(), retry_delays=FAST_RETRIES, settings=fast_settings(sim_hold=4), dial_timeout_s=10,
    )
    worker = Worker(database, database_url, WorkerOptions(campaigns=("camp",), lease_seconds=10))
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        await _until(lambda: _at_least(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL", 1), 60,
                     "the call")
        runner = worker.runners[campaign]
        runner.queue.append(LeasedContact(id=contact_id, campaign_id=campaign, phone="+79136680007",
                                          subscriber_key="p-1", timezone="Asia/Omsk", tz_candidates=(),
                                          attempts=0, name=None, extra={}))
        runner._queue_changed.fire()  # as the leaser does after it queues contacts
        await _until(lambda: asyncio.sleep(0, not runner.queue), 10, "the copy to be taken")
        assert runner.stats.lease_lost == 1
        assert contact_id in worker.ctx.live_contacts
        assert await _count(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL") == 1
        await _until(lambda: _none(database, "SELECT count(*) FROM attempts WHERE ended_at IS NULL"), 60,
                     "the call to end")
        worker.request_stop()
        assert await running == 0
    assert await _count(database, "SELECT count(*) FROM attempts") == 1
    assert await _count(database, "SELECT count(*) FROM attempts WHERE outcome = 'answered'") == 1


async def test_a_worker_whose_clock_is_off_places_no_call_until_it_agrees(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    contacts = [SeedContact(f"+7913555{i:03d}6", f"sub-{i}", "Asia/Novosibirsk") for i in range(3)]
    await seed_sandbox_campaign(
        database, asterisk.ami_url, contacts, cps=10, max_channels=10,
        rules_toml=rules_toml(), settings=fast_settings(), dial_timeout_s=5,
    )
    metrics = DialerMetrics()
    worker = Worker(database, database_url,
                    WorkerOptions(campaigns=("camp",), until_done=True, lease_seconds=10, idle_recheck_seconds=2),
                    metrics=metrics)
    skew = [timedelta(seconds=30)]  # a host whose NTP stopped: 30 s ahead
    worker.ctx.wall = lambda: datetime.now(UTC) + skew[0]
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())

        async def beats(n: int) -> bool:
            return worker._beats >= n  # the hold is decided at each heartbeat

        await _until(lambda: beats(3), 30, "three heartbeats")
        assert await _count(database, "SELECT count(*) FROM attempts") == 0
        offset = metrics.registry.get_sample_value("dialer_clock_offset_seconds")
        assert offset is not None and -31 < offset < -29
        # The alert rules compare the offset with this worker's own limit.
        assert metrics.registry.get_sample_value("dialer_clock_skew_limit_seconds") == 2.0
        assert worker.ctx.clock_held
        assert (await worker.health() or "").startswith("clock 30.0 s ahead of PostgreSQL's")
        skew[0] = timedelta(0)
        assert await asyncio.wait_for(running, 90) == 0
    assert await _count(database, "SELECT count(*) FROM attempts WHERE outcome = 'answered'") == 3
    assert not worker.ctx.clock_held
    assert abs(metrics.registry.get_sample_value("dialer_clock_offset_seconds") or 99) < 1
    # Asterisk's clock (its CDR times) is compared too, and reported, without holding anything.
    asterisk_offset = metrics.registry.get_sample_value("dialer_asterisk_clock_offset_seconds",
                                                        {"server": f"{asterisk.host}:{asterisk.port}"})
    assert asterisk_offset is not None and abs(asterisk_offset) < 1


@pytest.mark.parametrize(("lead_s", "dialled"), [(3, False), (0, True)])
async def test_no_call_is_decided_closer_to_the_window_s_end_than_the_dial_lead(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox, lead_s: int, dialled: bool
) -> None:
    """The call starts a moment after the decision (on Asterisk's clock, in the CDR): a worker decides
    to dial only while the window stays open `dial_lead_seconds` longer."""
    now = datetime.now(UTC).replace(microsecond=0)
    zone = next(z for z in ("Asia/Novosibirsk", "Europe/Moscow", "Asia/Vladivostok", "Europe/Kaliningrad")
                if 2 <= now.astimezone(ZoneInfo(z)).hour <= 21)
    local = now.astimezone(ZoneInfo(zone))
    window = f"{local - timedelta(hours=1):%H:%M:%S}-{local + timedelta(seconds=10):%H:%M:%S}"
    decided_at = now + timedelta(seconds=8)  # the worker's clock, stopped 2 s before the window's end
    await seed_sandbox_campaign(
        database, asterisk.ami_url, [SeedContact("+79135550016", "sub-1", zone)], cps=10, max_channels=10,
        rules_toml=rules_toml(window=window), settings=fast_settings(), dial_timeout_s=5,
    )
    worker = Worker(database, database_url,
                    WorkerOptions(campaigns=("camp",), until_done=True, lease_seconds=10, idle_recheck_seconds=2,
                                  max_clock_skew_seconds=120, dial_lead_seconds=lead_s),
                    metrics=DialerMetrics())
    worker.ctx.wall = lambda: decided_at
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        if dialled:
            assert await asyncio.wait_for(running, 90) == 0
        else:
            await _until(lambda: _count(database, "SELECT count(*) FROM decision_log"), 60, "the hold-back")
            worker.request_stop()
    async with database.connect() as conn:
        attempts = (await conn.execute(text("SELECT created_at, outcome FROM attempts"))).all()
        holds = (await conn.execute(text("SELECT reasons, next_allowed_at FROM decision_log"))).all()
    if dialled:
        assert [(a.created_at, a.outcome) for a in attempts] == [(decided_at, "answered")] and holds == []
    else:
        assert attempts == []
        ((reasons, next_allowed_at),) = holds
        assert [r["code"] for r in reasons] == ["outside-window"]
        assert "last start" in reasons[0]["message"]
        opens = (local - timedelta(hours=1)).replace(tzinfo=None) + timedelta(days=1)
        assert next_allowed_at == opens.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def test_contacts_whose_window_is_closed_go_back_when_leased_and_the_others_are_dialled(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    """A list imported while most subscribers' windows are closed: those go back in the lease's own
    statement (a decision logged for each, due at the window's opening) and never reach the queue or the
    gate; the others are dialled. The window is open around the time now in one zone, closed in a zone
    9 h away (whichever of Moscow and Kamchatka is not near midnight is the open one)."""
    moscow_hour = datetime.now(ZoneInfo("Europe/Moscow")).hour
    open_zone, closed_zone = (("Europe/Moscow", "Asia/Kamchatka") if 2 <= moscow_hour <= 21
                              else ("Asia/Kamchatka", "Europe/Moscow"))
    hour = datetime.now(ZoneInfo(open_zone)).hour
    closed = [SeedContact(f"+7914200{i:04d}6", f"closed-{i}", closed_zone) for i in range(300)]
    open_ = [SeedContact(f"+7916300{i:04d}6", f"open-{i}", open_zone) for i in range(3)]
    campaign, _ = await seed_sandbox_campaign(
        database, asterisk.ami_url, closed[:150] + open_ + closed[150:], cps=20, max_channels=10,
        rules_toml=rules_toml(window=f"{hour - 1:02d}:00-{hour + 2:02d}:00"), settings=fast_settings(),
    )
    worker = Worker(database, database_url, WorkerOptions(campaigns=("camp",), lease_seconds=10, ready_queue=16))
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        await _until(lambda: _at_least(database, "SELECT count(*) FROM attempts WHERE outcome = 'answered'", 3),
                     60, "the open zone's calls")
        await _until(lambda: _at_least(database, "SELECT count(*) FROM decision_log", 300), 30, "the hold-backs")
        worker.request_stop()
        assert await running == 0
    stats = worker.runners[campaign].stats
    assert (stats.admitted, stats.held_window, stats.held_on_lease) == (3, 300, 300)
    zone = ZoneInfo(closed_zone)
    opening = datetime.combine(datetime.now(zone).date(), time(hour - 1), zone)
    async with database.connect() as conn:
        held = (await conn.execute(text(
            "SELECT c.state, c.attempts, c.next_attempt_at = d.next_allowed_at, d.next_allowed_at,"
            "       d.reasons -> 0 ->> 'code', count(*)"
            "  FROM contacts c JOIN decision_log d ON d.contact_id = c.id"
            " GROUP BY 1, 2, 3, 4, 5"))).all()
        dialled = (await conn.execute(text(
            "SELECT DISTINCT c.subscriber_key FROM attempts a JOIN contacts c ON c.id = a.contact_id"))).scalars().all()
    assert sorted(dialled) == ["open-0", "open-1", "open-2"]
    [(state, attempts, same, next_allowed, code, count)] = held
    assert (state, attempts, same, code, count) == ("ready", 0, True, "outside-window", 300)
    assert next_allowed in (opening, opening + timedelta(days=1))
