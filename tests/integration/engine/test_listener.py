"""The worker's LISTEN connection: notifications reach their handlers, a lost link resyncs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg

from dialer.db.url import libpq_url
from dialer.leasing import CAMPAIGNS_CHANNEL, CONTACTS_CHANNEL
from dialer.worker.listener import Notifications


async def test_notifications_arrive_and_a_dropped_link_reconnects_and_resyncs(database_url: str) -> None:
    contacts: list[int] = []
    campaigns: list[int] = []
    resyncs: list[None] = []
    changed = asyncio.Event()

    def record(into: list[int]) -> Callable[[int], None]:
        def handler(campaign_id: int) -> None:
            into.append(campaign_id)
            changed.set()
        return handler

    def resync() -> None:
        resyncs.append(None)
        changed.set()

    async def until(check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not check():
                changed.clear()
                await changed.wait()

    listener = Notifications(database_url, on_contacts=record(contacts), on_campaign=record(campaigns),
                             on_resync=resync, backoff_max=0.5)
    async with (
        await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as admin,
        asyncio.TaskGroup() as tg,
    ):
        task = tg.create_task(listener.run())
        await asyncio.wait_for(listener.listening.wait(), 10)
        await admin.execute("SELECT pg_notify(%s, '7'), pg_notify(%s, '3')", (CONTACTS_CHANNEL, CAMPAIGNS_CHANNEL))
        await admin.execute("SELECT pg_notify(%s, 'not-a-number')", (CONTACTS_CHANNEL,))
        await admin.execute("SELECT pg_notify(%s, '8')", (CONTACTS_CHANNEL,))
        await until(lambda: contacts == [7, 8] and campaigns == [3])
        assert resyncs == []
        # The server drops the LISTEN connection: the listener reconnects and asks for a resync.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN%%' AND datname = current_database()")
        await until(lambda: len(resyncs) == 1)
        await admin.execute("SELECT pg_notify(%s, '9')", (CONTACTS_CHANNEL,))
        await until(lambda: contacts == [7, 8, 9])
        task.cancel()
