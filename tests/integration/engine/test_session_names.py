"""Our sessions are named in `pg_stat_activity` (a DBA can tell whose session holds what), unless the
URL names them itself."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.db.session import make_engine
from dialer.worker import Worker, WorkerOptions
from tests.integration.engine.seed import seed_campaign, seed_company, seed_trunk
from tests.ports import free_port


async def _names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"))).scalars())


async def test_a_worker_names_its_sessions_after_itself(database: AsyncEngine, database_url: str) -> None:
    async with database.begin() as conn:
        company = await seed_company(conn)
        # No Asterisk is needed: the worker starts and keeps retrying a server that is away.
        trunk = await seed_trunk(conn, ami_url=f"ami://u:s@127.0.0.1:{free_port()}")
        await seed_campaign(conn, company, trunk_ids=[trunk])
    engine = make_engine(database_url, application_name="dialer run")
    worker = Worker(engine, database_url, WorkerOptions(campaigns=("camp",)))
    try:
        async with asyncio.timeout(60), asyncio.TaskGroup() as tg:
            running = tg.create_task(worker.run())
            await worker.started.wait()
            names = await _names(database)
            worker.request_stop()
            assert await running == 0
    finally:
        await engine.dispose()
    assert worker.application_name == f"dialer {worker.worker_id}"
    assert worker.application_name in names, names  # the hot path's pool
    assert f"{worker.application_name} listen" in names, names
    assert "dialer run" in names, names


async def test_an_application_name_in_the_url_wins(database_url: str) -> None:
    for url, expected in ((database_url, "dialer api"), (f"{database_url}?application_name=billing", "billing")):
        engine = make_engine(url, application_name="dialer api")
        try:
            async with engine.connect() as conn:
                assert (await conn.execute(text("SHOW application_name"))).scalar_one() == expected
        finally:
            await engine.dispose()
