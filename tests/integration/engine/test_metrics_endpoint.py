"""A running worker serves /metrics and /healthz on its metrics port (cdr.MetricsServer in its TaskGroup);
/healthz says 503 with the reason when no Asterisk server is connected."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.metrics import DialerMetrics
from dialer.db.session import make_engine
from dialer.pacing import Signal
from dialer.worker import Worker, WorkerOptions
from dialer.worker.health import worker_health
from dialer.worker.lanes import AmiPool
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.engine.seed import (
    FAST_RETRIES,
    SeedContact,
    fast_settings,
    rules_toml,
    seed_campaign,
    seed_company,
    seed_contacts,
    seed_trunk,
)
from tests.ports import free_port

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


async def _seed(database: AsyncEngine, ami_url: str) -> None:
    async with database.begin() as conn:
        company = await seed_company(conn)
        trunk = await seed_trunk(conn, ami_url=ami_url, cps=5, max_channels=5)
        campaign = await seed_campaign(conn, company, trunk_ids=[trunk], rules="file:test.toml",
                                       rules_toml=rules_toml(day=5), retry_delays=FAST_RETRIES,
                                       settings=fast_settings(), dial_timeout_s=5)
        await seed_contacts(conn, campaign, [SeedContact(f"+7913668{i:04d}7", f"p-{i}", "Asia/Omsk")
                                             for i in range(3)])


async def _get_until(client: httpx.AsyncClient, path: str, status: int, within_s: float = 30) -> httpx.Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        response = await client.get(path)
        if response.status_code == status or loop.time() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_metrics_and_healthz_of_a_running_worker(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    await _seed(database, asterisk.ami_url)
    port = free_port()
    worker = Worker(database, database_url, WorkerOptions(campaigns=("camp",), lease_seconds=10, metrics_port=port))
    async with asyncio.TaskGroup() as tg, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        running = tg.create_task(worker.run())
        await worker.started.wait()
        healthy = await _get_until(client, "/healthz", 200)
        metrics = await client.get("/metrics")
        worker.request_stop()
        assert await running == 0
    assert healthy.status_code == 200 and healthy.text == "ok\n", healthy.text
    assert metrics.status_code == 200
    assert "dialer_ami_connected{" in metrics.text and "dialer_originations_total" in metrics.text
    with pytest.raises(httpx.ConnectError):  # the endpoint ends with the worker
        async with httpx.AsyncClient() as after:
            await after.get(f"http://127.0.0.1:{port}/healthz")


async def test_healthz_is_503_while_no_asterisk_is_connected(
    database: AsyncEngine, database_url: str, asterisk: AsteriskSandbox
) -> None:
    await _seed(database, f"ami://dialer:dialer@127.0.0.1:{free_port()}")  # nobody listens there
    port = free_port()
    worker = Worker(database, database_url, WorkerOptions(campaigns=("camp",), lease_seconds=10, metrics_port=port))
    async with asyncio.TaskGroup() as tg, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        running = tg.create_task(worker.run())
        await worker.started.wait()
        unhealthy = await client.get("/healthz")
        metrics = await client.get("/metrics")
        worker.request_stop()
        assert await running == 0
    assert unhealthy.status_code == 503, unhealthy.text
    assert "no AMI server connected" in unhealthy.text and "database" not in unhealthy.text
    assert metrics.status_code == 200


async def test_a_metrics_port_in_use_fails_the_start_naming_it(database: AsyncEngine, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        worker = Worker(database, database_url, WorkerOptions(metrics_port=port))
        with pytest.raises(Exception, match=f"--metrics-port {port}"):
            await worker.run()


async def test_health_names_an_unreachable_database() -> None:
    engine = make_engine(f"postgresql+psycopg://dialer@127.0.0.1:{free_port()}/none")  # nobody listens there
    try:
        verdict = await worker_health(engine, AmiPool(engine, DialerMetrics(), Signal()))
    finally:
        await engine.dispose()
    assert verdict is not None and "database unreachable" in verdict and "no AMI server connected" in verdict
