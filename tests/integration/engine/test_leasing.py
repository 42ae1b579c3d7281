"""Leasing against real PostgreSQL: disjoint concurrent leases, expiry, renewal, release, wake-ups."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.leasing import (
    CONTACTS_CHANNEL,
    campaign_progress,
    earliest_ready_at,
    lease_contacts,
    notify_contacts_ready,
    release_leases,
    release_unattempted_expired,
    renew_leases,
)
from tests.integration.engine.seed import SeedContact, seed_campaign, seed_company, seed_contacts


async def _campaign_with(database: AsyncEngine, n: int, **kw: float) -> tuple[int, list[int]]:
    async with database.begin() as conn:
        company = await seed_company(conn)
        campaign = await seed_campaign(conn, company)
        contacts = [
            SeedContact(f"+7900{i:07d}", f"s{i}", next_attempt_offset_s=-(n - i) - 1) for i in range(n)
        ]
        ids = await seed_contacts(conn, campaign, contacts)
    return campaign, ids


async def test_concurrent_leases_are_disjoint_and_due_order(database: AsyncEngine) -> None:
    campaign, ids = await _campaign_with(database, 300)

    async def lease(worker: str) -> list[int]:
        got: list[int] = []
        while True:
            async with database.begin() as conn:
                batch = await lease_contacts(conn, campaign_id=campaign, worker_id=worker, limit=7, lease_seconds=30)
            if not batch:
                return got
            got.extend(c.id for c in batch)

    results = await asyncio.gather(*(lease(f"w{i}") for i in range(4)))
    flat = [cid for r in results for cid in r]
    assert sorted(flat) == sorted(ids)  # every contact once, none twice
    assert len(set(flat)) == len(flat)
    for got in results:
        # each worker's contacts come out oldest next_attempt_at first (ids were seeded in due order)
        assert got == sorted(got)
    async with database.connect() as conn:
        owners = (await conn.execute(text("SELECT DISTINCT state FROM contacts"))).scalars().all()
    assert owners == ["dialing"]


async def test_future_contacts_are_not_leased_and_earliest_is_reported(database: AsyncEngine) -> None:
    async with database.begin() as conn:
        company = await seed_company(conn)
        campaign = await seed_campaign(conn, company)
        await seed_contacts(conn, campaign, [
            SeedContact("+79000000001", "a", next_attempt_offset_s=-5),
            SeedContact("+79000000002", "b", next_attempt_offset_s=3600),
            SeedContact("+79000000003", "c", state="done"),
        ])
    async with database.begin() as conn:
        leased = await lease_contacts(conn, campaign_id=campaign, worker_id="w", limit=10, lease_seconds=30)
        assert [c.phone for c in leased] == ["+79000000001"]
        assert leased[0].timezone == "Europe/Moscow" and leased[0].subscriber_key == "a"
        earliest = await earliest_ready_at(conn, campaign_id=campaign)
        now = (await conn.execute(text("SELECT now()"))).scalar_one()
        assert earliest is not None and 3590 < (earliest - now).total_seconds() <= 3600
        progress = await campaign_progress(conn, campaign_id=campaign)
        assert (progress.ready_now, progress.ready_later, progress.dialing) == (0, 1, 1)
        assert not progress.finished


async def test_renew_and_release(database: AsyncEngine) -> None:
    campaign, ids = await _campaign_with(database, 5)
    async with database.begin() as conn:
        leased = await lease_contacts(conn, campaign_id=campaign, worker_id="w1", limit=5, lease_seconds=5)
        assert len(leased) == 5
        assert await renew_leases(conn, worker_id="w1", lease_seconds=600) == 5
        assert await renew_leases(conn, worker_id="other", lease_seconds=600) == 0
        expiry = (await conn.execute(text("SELECT min(lease_expires_at - now()) FROM contacts"))).scalar_one()
        assert expiry.total_seconds() > 500
        # a contact with an open attempt is not released: its call decides
        await conn.execute(
            text("""INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id)
                    VALUES (:c, :camp, 'w1', 'ch-1')"""),
            {"c": ids[0], "camp": campaign},
        )
        assert await release_leases(conn, worker_id="w2", contact_ids=ids) == 0  # not the owner
        assert await release_leases(conn, worker_id="w1", contact_ids=ids) == 4
        states = {r.id: r.state for r in (await conn.execute(text("SELECT id, state FROM contacts"))).all()}
    assert states[ids[0]] == "dialing"
    assert all(states[i] == "ready" for i in ids[1:])


async def test_dead_workers_contacts_without_open_attempts_return(database: AsyncEngine) -> None:
    campaign, ids = await _campaign_with(database, 3)
    async with database.begin() as conn:
        await lease_contacts(conn, campaign_id=campaign, worker_id="dead", limit=3, lease_seconds=5)
        await conn.execute(
            text("""INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id)
                    VALUES (:c, :camp, 'dead', 'ch-open')"""),
            {"c": ids[1], "camp": campaign},
        )
        assert await release_unattempted_expired(conn, dead_workers=["dead"]) == [campaign]
        states = {r.id: r.state for r in (await conn.execute(text("SELECT id, state FROM contacts"))).all()}
    assert states == {ids[0]: "ready", ids[1]: "dialing", ids[2]: "ready"}


async def test_lease_is_an_index_scan_on_a_large_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO companies (name) VALUES ('c')")
        conn.execute("INSERT INTO campaigns (company_id, name) VALUES (1, 'x'), (1, 'y')")
        conn.execute(
            """INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source, state, next_attempt_at)
               SELECT 1 + (g % 2), '+7900' || lpad(g::text, 7, '0'), g::text, 'registry',
                      CASE WHEN g % 3 = 0 THEN 'done' ELSE 'ready' END, now() - (g || ' s')::interval
               FROM generate_series(1, 50000) g"""
        )
        conn.execute("ANALYZE contacts")
        from dialer.leasing import _LEASE_SQL

        params = {"worker": "w", "lease_s": 30, "campaign": 1, "n": 1000}
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + _LEASE_SQL, params))
    assert "ix_contacts_eligible" in plan, plan
    assert "Sort" not in plan.split("LockRows")[1], plan


async def test_notify_wakes_a_listener(database: AsyncEngine, database_url: str) -> None:
    listener = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    try:
        await listener.execute(f"LISTEN {CONTACTS_CHANNEL}")
        async with database.begin() as conn:
            await notify_contacts_ready(conn, 42)
        gen = listener.notifies(timeout=10)
        note = await anext(gen)
        assert (note.channel, note.payload) == (CONTACTS_CHANNEL, "42")
    finally:
        await listener.close()


async def test_the_heartbeat_renews_this_worker_s_leases_in_its_transaction(database: AsyncEngine) -> None:
    from dialer.worker.registry import begin_beat, end_beat

    campaign, _ = await _campaign_with(database, 6)
    async with database.begin() as conn:
        await conn.execute(text("INSERT INTO workers (id, host, pid) VALUES ('w1', 'h', 1)"))
        for worker in ("w1", "w2"):
            await lease_contacts(conn, campaign_id=campaign, worker_id=worker, limit=3, lease_seconds=5)
    url = database.url.render_as_string(hide_password=False).replace("+psycopg", "")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        async with psycopg.AsyncClientCursor(conn) as cur:
            await begin_beat(cur, stale_after_s=30, trunk_ids=[], campaign_ids=[campaign])
            await end_beat(cur, worker_id="w1", campaign_ids=[campaign], trunk_ids=[], shares={}, lease_seconds=600)
        rows = await (await conn.execute(
            "SELECT lease_owner, min(lease_expires_at - now()), max(lease_expires_at - now()) FROM contacts"
            " GROUP BY lease_owner ORDER BY lease_owner")).fetchall()
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    (w1, w1_min, _), (w2, _, w2_max) = rows
    assert (w1, w2) == ("w1", "w2")
    assert w1_min.total_seconds() > 500 and w2_max.total_seconds() <= 5
