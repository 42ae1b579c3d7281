"""A worker whose database session is terminated while it starts (PostgreSQL restarting, an operator
killing sessions) retries the step and starts; a stop during that wait still exits 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.worker import Worker, WorkerOptions
from tests.integration.engine.seed import SeedContact, seed_campaign, seed_company, seed_contacts, seed_trunk
from tests.ports import free_port

STEP_TIMEOUT_S = 30.0


async def _worker(database: AsyncEngine, database_url: str) -> Worker:
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=f"ami://u:s@127.0.0.1:{free_port()}")
        campaign = await seed_campaign(conn, company, trunk_ids=[trunk])
        await seed_contacts(conn, campaign, [SeedContact("+79131234567", "s-1", next_attempt_offset_s=3600)])
    return Worker(database, database_url, WorkerOptions(campaigns=("camp",)))


async def _terminate_registration(locker: psycopg.AsyncConnection[object]) -> None:
    """With `workers` locked by `locker`, wait for the worker's registration to block on it, then
    terminate that session as `pg_terminate_backend` (or a server shutdown) would."""
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while True:
            await locker.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view inside the lock's transaction
            cur = await locker.execute(
                """SELECT pid FROM pg_stat_activity
                   WHERE wait_event_type = 'Lock' AND datname = current_database() AND query ILIKE '%workers%'""")
            blocked = [pid for (pid,) in await cur.fetchall()]
            if blocked:
                break
            await asyncio.sleep(0.02)
    for pid in blocked:
        await locker.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def _registered(database: AsyncEngine, worker: Worker) -> bool:
    async with database.connect() as conn:
        row = await conn.execute(text("SELECT 1 FROM workers WHERE id = :id"), {"id": worker.worker_id})
        return row.first() is not None


@contextlib.asynccontextmanager
async def _started_with_workers_locked(
    database: AsyncEngine, database_url: str
) -> AsyncIterator[tuple[Worker, psycopg.AsyncConnection[object], asyncio.Task[int]]]:
    """A worker started while `workers` is locked, its blocked registration's session terminated."""
    worker = await _worker(database, database_url)
    async with await psycopg.AsyncConnection.connect(database_url) as locker:
        await locker.execute("LOCK TABLE workers IN ACCESS EXCLUSIVE MODE")
        async with asyncio.TaskGroup() as tg:
            running = tg.create_task(worker.run())
            try:
                await _terminate_registration(locker)
                yield worker, locker, running
            finally:
                worker.request_stop()
                await locker.rollback()


async def test_a_session_terminated_during_registration_is_retried(
    database: AsyncEngine, database_url: str
) -> None:
    async with _started_with_workers_locked(database, database_url) as (worker, locker, running):
        await locker.commit()  # the lock is gone: the retried registration goes through
        await asyncio.wait_for(worker.started.wait(), STEP_TIMEOUT_S)
        assert await _registered(database, worker)
    assert running.result() == 0


async def test_a_stop_while_registration_waits_to_be_retried_exits_0(
    database: AsyncEngine, database_url: str
) -> None:
    async with _started_with_workers_locked(database, database_url) as (worker, _, running):
        worker.request_stop()
    assert running.result() == 0
    assert not worker.started.is_set()
