"""Bad input over the HTTP API, found by fuzzing: always a 4xx in the product's error shape naming the
field, never a 500, and nothing already stored is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.api import create_app
from dialer.api.app import Plane
from dialer.db.session import session_scope
from dialer.trunks import get_trunk

AMI = "ami://u:s@127.0.0.1:5038"
DIAL = "Local/{number}@pstn-sim"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Routes that fail on purpose, to check the database-error safety net on its own.
probe = APIRouter(prefix="/probe")


@probe.get("/out-of-range")
async def out_of_range(plane: Plane) -> None:
    async with plane.tx() as session:
        await session.execute(text("INSERT INTO trunks (name, ami_url, dial_template) VALUES ('probe', 'a', 'b')"))
        await session.execute(text("SELECT CAST(:v AS integer)"), {"v": "99999999999"})


@probe.get("/bug")
async def bug(plane: Plane) -> None:
    async with plane.tx() as session:
        await session.execute(text("SELECT 'a bug' AS"))  # 42601 syntax_error: no user's fault


@probe.get("/division")
async def division(plane: Plane) -> None:
    async with plane.tx() as session:
        await session.execute(text("SELECT 1/0"))


@pytest.fixture
async def client(database: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, clock=lambda: NOW, extra_routers=[probe])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as http:
        yield http


@pytest.fixture
async def seeded(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Trunk t1 and campaign c1, as in the fuzzing reports."""
    response = await client.post("/trunks", json={"name": "t1", "ami": AMI, "dial": DIAL, "caller_id": "+7495"})
    assert response.status_code == 201, response.text
    response = await client.post("/campaigns", json={"name": "c1", "trunks": ["t1"]})
    assert response.status_code == 201, response.text
    return client


def error(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, str | None]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    body: dict[str, dict[str, str | None]] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "field", "message"}, body
    return body["error"]


async def unchanged(client: httpx.AsyncClient) -> None:
    trunk = (await client.get("/trunks/t1")).json()
    assert (trunk["ami"], trunk["dial"], trunk["caller_id"]) == ("ami://u:***@127.0.0.1:5038", DIAL, "+7495")
    assert (await client.get("/campaigns/c1")).json()["trunks"] == ["t1"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/trunks/%00"),
        ("DELETE", "/trunks/%00"),
        ("PATCH", "/trunks/%00"),
        ("GET", "/campaigns/%00"),
        ("PATCH", "/campaigns/%00"),
        ("DELETE", "/campaigns/%00"),
        ("POST", "/campaigns/%00/start"),
        ("POST", "/campaigns/%00/pause"),
        ("GET", "/campaigns/%00/stats"),
        ("GET", "/campaigns/%00/lists"),
        ("GET", "/campaigns/%00/lists/1/rejects"),
        ("GET", "/companies/%00"),
        ("GET", "/contacts/+79131234567/why?campaign=%00"),
        ("GET", "/contacts/%00/why"),
        ("GET", "/campaigns/c1%00x"),
    ],
)
async def test_nul_in_path_or_query(seeded: httpx.AsyncClient, method: str, path: str) -> None:
    body = {"cps": 1} if method == "PATCH" else None
    found = error(await seeded.request(method, path, json=body), 422)
    assert found["field"] in ("name", "campaign", "phone") and "NUL" in str(found["message"])
    await unchanged(seeded)


async def test_nul_in_upload_path(seeded: httpx.AsyncClient) -> None:
    files = {"file": ("list.csv", b"phone\n+79131234567\n", "text/csv")}
    found = error(await seeded.post("/campaigns/%00/lists", files=files), 422)
    assert found["field"] == "name"
    assert (await seeded.get("/campaigns/c1/lists")).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"caller_id": "a\u0000b"}, "caller_id"),
        ({"ami": "ami://u:s\u0000@h:5038"}, "ami"),
        ({"ami": "ami://u:s%00@h:5038"}, "ami"),
        ({"dial": "Local/{number}\u0000@x"}, "dial"),
        ({"caller_id": "x" * 101}, "caller_id"),
        ({"caller_id": "a\r\nAction: Logoff"}, "caller_id"),
        ({"dial": "Local/{number!x}@x"}, "dial"),
        ({"dial": "Local/{number:d}@x"}, "dial"),
        ({"dial": "Local/{number:>99999999999}@x"}, "dial"),
        ({"dial": "Local/{number}@x\r\nAction: Logoff"}, "dial"),
        ({"ami": "ami://u%0D%0AAction: x:s@h:5038"}, "ami"),
    ],
)
async def test_trunk_body_fields(seeded: httpx.AsyncClient, body: dict[str, str], field: str) -> None:
    spec = {"name": "t2", "ami": AMI, "dial": DIAL} | body
    found = error(await seeded.post("/trunks", json=spec), 422)
    assert (found["type"], found["field"]) == ("invalid", field), found
    found = error(await seeded.patch("/trunks/t1", json=body), 422)
    assert (found["type"], found["field"]) == ("invalid", field), found
    assert error(await seeded.get("/trunks/t2"), 404)["type"] == "not_found"
    await unchanged(seeded)


