"""The HTTP API against the real app and real PostgreSQL (httpx.ASGITransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.api import create_app

AMI = "ami://dialer:dialer@127.0.0.1:5038"
DIAL = "Local/{number}@pstn-sim"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def client(database: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dialer.test") as http:
        yield http


async def add_trunk(client: httpx.AsyncClient, name: str = "sim") -> None:
    response = await client.post("/trunks", json={"name": name, "ami": AMI, "dial": DIAL, "cps": 5})
    assert response.status_code == 201, response.text


def error(response: httpx.Response, status: int) -> dict[str, str | None]:
    assert response.status_code == status, response.text
    body: dict[str, dict[str, str | None]] = response.json()
    return body["error"]


async def test_trunks_crud(client: httpx.AsyncClient) -> None:
    await add_trunk(client)
    listed = (await client.get("/trunks")).json()
    assert [(t["name"], t["ami"], t["cps"]) for t in listed] == [("sim", "ami://dialer:***@127.0.0.1:5038", 5.0)]
    assert (await client.get("/trunks/sim")).json()["dial"] == DIAL
    assert error(await client.post("/trunks", json={"name": "sim", "ami": AMI, "dial": DIAL}), 409)["message"] == (
        "trunk 'sim' already exists"
    )
    bad = error(await client.post("/trunks", json={"name": "t", "ami": "ami://u@h:1", "dial": DIAL}), 422)
    assert bad["field"] == "ami" and "secret is missing" in str(bad["message"])
    bad = error(await client.post("/trunks", json={"name": "t", "ami": AMI, "dial": "Local/1@x"}), 422)
    assert bad["field"] == "dial"
    bad = error(await client.post("/trunks", json={"name": "t", "ami": AMI}), 422)
    assert bad["field"] == "dial" and "Field required" in str(bad["message"])
    bad = error(await client.post("/trunks", json={"name": "t", "ami": AMI, "dial": DIAL, "cpss": 1}), 422)
    assert bad["field"] == "cpss"
    patched = await client.patch("/trunks/sim", json={"cps": "7.5", "enabled": False, "caller_id": "+7495"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["cps"], patched.json()["enabled"], patched.json()["caller_id"]) == (7.5, False, "+7495")
    assert error(await client.patch("/trunks/sim", json={"dial": "Local/x"}), 422)["field"] == "dial"
    assert error(await client.patch("/trunks/sim", json={"cps": None}), 422)["field"] == "cps"
    assert error(await client.patch("/trunks/nope", json={"cps": 1}), 404)["type"] == "not_found"
    assert (await client.delete("/trunks/sim")).status_code == 204
    assert error(await client.get("/trunks/sim"), 404)["message"] == (
        "trunk 'sim' does not exist (see `dialer trunks list`)"
    )


async def test_campaign_crud_and_lifecycle(client: httpx.AsyncClient, database_url: str) -> None:
    await add_trunk(client, "sim")
    await add_trunk(client, "sim2")
    created = await client.post("/campaigns", json={
        "name": "debts", "trunks": ["sim"], "company": "acme", "rules": "fz230-law", "cps": 2,
        "retry": "busy=10m,no_answer=30m,congestion=2m", "machine": "complete", "schedule": "mon-fri 09:00-18:00",
    })
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["company"], body["rules"], body["cps"], body["machine"]) == (
        "draft", "acme", "fz230-law", 2.0, "complete"
    )
    shown = (await client.get("/campaigns/debts")).json()
    assert shown["stats"]["contacts_total"] == 0 and shown["schedule"] == "mon-fri 09:00-18:00"
    patched = await client.patch("/campaigns/debts", json={"trunks": ["sim2", "sim"], "cps": None, "max_attempts": 4})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["trunks"], patched.json()["cps"], patched.json()["max_attempts"]) == (
        ["sim2", "sim"], None, 4
    )
    # Retry delays as a JSON object too; a bare number is seconds.
    patched = await client.patch("/campaigns/debts", json={"retry": {"busy": "5m", "no-answer": 5400}})
    assert patched.status_code == 200, patched.text
    assert {"busy=5m", "no_answer=1h30m", "congestion=2m"} <= set(patched.json()["retry"].split(","))
    assert error(await client.patch("/campaigns/debts", json={"max_attempts": None}), 422)["field"] == "max_attempts"
    assert error(await client.patch("/campaigns/debts", json={}), 422)["field"] == "body"
    assert shown["reached"] == "continue"
    patched = await client.patch("/campaigns/debts", json={"reached": "complete"})
    assert patched.status_code == 200 and patched.json()["reached"] == "complete", patched.text
    assert error(await client.patch("/campaigns/debts", json={"reached": None}), 422)["field"] == "reached"

    for action, status in [("start", "running"), ("pause", "paused"), ("resume", "running")]:
        response = await client.post(f"/campaigns/debts/{action}")
        assert response.json() == {"name": "debts", "status": status}, response.text
    conflict = error(await client.post("/campaigns/debts/start"), 409)
    assert conflict["type"] == "conflict" and "is running: cannot start" in str(conflict["message"])
    assert error(await client.delete("/campaigns/debts"), 409)["type"] == "conflict"
    assert (await client.post("/campaigns/debts/stop")).json()["status"] == "stopped"
    assert error(await client.patch("/campaigns/debts", json={"cps": 1}), 409)["type"] == "conflict"
    assert (await client.post("/campaigns/debts/finish")).status_code in (404, 405)
    assert [c["name"] for c in (await client.get("/campaigns")).json()] == ["debts"]
    assert (await client.delete("/campaigns/debts")).status_code == 204
    assert error(await client.get("/campaigns/debts"), 404)["type"] == "not_found"
    assert error(await client.get("/campaigns/debts/stats"), 404)["type"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"trunks": ["nope"]}, "trunk", "unknown trunk(s) 'nope'"),
        ({"trunks": []}, "trunk", "at least one trunk"),
        ({"trunks": ["sim"], "retry": "busy=often"}, "retry busy", "'often' is not a duration"),
        ({"trunks": ["sim"], "rules": "fz999"}, "rules", "unknown rule set 'fz999'"),
        ({"trunks": ["sim"], "rules": "/etc/passwd.toml"}, "rules", "send the file's text in rules_toml"),
        ({"trunks": ["sim"], "rules": "x.toml", "rules_toml": "[windows]\nbad = 1\n"}, "rules", "unknown key(s) bad"),
        ({"trunks": ["sim"], "rules_toml": "a = " + "[" * 3000 + "]" * 3000}, "rules", "nested too deeply"),
        ({"trunks": ["sim"], "retry": "busy=99999999999999999999d"}, "retry busy", "limit of 30 days"),
        ({"trunks": ["sim"], "retry": {"busy": "often"}}, "retry busy", "'often' is not a duration"),
        ({"trunks": ["sim"], "retry": {"busy": 1.5}}, "retry", "a whole number of seconds"),
        ({"trunks": ["sim"], "retry": {"busy": True}}, "retry", "a whole number of seconds"),
        ({"trunks": ["sim"], "retry": {}}, "retry", "empty"),
        ({"trunks": ["sim"], "caller_id": "1\x7f"}, "caller_id", "must not contain control characters"),
        ({"trunks": ["sim"], "caller_id": "1\u0085"}, "caller_id", "must not contain control characters"),
        ({"trunks": ["sim"], "cps": -1}, "cps", "must be greater than zero"),
        ({"trunks": ["sim"], "cps": True}, "cps", "expected a number, got true"),
        ({"trunks": ["sim"], "amd": "off"}, "amd", "valid boolean"),
        ({"trunks": ["sim"], "reached": "always"}, "reached", "'always' is not one of continue|complete"),
        ({"trunks": ["sim"], "cps": "fast"}, "cps", "is not a number"),
        ({"trunks": ["sim"], "max_channels": "many"}, "max_channels", "valid integer"),
        ({"trunks": ["sim"], "max_channels": "10"}, "max_channels", "valid integer"),
        ({"trunks": ["sim"], "max_attempts": True}, "max_attempts", "valid integer"),
        ({"trunks": ["sim"], "dial_timeout": 30.0}, "dial_timeout", "valid integer"),
        ({"trunks": ["sim"], "company": ""}, "company", "must not be empty"),
        ({"trunks": ["sim"], "schedule": "always"}, "schedule", "DAYS HH:MM-HH:MM"),
        ({"trunks": ["sim"], "name": "a/b"}, "name", "must not contain '/'"),
    ],
)
async def test_campaign_create_rejects_and_stores_nothing(
    client: httpx.AsyncClient, database_url: str, body: dict[str, object], field: str, message: str
) -> None:
    await add_trunk(client)
    problem = error(await client.post("/campaigns", json={"name": "c", **body}), 422)
    assert problem["field"] == field
    assert message in str(problem["message"])
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM companies").fetchone() == (0,)


async def test_campaign_rules_toml_over_the_api(client: httpx.AsyncClient) -> None:
    await add_trunk(client)
    toml = 'extends = "fz230-law"\n[caps]\nday = 1\n'
    response = await client.post("/campaigns", json={
        "name": "c", "trunks": ["sim"], "rules": "acme.toml", "rules_toml": toml,
    })
    assert response.status_code == 201, response.text
    assert response.json()["rules"] == "file:acme.toml"


@pytest.mark.parametrize("label", ["..", ".", "a\u0000b.toml", "../../etc/x.toml", "fz230-law", "x" * 300 + ".toml"])
async def test_a_rules_toml_label_is_only_a_label(client: httpx.AsyncClient, label: str) -> None:
    await add_trunk(client)
    toml = 'extends = "fz230-law"\n'
    body = {"name": "c", "trunks": ["sim"], "rules": label, "rules_toml": toml}
    response = await client.post("/campaigns", json=body)
    assert response.status_code == 201, response.text
    stored = response.json()["rules"]
    assert stored.startswith("file:") and "/" not in stored and "\x00" not in stored and len(stored) <= 64


async def test_rules_from_a_file_need_their_text(client: httpx.AsyncClient) -> None:
    await add_trunk(client)
    toml = 'extends = "fz230-law"\n'
    assert (await client.post("/campaigns", json={"name": "c", "trunks": ["sim"]})).status_code == 201
    patched = await client.patch("/campaigns/c", json={"rules_toml": toml})
    assert patched.status_code == 200, patched.text
    assert patched.json()["rules"] == "file:rules.toml"  # not the preset's name it replaced
    problem = error(await client.patch("/campaigns/c", json={"rules_toml": None}), 422)
    assert problem["field"] == "rules" and "give its text (rules_toml) or a preset" in str(problem["message"])


@pytest.mark.parametrize("zone", ["Europe", "Asia/", "localtime", "Factory", "posixrules", "UTC+3", "../etc/passwd"])
async def test_a_company_zone_must_name_a_place(client: httpx.AsyncClient, zone: str) -> None:
    problem = error(await client.post("/companies", json={"name": "b", "timezone": zone}), 422)
    assert problem["field"] == "timezone" and "is not an IANA time zone" in str(problem["message"])


async def test_companies(client: httpx.AsyncClient) -> None:
    response = await client.post("/companies", json={"name": "acme", "timezone": "Asia/Omsk"})
    assert response.status_code == 201, response.text
    assert error(await client.post("/companies", json={"name": "acme"}), 409)["type"] == "conflict"
    assert error(await client.post("/companies", json={"name": "b", "timezone": "UTC+3"}), 422)["field"] == "timezone"
    assert error(await client.post("/companies", json={"name": "b", "parent": "zz"}), 404)["type"] == "not_found"
    assert [c["name"] for c in (await client.get("/companies")).json()] == ["acme"]
    assert (await client.get("/companies/acme")).json()["timezone"] == "Asia/Omsk"


async def test_contacts_why_and_stats(client: httpx.AsyncClient, database_url: str) -> None:
    await add_trunk(client)
    assert (await client.post("/campaigns", json={"name": "c", "trunks": ["sim"]})).status_code == 201
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source, timezone, next_attempt_at)"
            " SELECT id, '+79131234567', 'k', 'registry', 'Asia/Novosibirsk', %s FROM campaigns",
            (NOW,),
        )
    why = await client.get("/contacts/+79131234567/why", params={"campaign": "c"})
    assert why.status_code == 200, why.text
    [report] = why.json()
    assert report["next_dial"]["explanation"] == "not before the campaign is started (it is draft)"
    assert report["next_dial"]["at_local"] == "2026-03-02T16:00:00+07:00"
    assert error(await client.get("/contacts/123/why"), 422)["field"] == "phone"
    assert error(await client.get("/contacts/+79130000000/why"), 404)["type"] == "not_found"
    stats = (await client.get("/campaigns/c/stats")).json()
    assert stats["contacts"]["ready"] == 1 and stats["ready_now"] == 1
