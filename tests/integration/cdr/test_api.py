"""The cdr routes of the HTTP API: health, metrics, report panels (same SQL as the dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr import CdrRecord, CdrWriter
from cdr.api import router
from cdr.queries import Period, calls_by_status, run_query
from dialer.api import create_app
from tests.integration.cdr.factories import tenant

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def client(engine: AsyncEngine) -> httpx.AsyncClient:
    app = create_app(engine, extra_routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_health_and_metrics(database: AsyncEngine) -> None:
    async with client(database) as http:
        health = await http.get("/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200
        assert "process_cpu_seconds_total" in metrics.text or "python_info" in metrics.text


async def test_health_reports_an_unreachable_database() -> None:
    from dialer.db.session import make_engine

    dead = make_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        async with client(dead) as http:
            response = await http.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unhealthy"
    finally:
        await dead.dispose()


async def test_report_rows_are_the_panel_query(database: AsyncEngine) -> None:
    async with database.begin() as conn:
        t = await tenant(conn, timezone="Europe/Moscow")
    writer = CdrWriter(database)
    for i, outcome in enumerate(["answered", "busy", "busy", "no_answer"]):
        writer.submit(CdrRecord(channel_id=f"api-{i}", phone="+79001234567", outcome=outcome,
                                created_at=NOW - timedelta(minutes=5 + i), company_id=t.company_id))
    await writer.aclose()
    async with client(database) as http:
        listing = (await http.get("/reports")).json()
        assert {"key": "calls_by_status_15m", "title": "Calls by status, last 15 minutes",
                "source": "cdr.queries.calls_by_status(Period.LAST_15_MIN)"} in listing
        response = await http.get("/reports/calls_by_status_15m",
                                  params={"company_id": t.company_id, "at": NOW.isoformat()})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["rows"] == [{"status": "busy", "calls": 2}, {"status": "answered", "calls": 1},
                                {"status": "no_answer", "calls": 1}]
        assert body["timezone"] == "Europe/Moscow"
        async with database.connect() as conn:
            direct = await run_query(conn, calls_by_status(Period.LAST_15_MIN), company_id=t.company_id, now=NOW)
        assert body["rows"] == direct
        assert (await http.get("/reports/nope", params={"company_id": 1})).status_code == 404
        assert (await http.get("/reports/calls_by_status_15m", params={"company_id": 999})).status_code == 404
        assert (await http.get("/reports/calls_by_status_15m")).status_code == 422
        naive = await http.get("/reports/calls_by_status_15m", params={"company_id": t.company_id,
                                                                      "at": "2026-11-20T12:00:00"})
        assert naive.status_code == 422
