"""A worker with nothing to dial still answers at once: a stop, or a server wanted while another one
is being connected, is not lost while it awaits the database or a connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ami import AmiOptions
from cdr.metrics import DialerMetrics
from dialer.leasing import earliest_ready_at
from dialer.pacing import Signal
from dialer.trunks import parse_ami_url
from dialer.worker import Worker, WorkerOptions
from dialer.worker import campaign as campaign_module
from dialer.worker.lanes import AmiPool
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.ami.proxy import LoopbackProxy
from tests.integration.engine.seed import (
    SeedContact,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)
from tests.ports import free_port

IDLE_RECHECK_S = 60.0  # what a lost wake-up would cost


async def _idle_worker(database: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch,
                       during_query: Callable[[Worker], Awaitable[None]]) -> Worker:
    """A worker whose campaign has nothing due for an hour: its leaser asks when the next contact is
    due, then sleeps; `during_query` runs while that query runs (the first time)."""
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=f"ami://u:s@127.0.0.1:{free_port()}")
        # Open all day: the contact added is leased whatever the time (a closed window sends it back).
        campaign = await seed_campaign(conn, company, trunk_ids=[trunk], rules="file:test.toml",
                                       rules_toml=rules_toml())
        await seed_contacts(conn, campaign, [SeedContact("+79131234567", "s-1", next_attempt_offset_s=3600)])
    worker = Worker(database, database_url,
                    WorkerOptions(campaigns=("camp",), idle_recheck_seconds=IDLE_RECHECK_S))
    calls = 0

    async def meanwhile(conn: AsyncConnection, *, campaign_id: int) -> datetime | None:
        nonlocal calls
        earliest = await earliest_ready_at(conn, campaign_id=campaign_id)
        calls += 1
        if calls == 1:
            await during_query(worker)
        return earliest

    monkeypatch.setattr(campaign_module, "earliest_ready_at", meanwhile)
    return worker


async def test_a_stop_during_the_idle_leasers_query_is_not_lost(
    database: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stop(worker: Worker) -> None:
        worker.request_stop()

    worker = await _idle_worker(database, database_url, monkeypatch, stop)
    assert await asyncio.wait_for(worker.run(), IDLE_RECHECK_S / 4) == 0


async def test_contacts_added_during_the_idle_leasers_query_are_leased_at_once(
    database: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def add_contact(worker: Worker) -> None:
        async with database.begin() as conn:
            campaign = (await conn.execute(text("SELECT id FROM campaigns"))).scalar_one()
            await seed_contacts(conn, campaign, [SeedContact("+79131234568", "s-2")])
        worker.runners[campaign].on_contacts()  # as its NOTIFY would, arriving now

    worker = await _idle_worker(database, database_url, monkeypatch, add_contact)
    async with asyncio.TaskGroup() as tg:
        running = tg.create_task(worker.run())
        try:
            async with asyncio.timeout(IDLE_RECHECK_S / 4):
                while await _state(database, "+79131234568") != "dialing":  # noqa: ASYNC110 - the database is polled
                    await asyncio.sleep(0.05)
        finally:
            worker.request_stop()
    assert running.result() == 0


async def _state(database: AsyncEngine, phone: str) -> str | None:
    async with database.connect() as conn:
        state = (await conn.execute(text("SELECT state FROM contacts WHERE phone = :p"), {"p": phone})).scalar()
    return None if state is None else str(state)


@pytest.mark.asterisk
async def test_a_server_wanted_while_another_connects_is_connected(
    database: AsyncEngine, asterisk: AsteriskSandbox
) -> None:
    pool = AmiPool(database, DialerMetrics(), Signal())
    async with LoopbackProxy(asterisk.host, asterisk.port) as slow:
        slow.freeze()  # the first server's banner is held back: its connection is under way
        first = parse_ami_url(f"ami://{asterisk.username}:{asterisk.secret}@127.0.0.1:{slow.port}")
        second = parse_ami_url(asterisk.ami_url)
        pool.want(first)
        async with asyncio.TaskGroup() as tg:
            running = tg.create_task(pool.run())
            await slow.wait_connections(1)
            pool.want(second)
            slow.thaw()
            try:
                async with asyncio.timeout(IDLE_RECHECK_S / 4):
                    while pool.connected_servers() != sorted([first.server, second.server]):  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
            finally:
                running.cancel()
                await pool.aclose()


@pytest.mark.asterisk
async def test_a_server_that_is_down_delays_no_other(database: AsyncEngine, asterisk: AsteriskSandbox) -> None:
    # Each first connection may take first_connect_timeout (30 s here): a server that is down, wanted
    # first, must not hold the others back for that long, nor on each retry.
    pool = AmiPool(database, DialerMetrics(), Signal(), options=AmiOptions(first_connect_timeout=30.0))
    async with LoopbackProxy(asterisk.host, asterisk.port) as down:
        down.freeze()  # accepts and never answers: a server that hangs, not one that refuses
        pool.want(parse_ami_url(f"ami://{asterisk.username}:{asterisk.secret}@127.0.0.1:{down.port}"))
        up = parse_ami_url(asterisk.ami_url)
        pool.want(up)
        async with asyncio.TaskGroup() as tg:
            running = tg.create_task(pool.run())
            try:
                async with asyncio.timeout(10):
                    while pool.connected_servers() != [up.server]:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
            finally:
                running.cancel()
                await pool.aclose()


async def test_a_named_draft_campaign_is_said_to_wait_for_its_start(
    database: AsyncEngine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=f"ami://u:s@127.0.0.1:{free_port()}")
        await seed_campaign(conn, company, "spring", trunk_ids=[trunk], status="draft")
    worker = Worker(database, database_url, WorkerOptions(campaigns=("spring",), until_done=True))
    with caplog.at_level(logging.INFO, logger="dialer.worker.process"):
        async with asyncio.TaskGroup() as tg:
            running = tg.create_task(worker.run())
            await worker.started.wait()
            worker.request_stop()
            assert await running == 0
    said = [r.getMessage() for r in caplog.records if "draft" in r.getMessage()]
    assert said == ["campaign spring is a draft: nothing is dialled until `dialer campaigns start spring`"]
