"""Status changes in PostgreSQL: legal transitions, NOTIFY to workers, finish and reopen."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.campaigns import change_status, get_campaign
from dialer.db.models import CampaignStatus
from dialer.db.session import make_sessionmaker, session_scope
from dialer.errors import ConflictError, InvalidValueError
from dialer.lifecycle import NOTIFY_CHANNEL, campaign_dialable, finish_if_exhausted, reopen_if_finished
from dialer.trunks import update_trunk
from tests.integration.control.helpers import make_campaign, make_trunk


async def _notifications(database_url: str, actions: list[str], engine: AsyncEngine) -> list[str]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        for action in actions:
            async with session_scope(engine) as session:
                await change_status(session, "c", action)
        return [n.payload async for n in listener.notifies(timeout=10, stop_after=len(actions))]


async def test_each_status_change_notifies_workers_with_the_campaign_id(
    database: AsyncEngine, database_url: str
) -> None:
    await make_trunk(database)
    config = await make_campaign(database, "c")
    payloads = await _notifications(database_url, ["start", "pause", "resume", "stop"], database)
    assert payloads == [str(config.id)] * 4
    async with session_scope(database) as session:
        assert (await get_campaign(session, "c")).status is CampaignStatus.STOPPED


async def test_illegal_change_rolls_back_and_notifies_nobody(database: AsyncEngine, database_url: str) -> None:
    await make_trunk(database)
    await make_campaign(database, "c")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        with pytest.raises(ConflictError, match="is draft: cannot pause"):
            async with session_scope(database) as session:
                await change_status(session, "c", "pause")
        assert [n async for n in listener.notifies(timeout=0.5)] == []
    with pytest.raises(InvalidValueError, match="decided by the engine"):
        async with session_scope(database) as session:
            await change_status(session, "c", "finish")


async def _add_contact(engine: AsyncEngine, campaign_id: int, phone: str, state: str = "ready") -> None:
    async with session_scope(engine) as session:
        await session.execute(
            text(
                "INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source, state)"
                " VALUES (:c, :p, :k, 'registry', :s)"
            ),
            {"c": campaign_id, "p": phone, "k": phone, "s": state},
        )


async def test_finish_when_exhausted_and_reopen_on_new_contacts(database: AsyncEngine) -> None:
    await make_trunk(database)
    config = await make_campaign(database, "c")
    await _add_contact(database, config.id, "+79130000001", "dialing")
    async with session_scope(database) as session:
        assert not await finish_if_exhausted(session, config.id)  # draft: not running
        await change_status(session, "c", "start")
    async with session_scope(database) as session:
        assert not await finish_if_exhausted(session, config.id)  # a call is in flight
        await session.execute(text("UPDATE contacts SET state = 'done'"))
    async with session_scope(database) as session:
        assert not await reopen_if_finished(session, config.id)  # running, not finished
        assert await finish_if_exhausted(session, config.id)
        assert not await finish_if_exhausted(session, config.id)  # only once
    async with session_scope(database) as session:
        assert not await reopen_if_finished(session, config.id)  # nothing new to dial
    await _add_contact(database, config.id, "+79130000002")
    async with session_scope(database) as session:
        assert await reopen_if_finished(session, config.id)
        assert (await get_campaign(session, "c")).status is CampaignStatus.RUNNING


async def test_pause_waits_for_an_origination_in_progress_and_blocks_later_ones(database: AsyncEngine) -> None:
    await make_trunk(database)
    config = await make_campaign(database, "c")
    async with session_scope(database) as session:
        await change_status(session, "c", "start")
    sessions = make_sessionmaker(database)
    async with sessions() as origination:
        await origination.begin()
        assert await campaign_dialable(origination, config.id)  # holds FOR KEY SHARE until commit
        async with asyncio.TaskGroup() as tasks:
            pause = tasks.create_task(_pause(database))
            await _until_someone_waits_on_a_lock(database)
            assert not pause.done(), "pause must wait for the origination that already checked the status"
            await origination.commit()
    assert pause.result() is CampaignStatus.PAUSED
    async with session_scope(database) as session:
        assert not await campaign_dialable(session, config.id)


async def _pause(engine: AsyncEngine) -> CampaignStatus:
    async with session_scope(engine) as session:
        return await change_status(session, "c", "pause")


async def _until_someone_waits_on_a_lock(engine: AsyncEngine) -> None:
    async with asyncio.timeout(30):
        while True:
            async with session_scope(engine) as session:
                waiting = await session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity"
                         " WHERE datname = current_database() AND wait_event_type = 'Lock'")
                )
            if waiting:
                return
            await asyncio.sleep(0.05)  # pg_stat_activity has no wake-up to await


async def test_trunk_change_notifies_the_campaigns_that_use_it(database: AsyncEngine, database_url: str) -> None:
    await make_trunk(database, "t1")
    await make_trunk(database, "t2")
    first = await make_campaign(database, "a", trunks=("t1",))
    await make_campaign(database, "b", trunks=("t2",))
    third = await make_campaign(database, "c", trunks=("t2", "t1"))
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        async with session_scope(database) as session:
            updated = await update_trunk(session, "t1", {"cps": "2", "enabled": False})
        payloads = sorted([n.payload async for n in listener.notifies(timeout=10, stop_after=2)])
    assert payloads == sorted([str(first.id), str(third.id)])
    assert (updated.cps_limit, updated.enabled) == (2, False)