async def test_trunk_caller_id_too_long_names_the_limit(seeded: httpx.AsyncClient) -> None:
    found = error(await seeded.patch("/trunks/t1", json={"caller_id": "x" * 101}), 422)
    assert "longer than 100 characters" in str(found["message"])
    assert (await seeded.patch("/trunks/t1", json={"caller_id": "x" * 100})).status_code == 200


async def test_secret_not_in_error_body(seeded: httpx.AsyncClient) -> None:
    for ami in ("ami://u:TOPSECRET@h:99999", "ami://u:TOPSECRET@h:5038/x", "ami://u:TOP/SECRET@h:5038"):
        response = await seeded.post("/trunks", json={"name": "cz2", "ami": ami, "dial": DIAL})
        found = error(response, 422)
        assert found["field"] == "ami" and "SECRET" not in response.text, response.text
        response = await seeded.patch("/trunks/t1", json={"ami": ami})
        assert error(response, 422)["field"] == "ami" and "SECRET" not in response.text, response.text


async def test_encoded_secret_reaches_the_connection(seeded: httpx.AsyncClient, database: AsyncEngine) -> None:
    response = await seeded.post("/trunks", json={"name": "t3", "ami": "ami://u:s%2F%3F%23%40%3Ax@h:5038",
                                                  "dial": DIAL})
    assert response.status_code == 201, response.text
    assert response.json()["ami"] == "ami://u:***@h:5038"
    async with session_scope(database) as session:
        trunk = await get_trunk(session, "t3")
    assert (trunk.ami.user, trunk.ami.secret, trunk.ami.host, trunk.ami.port) == ("u", "s/?#@:x", "h", 5038)


async def test_nul_in_campaign_trunks_is_an_unknown_trunk(seeded: httpx.AsyncClient) -> None:
    found = error(await seeded.post("/campaigns", json={"name": "x", "trunks": ["t\u0000"]}), 422)
    assert found["field"] == "trunk" and "unknown trunk" in str(found["message"])
    found = error(await seeded.patch("/campaigns/c1", json={"trunks": ["\u0000"]}), 422)
    assert found["field"] == "trunk" and "unknown trunk" in str(found["message"])
    assert error(await seeded.get("/campaigns/x"), 404)["type"] == "not_found"
    await unchanged(seeded)


async def test_nul_in_company_parent(seeded: httpx.AsyncClient) -> None:
    assert "does not exist" in str(error(await seeded.post("/companies", json={"name": "x", "parent": "\u0000"}),
                                         404)["message"])
    assert "x" not in [c["name"] for c in (await seeded.get("/companies")).json()]


@pytest.mark.parametrize("list_id", ["99999999999999999999", "9223372036854775808", "2147483648", "0"])
async def test_list_id_beyond_the_column(seeded: httpx.AsyncClient, list_id: str) -> None:
    found = error(await seeded.get(f"/campaigns/c1/lists/{list_id}/rejects"), 422)
    assert found["field"] == "call_list_id"
    assert error(await seeded.get("/campaigns/c1/lists/2147483647/rejects"), 404)["type"] == "not_found"


async def test_data_error_is_a_422_and_stores_nothing(client: httpx.AsyncClient) -> None:
    found = error(await client.get("/probe/out-of-range"), 422)
    assert found["type"] == "invalid" and "out of range" in str(found["message"])
    assert found["message"] == 'the database refused a value: value "99999999999" is out of range for type integer'
    error(await client.get("/probe/division"), 422)  # 22012 division_by_zero is class 22 too
    assert error(await client.get("/trunks/probe"), 404)["type"] == "not_found"  # rolled back


async def test_other_database_errors_stay_bugs(client: httpx.AsyncClient) -> None:
    with pytest.raises(Exception, match="syntax error"):
        await client.get("/probe/bug")


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    found = error(await client.post("/trunks", content=b'{"name":', headers={"content-type": "application/json"}),
                  422)
    assert found["field"] == "body"
    assert str(found["message"]).startswith("invalid JSON at character 8: ")


async def test_invalid_utf8_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/trunks", content=b'{"name":"\xff"}', headers={"content-type": "application/json"})
    found = error(response, (400, 422))
    assert found["field"] == "body" and "UTF-8" in str(found["message"])


async def test_framework_errors_in_the_product_shape(client: httpx.AsyncClient) -> None:
    assert error(await client.get("/no/such/route"), 404)["type"] == "not_found"
    response = await client.put("/trunks")
    assert error(response, 405)["type"] == "method_not_allowed" and "GET" in response.headers["allow"]
