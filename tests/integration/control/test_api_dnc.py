"""The do-not-call list through the API: the same as `dialer dnc add` / `dnc import`, real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.api import create_app

LIST_CSV = "телефон;ФИО\n89130000001;Иванов\n89130000002;Петров\n".encode("cp1251")


@pytest.fixture
async def client(database: AsyncEngine, tmp_path: Path, def_registry_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, registry_paths=[def_registry_path], reports_dir=tmp_path / "reports")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as http:
        trunk = {"name": "sim", "ami": "ami://dialer:dialer@127.0.0.1:5038", "dial": "Local/{number}@x"}
        assert (await http.post("/trunks", json=trunk)).status_code == 201
        assert (await http.post("/companies", json={"name": "acme"})).status_code == 201
        campaign = {"name": "c", "company": "acme", "trunks": ["sim"]}
        assert (await http.post("/campaigns", json=campaign)).status_code == 201, "campaign"
        yield http


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


async def test_numbers_are_listed_and_waiting_contacts_excluded(client: httpx.AsyncClient, database_url: str) -> None:
    upload = await client.post("/campaigns/c/lists", files={"file": ("list.csv", LIST_CSV, "text/csv")})
    assert upload.status_code == 201, upload.text

    added = await client.post("/companies/acme/dnc", json={"phones": ["8 (913) 000-00-01", "+79130000009"]})
    assert added.status_code == 200, added.text
    assert added.json() | {"invalid_examples": None} == {
        "company": "acme", "total": 2, "added": 2, "already": 0, "invalid": 0, "contacts_excluded": 1,
        "invalid_examples": None}
    stop = "ФИО;Телефон\nСидоров;89130000002\nКузнецов;12\n".encode()
    imported = await client.post("/companies/acme/dnc/file", files={"file": ("stop.csv", stop, "text/csv")})
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert (body["added"], body["invalid"], body["contacts_excluded"]) == (1, 1, 1)
    assert body["invalid_examples"][0] | {"message": ""} == {"row": 3, "column": "Телефон", "value": "12",
                                                             "message": ""}
    assert _rows(database_url, "SELECT phone, source FROM dnc ORDER BY phone") == [
        ("+79130000001", "api"), ("+79130000002", "file:stop.csv"), ("+79130000009", "api")]
    assert _rows(database_url, "SELECT state, count(*) FROM contacts GROUP BY 1") == [("excluded", 2)]

    listed = await client.get("/companies/acme/dnc", params={"phone": "8 913 000-00-02"})
    assert listed.status_code == 200, listed.text
    assert listed.json() | {"added_at": None} == {"phone": "+79130000002", "listed": True, "source": "file:stop.csv",
                                                  "added_at": None}
    assert (await client.get("/companies/acme/dnc", params={"phone": "+79130000005"})).json() == {
        "phone": "+79130000005", "listed": False}
    removed = await client.post("/companies/acme/dnc/remove", json={"phones": ["+79130000001", "+79130000005"]})
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"company": "acme", "total": 2, "removed": 1, "not_listed": 1, "contacts_restored": 1}
    assert _rows(database_url, "SELECT phone, state FROM contacts ORDER BY phone") == [
        ("+79130000001", "ready"), ("+79130000002", "excluded")]


async def test_bad_input_is_a_4xx_that_names_it_and_adds_nothing(client: httpx.AsyncClient,
                                                                 database_url: str) -> None:
    def error(response: httpx.Response, status: int) -> dict[str, str]:
        assert response.status_code == status, response.text
        return response.json()["error"]

    invalid = error(await client.post("/companies/acme/dnc", json={"phones": ["89130000001", "12345"]}), 422)
    assert invalid["field"] == "phones.1" and "'12345'" in invalid["message"] and "nothing added" in invalid["message"]
    assert error(await client.post("/companies/acme/dnc", json={"phones": []}), 422)["field"] == "phones"
    assert error(await client.post("/companies/acme/dnc", json={"numbers": ["89130000001"]}), 422)
    assert error(await client.get("/companies/acme/dnc", params={"phone": "12345"}), 422)["field"] == "phone"
    assert error(await client.get("/companies/acme/dnc"), 422)["field"] == "phone"
    assert error(await client.get("/companies/nope/dnc", params={"phone": "89130000001"}), 404)
    not_removed = error(await client.post("/companies/acme/dnc/remove", json={"phones": ["12345"]}), 422)
    assert not_removed["field"] == "phones.0" and "nothing removed" in not_removed["message"]
    assert error(await client.post("/companies/nope/dnc/remove", json={"phones": ["89130000001"]}), 404)
    unknown = error(await client.post("/companies/nope/dnc", json={"phones": ["89130000001"]}), 404)
    assert "'nope'" in unknown["message"]
    no_column = error(await client.post("/companies/acme/dnc/file",
                                        files={"file": ("x.csv", b"name;sum\nA;1\n", "text/csv")}), 422)
    assert no_column["field"] == "file" and "no phone column" in no_column["message"]
    assert _rows(database_url, "SELECT count(*) FROM dnc") == [(0,)]
