"""Call list upload through the API: the same import as `dialer lists import`, real PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.api import create_app

AMI = "ami://dialer:dialer@127.0.0.1:5038"

GOOD_CSV = (
    "телефон;ФИО;additional;сумма\r\n"
    "8 (913) 012-34-56;Иванов;D-1;100\r\n"
    "+7 913 012 34 57;Петров;D-2;200\r\n"
    "12;Сидоров;D-3;300\r\n"
    "89130123456;Иванов;D-1;100\r\n"
).encode("cp1251")


@pytest.fixture
async def client(database: AsyncEngine, tmp_path: Path, def_registry_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, registry_paths=[def_registry_path], reports_dir=tmp_path / "reports")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as http:
        trunk = {"name": "sim", "ami": AMI, "dial": "Local/{number}@x"}
        assert (await http.post("/trunks", json=trunk)).status_code == 201
        assert (await http.post("/campaigns", json={"name": "c", "trunks": ["sim"]})).status_code == 201
        yield http


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


async def test_upload_imports_reports_and_lists(client: httpx.AsyncClient, database_url: str) -> None:
    response = await client.post("/campaigns/c/lists", files={"file": ("debtors.csv", GOOD_CSV, "text/csv")})
    assert response.status_code == 201, response.text
    summary = response.json()
    assert {k: summary[k] for k in ("total", "imported", "duplicates", "invalid", "dnc", "timezone_unknown")} == {
        "total": 4, "imported": 2, "duplicates": 1, "invalid": 1, "dnc": 0, "timezone_unknown": 0,
    }
    assert summary["filename"] == "debtors.csv"
    assert summary["unread_sheets"] == []
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT phone, subscriber_key, timezone, extra->>'сумма' FROM contacts ORDER BY phone"
        ).fetchall()
    assert rows == [
        ("+79130123456", "D-1", "Asia/Novosibirsk", "100"),
        ("+79130123457", "D-2", "Asia/Novosibirsk", "200"),
    ]

    again = await client.post("/campaigns/c/lists", files={"file": ("debtors.csv", GOOD_CSV, "text/csv")})
    assert again.status_code == 201 and again.json()["imported"] == 0  # idempotent

    lists = (await client.get("/campaigns/c/lists")).json()
    assert [item["filename"] for item in lists] == ["debtors.csv", "debtors.csv"]
    report = await client.get(f"/campaigns/c/lists/{summary['call_list_id']}/rejects")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rejected = list(csv.reader(io.StringIO(report.text)))
    assert any("12" in row for row in rejected[1:])
    assert (await client.get("/campaigns/c/lists/999/rejects")).status_code == 404


async def test_upload_reopens_a_finished_campaign_and_wakes_workers(
    client: httpx.AsyncClient, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE campaigns SET status = 'finished'")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute("LISTEN dialer_contacts")
        await listener.execute("LISTEN dialer_campaigns")
        response = await client.post("/campaigns/c/lists", files={"file": ("a.csv", GOOD_CSV, "text/csv")})
        assert response.status_code == 201, response.text
        channels = sorted([n.channel async for n in listener.notifies(timeout=10, stop_after=2)])
    assert channels == ["dialer_campaigns", "dialer_contacts"]
    assert (await client.get("/campaigns/c")).json()["status"] == "running"


@pytest.mark.parametrize(
    ("content", "name", "status", "kind"),
    [
        (b"name;sum\r\nIvan;1\r\n", "x.csv", 422, "invalid_file"),  # no phone column
        (b"", "empty.csv", 422, "invalid_file"),
        (b"PK\x03\x04not really a workbook", "x.xlsx", 422, "invalid_file"),
    ],
)
async def test_bad_files_store_nothing(
    client: httpx.AsyncClient, database_url: str, content: bytes, name: str, status: int, kind: str
) -> None:
    response = await client.post("/campaigns/c/lists", files={"file": (name, content, "application/octet-stream")})
    assert response.status_code == status, response.text
    problem = response.json()["error"]
    assert problem["type"] == kind and problem["field"] == "file" and problem["message"]
    assert _count(database_url, "SELECT count(*) FROM contacts") == 0
    assert _count(database_url, "SELECT count(*) FROM call_lists") == 0


async def test_upload_errors(client: httpx.AsyncClient, database_url: str) -> None:
    unknown = await client.post("/campaigns/nope/lists", files={"file": ("a.csv", GOOD_CSV, "text/csv")})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found"
    missing = await client.post("/campaigns/c/lists", data={"sheet": "x"})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "file"
    column = await client.post(
        "/campaigns/c/lists", files={"file": ("a.csv", GOOD_CSV, "text/csv")}, data={"subscriber_column": "nope"}
    )
    assert column.status_code == 422 and "nope" in column.json()["error"]["message"]
    sheet = await client.post(
        "/campaigns/c/lists", files={"file": ("a.csv", GOOD_CSV, "text/csv")}, data={"sheet": "Должники"}
    )
    assert sheet.status_code == 422 and "CSV" in sheet.json()["error"]["message"], sheet.text
    assert _count(database_url, "SELECT count(*) FROM contacts") == 0


async def test_an_upload_over_the_limit_is_413_and_stores_nothing(database: AsyncEngine, database_url: str,
                                                                   tmp_path: Path, def_registry_path: Path) -> None:
    app = create_app(database, registry_paths=[def_registry_path], reports_dir=tmp_path / "reports",
                     max_body_bytes=4096)
    big = ("телефон\n" + "".join(f"8913{i:07d}\n" for i in range(1000))).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as http:
        trunk = {"name": "sim", "ami": AMI, "dial": "Local/{number}@x"}
        assert (await http.post("/trunks", json=trunk)).status_code == 201
        assert (await http.post("/campaigns", json={"name": "c", "trunks": ["sim"]})).status_code == 201
        declared = await http.post("/campaigns/c/lists", files={"file": ("big.csv", big, "text/csv")})

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is met while reading
            boundary = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
            yield boundary
            for start in range(0, len(big), 1000):
                yield big[start:start + 1000]
            yield b"\r\n--b--\r\n"

        streamed = await http.post("/campaigns/c/lists", content=chunks(),
                                   headers={"content-type": "multipart/form-data; boundary=b"})
        small = await http.post("/campaigns/c/lists", files={"file": ("small.csv", big[:1000], "text/csv")})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["error"] == {
            "type": "too_large", "field": "body",
            "message": "the request body is larger than 4,096 bytes (setting api_max_upload_mb)"}
    assert small.status_code == 201, small.text
    assert _count(database_url, "SELECT count(*) FROM call_lists") == 1
