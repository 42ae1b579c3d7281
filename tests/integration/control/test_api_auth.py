"""API tokens: every route but the probes needs one, checked before the body is read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.api import router
from dialer.api import create_app

TOKENS = ("old-token-0123456789", "new-token-9876543210")
TRUNK = {"name": "sim", "ami": "ami://dialer:dialer@127.0.0.1:5038", "dial": "Local/{number}@pstn-sim"}


@pytest.fixture
async def client(database: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, extra_routers=[router], tokens=TOKENS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [
    {}, bearer("wrong-token-000000000"), bearer(""), {"Authorization": TOKENS[0]},
    {"Authorization": f"Basic {TOKENS[0]}"}, bearer(TOKENS[0][:-1]), bearer(TOKENS[0] + "x"),
])
async def test_a_request_without_a_valid_token_is_401_and_changes_nothing(
    client: httpx.AsyncClient, database: AsyncEngine, headers: dict[str, str]
) -> None:
    for response in (
        await client.post("/trunks", json=TRUNK, headers=headers),
        await client.get("/trunks", headers=headers),
        await client.get("/reports", headers=headers),
        await client.post("/campaigns/c/lists", headers=headers,
                          files={"file": ("list.csv", b"phone\n89131234567\n", "text/csv")}),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["type"] == "unauthorized"
        assert "Authorization: Bearer" in response.json()["error"]["message"]
    async with database.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM trunks"))).scalar() == 0


async def test_each_configured_token_is_accepted(client: httpx.AsyncClient) -> None:
    created = await client.post("/trunks", json=TRUNK, headers=bearer(TOKENS[0]))
    assert created.status_code == 201, created.text
    listed = await client.get("/trunks", headers={"authorization": f"bearer {TOKENS[1]}"})
    assert [t["name"] for t in listed.json()] == ["sim"]


async def test_the_probes_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200


async def test_without_tokens_the_api_is_open(database: AsyncEngine) -> None:
    app = create_app(database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        assert (await http.get("/trunks")).status_code == 200
