"""Wake-ups from PostgreSQL: `LISTEN dialer_contacts` and `LISTEN dialer_campaigns`.

One dedicated connection per worker. The payload is a campaign id. If the connection drops, the
listener reconnects with backoff and then calls `on_resync()`: notifications sent meanwhile are
lost, so everything is looked at again once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg

from dialer.db.session import APPLICATION_NAME
from dialer.db.url import libpq_url
from dialer.leasing import CAMPAIGNS_CHANNEL, CONTACTS_CHANNEL

__all__ = ["Notifications"]

log = logging.getLogger(__name__)


class Notifications:
    def __init__(
        self,
        database_url: str,
        *,
        application_name: str = APPLICATION_NAME,
        on_contacts: Callable[[int], None],
        on_campaign: Callable[[int], None],
        on_resync: Callable[[], None],
        backoff_max: float = 10.0,
    ) -> None:
        self._url = libpq_url(database_url)
        self._application_name = application_name
        self._on_contacts = on_contacts
        self._on_campaign = on_campaign
        self._on_resync = on_resync
        self._backoff_max = backoff_max
        self.listening = asyncio.Event()

    async def run(self) -> None:
        delay = 0.5
        first = True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, fallback_application_name=self._application_name)
            except psycopg.OperationalError as exc:
                log.warning("LISTEN connection failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(self._backoff_max, delay * 2)
                continue
            try:
                # Also sees notifications psycopg reads while it runs a statement on this connection.
                conn.add_notify_handler(lambda note: self._dispatch(note.channel, note.payload))
                await conn.execute(f"LISTEN {CONTACTS_CHANNEL}")
                await conn.execute(f"LISTEN {CAMPAIGNS_CHANNEL}")
                self.listening.set()
                delay = 0.5
                if not first:
                    self._on_resync()
                first = False
                await self._receive(conn)
            except psycopg.OperationalError as exc:
                log.warning("LISTEN connection lost: %s", exc)
                self.listening.clear()
                first = False
            finally:
                await conn.close()

    @staticmethod
    async def _receive(conn: psycopg.AsyncConnection[Any]) -> None:
        """Hand notifications to the connection's notify handlers as they arrive, woken by the
        socket only. (psycopg's `notifies()` wakes up every 0.1 s to check for a Ctrl-C: two epoll
        changes and a timer each time, all day long on an idle worker.) Returns never; raises
        psycopg.OperationalError when the connection is lost."""
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        fd = conn.fileno()
        pgconn = conn.pgconn
        loop.add_reader(fd, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                pgconn.consume_input()  # OperationalError when the server or the link is gone
                while (note := pgconn.notifies()) is not None:
                    if pgconn.notify_handler is not None:
                        pgconn.notify_handler(note)
        finally:
            loop.remove_reader(fd)

    def _dispatch(self, channel: str, payload: str) -> None:
        try:
            campaign_id = int(payload)
        except ValueError:
            log.warning("ignored NOTIFY %s with a payload that is not a campaign id: %r", channel, payload)
            return
        try:
            if channel == CONTACTS_CHANNEL:
                self._on_contacts(campaign_id)
            elif channel == CAMPAIGNS_CHANNEL:
                self._on_campaign(campaign_id)
        except Exception:  # a consumer bug must not stop the wake-ups of every campaign
            log.exception("NOTIFY %s %s: handler failed", channel, payload)
