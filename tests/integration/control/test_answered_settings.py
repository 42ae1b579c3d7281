"""Answered-leg options through the real console script and the HTTP API, stored in campaigns.settings."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.api import create_app
from tests.integration.control.cli import dialer
from tests.integration.control.test_api import NOW, error
from tests.integration.control.test_cli_trunks_campaigns import add_trunk

DEFAULTS = {"amd": True, "amd_params": None, "route": None, "machine_message": None, "notsure_as_machine": False}


def test_cli_create_set_show(database_url: str) -> None:
    add_trunk(database_url)
    made = dialer(database_url, "campaigns", "create", "spring", "--trunk", "sim", "--machine", "message",
                  "--machine-message", "dialer/prompt-message", "--route", "queue:dialer-sim",
                  "--amd-params", "2500/1600/800/5000/100/50/5/576/5000", "--notsure-as-machine")
    assert made.returncode == 0, made.stderr
    shown = json.loads(dialer(database_url, "campaigns", "show", "spring", "--json").stdout)
    assert {k: shown[k] for k in [*DEFAULTS, "machine"]} == {
        "amd": True, "amd_params": "2500/1600/800/5000/100/50/5/576/5000", "route": "queue:dialer-sim",
        "machine_message": "dialer/prompt-message", "notsure_as_machine": True, "machine": "message",
    }
    table = dialer(database_url, "campaigns", "show", "spring").stdout
    assert "queue:dialer-sim" in table and "dialer/prompt-message" in table and "notsure_as_machine" in table

    # a raw channel variable set outside the options survives `set`
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        conn.execute("UPDATE campaigns SET settings = settings || '{\"variables\": {\"SIM_HOLD\": \"3\"}}'")
    changed = dialer(database_url, "campaigns", "set", "spring", "--no-amd", "--route", "", "--amd-params", "///7000",
                     "--notsure-as-person")
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(dialer(database_url, "campaigns", "show", "spring", "--json").stdout)
    assert (shown["amd"], shown["route"], shown["amd_params"], shown["notsure_as_machine"]) == (
        False, None, "///7000", False)
    assert shown["machine_message"] == "dialer/prompt-message"
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        stored = conn.execute("SELECT settings FROM campaigns").fetchone()
    assert stored is not None and stored[0]["variables"] == {"SIM_HOLD": "3"} and stored[0]["amd"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--machine", "message"], "--machine-message: required with machine=message"),
        (["--amd-params", "2500/x"], "--amd-params: field 2 (greeting) is 'x'"),
        (["--route", "voicemail:1"], "--route: unknown route kind 'voicemail'"),
        (["--route", "playback:a,b"], "--route: 'a,b' contains ','"),
        (["--route", "exten:report"], "--route: 'report' must be written exten:<exten>@<context>"),
        (["--machine", "message", "--machine-message", "x(1)"], "--machine-message: 'x(1)' contains '('"),
    ],
)
def test_cli_refuses_naming_the_option(database_url: str, args: list[str], message: str) -> None:
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:  # the CLI under test is `create`
        conn.execute("""INSERT INTO trunks (name, ami_url, dial_template, cps_limit, max_channels)
                        VALUES ('sim', 'ami://u:s@127.0.0.1:5038', 'Local/{number}@pstn-sim', 5, 10)""")
    bad = dialer(database_url, "campaigns", "create", "c", "--trunk", "sim", *args)
    assert bad.returncode == 1 and message in bad.stderr, bad.stderr
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)


async def test_api_create_patch(database: AsyncEngine) -> None:
    app = create_app(database, clock=lambda: NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer.test") as client:
        added = await client.post("/trunks", json={"name": "sim", "ami": "ami://u:s@127.0.0.1:5038",
                                                  "dial": "Local/{number}@pstn-sim"})
        assert added.status_code == 201, added.text
        body = {"name": "c", "trunks": ["sim"], "route": "exten:report@sim-bot", "amd": False}
        created = await client.post("/campaigns", json=body)
        assert created.status_code == 201, created.text
        assert {k: created.json()[k] for k in DEFAULTS} == DEFAULTS | {"amd": False, "route": "exten:report@sim-bot"}
        assert error(await client.patch("/campaigns/c", json={"machine": "message"}), 422)["field"] == (
            "machine_message")
        assert error(await client.patch("/campaigns/c", json={"amd_params": "1/2/3/4/5/6/7/8/9/0"}), 422)[
            "field"] == "amd_params"
        assert error(await client.patch("/campaigns/c", json={"route": "queue:a)"}), 422)["field"] == "route"
        assert error(await client.patch("/campaigns/c", json={"amd": None}), 422)["field"] == "amd"
        patched = await client.patch("/campaigns/c", json={
            "machine": "message", "machine_message": "dialer/prompt-message", "route": None, "amd": True})
        assert patched.status_code == 200, patched.text
        got = patched.json()
        assert (got["machine"], got["machine_message"], got["route"], got["amd"]) == (
            "message", "dialer/prompt-message", None, True)
