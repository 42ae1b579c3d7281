"""FastAGI round trip from the real dialplan ([dialer-agi], [dialer-answered]) to ami.agi.AgiServer."""

from __future__ import annotations

import asyncio

import pytest

from ami import AgiServer, AgiSession, AmiClient, OriginateRequest, Outcome
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.ami.conftest import make_client

pytestmark = pytest.mark.asterisk


def agi_call(server: AgiServer, script: str, context: str = "dialer-agi", **variables: str) -> OriginateRequest:
    # extensions.conf reads the server from DIALER_AGI_URL: a channel variable overrides the global,
    # so each test gets its own port.
    return OriginateRequest(
        channel="Local/79001234560@pstn-sim", context=context, timeout_s=5,
        variables={"DIALER_AGI_URL": f"agi://127.0.0.1:{server.port}", "DIALER_AGI_SCRIPT": script,
                   "SIM_HOLD": "30", **variables},
    )


async def test_agi_round_trip_from_the_dialplan(client: AmiClient) -> None:
    seen: dict[str, object] = {}
    done = asyncio.Event()

    async def survey(agi: AgiSession) -> None:
        seen["env"] = agi.env
        seen["campaign"] = await agi.get_variable("CAMPAIGN")
        seen["missing"] = await agi.get_variable("NO_SUCH_VARIABLE_HERE")
        await agi.set_variable("SURVEY_RESULT", "ok 42")
        seen["echo"] = await agi.get_variable("SURVEY_RESULT")
        seen["status"] = (await agi.command("CHANNEL STATUS")).value
        await agi.verbose("dialer FastAGI round trip")
        done.set()

    async with AgiServer(port=0, handlers={"survey": survey}) as server:
        handle = await client.originate(agi_call(server, "survey", CAMPAIGN="7"))
        async with asyncio.timeout(30):
            await done.wait()
            result = await handle.result()
    env = seen["env"]
    assert env.script == "survey"  # type: ignore[attr-defined]
    assert env.uniqueid == handle.channel_id and env.context == "dialer-agi"  # type: ignore[attr-defined]
    assert env.get("network") == "yes"  # type: ignore[attr-defined]
    assert seen["campaign"] == "7" and seen["missing"] is None and seen["echo"] == "ok 42"
    assert seen["status"] == 6  # AST_STATE_UP
    assert result.outcome is Outcome.ANSWERED
    assert server.stats.completed == 1 and server.stats.handler_errors == 0


async def test_agi_after_amd_in_dialer_answered(client: AmiClient) -> None:
    statuses: list[str | None] = []

    async def route(agi: AgiSession) -> None:
        statuses.append(await agi.get_variable("AMDSTATUS"))

    async with AgiServer(port=0, handlers={"route": route}) as server:
        handle = await client.originate(agi_call(server, "route", context="dialer-answered", SIM_HOLD="1",
                                                 DIALER_HOLD="0"))
        async with asyncio.timeout(30):
            result = await handle.result()
    assert statuses == ["HUMAN"] and result.amd_status == "HUMAN"


async def test_malformed_client_and_failing_handler_leave_the_server_serving(client: AmiClient) -> None:
    done = asyncio.Event()

    async def broken(agi: AgiSession) -> None:
        raise RuntimeError("handler bug")

    async def fine(agi: AgiSession) -> None:
        await agi.verbose("still serving")
        done.set()

    async with AgiServer(port=0, handlers={"broken": broken, "fine": fine}, request_timeout=1.0) as server:
        # A client that is not Asterisk at all.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x16\x03\x01\x02\x00garbage that is not an AGI request\n\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # A handler that raises: the call goes on in the dialplan and ends normally.
        failing = await client.originate(agi_call(server, "broken"))
        async with asyncio.timeout(30):
            assert (await failing.result()).outcome is Outcome.ANSWERED
        handle = await client.originate(agi_call(server, "fine"))
        async with asyncio.timeout(30):
            await done.wait()
            assert (await handle.result()).outcome is Outcome.ANSWERED
    assert server.stats.malformed == 1 and server.stats.handler_errors == 1 and server.stats.completed == 1


def test_client_and_agi_server_on_uvloop(asterisk: AsteriskSandbox) -> None:
    """Long-running dialer processes run on uvloop (dialer.runtime.run): the same round trip there."""
    import uvloop

    async def scenario() -> tuple[str | None, Outcome]:
        got: list[str | None] = []

        async def echo(agi: AgiSession) -> None:
            got.append(await agi.get_variable("CAMPAIGN"))

        async with make_client(asterisk) as ami, AgiServer(port=0, handlers={"echo": echo}) as server:
            handle = await ami.originate(agi_call(server, "echo", CAMPAIGN="uv"))
            async with asyncio.timeout(30):
                result = await handle.result()
        return got[0], result.outcome

    assert uvloop.run(scenario()) == ("uv", Outcome.ANSWERED)
