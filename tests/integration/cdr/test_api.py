"""The cdr routes of the HTTP API: health, metrics, report panels (same SQL as the dashboard)."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr import CdrRecord, CdrWriter
from cdr.api import router
from cdr.export import COLUMNS
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


async def test_cdr_export_downloads_the_cli_s_files(database: AsyncEngine, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.cdr.test_cli import seed

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where the API writes its files before sending
    await seed(database)
    async with client(database) as http:
        book = await http.get("/cdr/export", params={"campaign": "spring"})
        assert book.status_code == 200, book.text
        assert book.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert re.fullmatch(r'attachment; filename="cdr-spring-\d{8}T\d{6}Z\.xlsx"',
                            book.headers["content-disposition"])
        path = tmp_path / "cdr.xlsx"
        path.write_bytes(book.content)
        header, *rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("cdr").to_python()
        assert header == [name for name, _ in COLUMNS]
        assert sorted(r[header.index("channel_id")] for r in rows) == [f"s-{i}" for i in range(5)]

        table = await http.get("/cdr/export", params={"format": "csv", "since": "2026-11-20T08:00:00+03:00",
                                                      "until": "2026-11-20T07:30:00Z"})
        assert table.status_code == 200, table.text
        assert table.content.startswith(codecs.BOM_UTF8)
        lines = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
        assert lines[0] == [name for name, _ in COLUMNS]
        by_channel = {r[header.index("channel_id")]: r for r in lines[1:]}
        assert sorted(by_channel) == ["o-1", "s-0"]
        assert by_channel["s-0"][header.index("subscriber_key")] == "'=HYPERLINK(\"http://evil\",\"x\")"

        unknown = await http.get("/cdr/export", params={"campaign": "nope"})
        assert unknown.status_code == 404 and "'nope'" in unknown.json()["error"]["message"]
        naive = await http.get("/cdr/export", params={"since": "2026-11-20T08:00:00"})
        assert naive.status_code == 422 and naive.json()["error"]["field"] == "since"
        backwards = await http.get("/cdr/export", params={"since": "2026-11-21T00:00:00Z",
                                                          "until": "2026-11-20T00:00:00Z"})
        assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "since"
        bad_format = await http.get("/cdr/export", params={"format": "pdf"})
        assert bad_format.status_code == 422 and bad_format.json()["error"]["field"] == "format"
    assert os.listdir(spool) == [], "a temporary export was left behind"
