"""Reading PostgreSQL's clock against the worker's (dialer.worker.clock) on the real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from dialer.db.url import libpq_url
from dialer.worker.clock import read_clock


async def test_the_offset_is_the_workers_error(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        same = await read_clock(conn, lambda: datetime.now(UTC))
        ahead = await read_clock(conn, lambda: datetime.now(UTC) + timedelta(seconds=30))
        behind = await read_clock(conn, lambda: datetime.now(UTC) - timedelta(seconds=5))
    assert abs(same.offset_s) < 0.5 and 0 <= same.uncertainty_s < 0.5
    assert -30.5 < ahead.offset_s < -29.5 and ahead.beyond(2.0)
    assert 4.5 < behind.offset_s < 5.5 and behind.beyond(2.0) and not behind.beyond(10.0)
