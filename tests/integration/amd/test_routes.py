"""Routing after AMD, end to end through the sandbox's [dialer-answered].

A person goes where the campaign's DIALER_ROUTE says (a prompt, a queue, a FastAGI voice bot, a
dialplan extension); an answering machine gets DIALER_MACHINE (hang up, retry later, a message
after its beep, or the person's route). The contact's extra columns arrive as channel variables
(`CONTACT_<NAME>`, as the worker sends them) and reach the bot. What the subscriber heard is
checked on its own leg (TALK_DETECT in [pstn-sim-digit]); what the dialplan did is in the CDR's
DialerAction and in the dialer leg's Newexten steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ami import AmiClient
from tests.integration.amd.calls import Trace, at, place, variant

pytestmark = pytest.mark.asterisk

PERSON = "79160000007"  # "Алло?", then silence
MACHINE = "79160000005"  # an 11.9 s voicemail greeting with its beep at the end
MACHINE_GREETING_S = 0.3 + 11.8  # the dialplan's Wait(0.3), then the greeting up to the beep's end
PROMPT = "dialer/prompt-hello"
MESSAGE = "dialer/prompt-message"
CONTACT = {"CONTACT_NAME": "Иван Петров", "CONTACT_ORDER_ID": "A-1734", "CONTACT_CITY": "Томск"}


def assert_human_then(trace: Trace, action: str) -> None:
    assert trace.amd["AMDStatus"] == "HUMAN", trace.amd
    assert trace.cdr["DialerAction"] == action, trace.cdr
    assert trace.hangup()["Cause"] == "16"


# --- a person -----------------------------------------------------------------------------------


async def test_playback_route_plays_the_prompt_to_the_person(client: AmiClient) -> None:
    trace = await place(client, PERSON, {"SIM_HOLD": "12", "DIALER_ROUTE": f"playback:{PROMPT}"})

    assert_human_then(trace, "route-playback")
    assert ("Playback", PROMPT) in trace.applications()
    heard = trace.heard()
    assert heard and at(heard[0]) >= at(trace.amd), "the person heard nothing after AMD"
    # The dialer hung up after the whole prompt (about 4 s), not at once.
    assert at(trace.hangup()) - at(trace.amd) >= 3


async def test_queue_route_reaches_an_agent_with_the_call_id(client: AmiClient) -> None:
    trace = await place(client, PERSON, {"SIM_HOLD": "20", "DIALER_ROUTE": "queue:dialer-sim"})

    assert_human_then(trace, "route-queue")
    assert any(app == "Queue" and data.startswith("dialer-sim,") for app, data in trace.applications())
    agents = trace.user_events("SimAgent")
    assert len(agents) == 1, trace.events
    # DIALER_CALL_ID was made inheritable, so the agent's own channel carries it.
    assert agents[0]["DialerCallId"] == trace.channel_id
    assert agents[0]["Uniqueid"] not in (trace.channel_id, f"{trace.channel_id}-2")


@dataclass
class FastAgi:
    """A tiny FastAGI voice bot on a private port: records its requests and the variables it read,
    then says the prompt and hangs up."""

    variables: tuple[str, ...]
    requests: asyncio.Queue[tuple[dict[str, str], dict[str, str]]] = field(default_factory=asyncio.Queue)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def command(text: str) -> str:
            writer.write(f"{text}\n".encode())
            await writer.drain()
            return (await reader.readline()).decode().strip()

        environment: dict[str, str] = {}
        while line := (await reader.readline()).decode().strip():
            key, _, value = line.partition(": ")
            environment[key] = value
        values = {}
        for name in self.variables:
            reply = await command(f"GET VARIABLE {name}")  # 200 result=1 (VALUE)
            values[name] = reply.partition("(")[2].rpartition(")")[0] if "result=1" in reply else ""
        await command(f'STREAM FILE {PROMPT} ""')
        await self.requests.put((environment, values))
        writer.close()


@pytest.fixture
async def fastagi() -> AsyncIterator[FastAgi]:
    bot = FastAgi(variables=("DIALER_CALL_ID", "AMDSTATUS", *CONTACT))
    server = await asyncio.start_server(bot.handle, "127.0.0.1", 0)
    async with server:
        bot.port = server.sockets[0].getsockname()[1]
        yield bot


@pytest.mark.parametrize("form", ["full url", "script name"])
async def test_agi_route_reaches_the_bot_with_the_contact_variables(
    client: AmiClient, fastagi: FastAgi, form: str,
) -> None:
    url = f"agi://127.0.0.1:{fastagi.port}"
    route = {"full url": {"DIALER_ROUTE": f"agi:{url}/bot"},
             "script name": {"DIALER_ROUTE": "agi:bot", "DIALER_AGI_URL": url}}[form]

    trace = await place(client, PERSON, {"SIM_HOLD": "12", **route, **CONTACT})
    environment, values = await asyncio.wait_for(fastagi.requests.get(), 30)

    assert_human_then(trace, "route-agi")
    assert environment["agi_network_script"] == "bot"
    assert environment["agi_uniqueid"] == trace.channel_id
    assert values == {"DIALER_CALL_ID": trace.channel_id, "AMDSTATUS": "HUMAN", **CONTACT}
    assert trace.heard(), "the person did not hear the bot"


async def test_exten_route_runs_a_dialplan_bot_with_the_contact_variables(client: AmiClient) -> None:
    trace = await place(client, PERSON, {"SIM_HOLD": "9", "DIALER_ROUTE": "exten:report@sim-bot",
                                         "SIM_BOT_REPORT": "CONTACT_NAME&CONTACT_CITY", **CONTACT})

    assert_human_then(trace, "route-exten")
    reports = {m["Name"]: m["Value"] for m in trace.user_events("SimBot")}
    assert reports == {"CONTACT_NAME": CONTACT["CONTACT_NAME"], "CONTACT_CITY": CONTACT["CONTACT_CITY"]}
    assert all(m["AMDStatus"] == "HUMAN" for m in trace.user_events("SimBot"))


@pytest.mark.parametrize("route", ["fax:whatever", "exten:nowhere@no-such-context"])
async def test_an_unknown_route_is_logged_and_the_call_still_ends_normally(client: AmiClient, route: str) -> None:
    trace = await place(client, PERSON, {"SIM_HOLD": "9", "DIALER_HOLD": "0", "DIALER_ROUTE": route})

    assert_human_then(trace, "route-invalid")
    assert any(app == "Log" and data.startswith(f"WARNING,call {trace.channel_id}: DIALER_ROUTE={route}")
               for app, data in trace.applications())


# --- an answering machine -----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["hangup", "retry"])
async def test_machine_is_hung_up_on_without_hearing_anything(client: AmiClient, action: str) -> None:
    trace = await place(client, MACHINE, {"SIM_HOLD": "20", "DIALER_MACHINE": action,
                                          "DIALER_ROUTE": f"playback:{PROMPT}"})

    assert trace.amd["AMDStatus"] == "MACHINE"
    assert trace.cdr["DialerAction"] == f"machine-{action}"
    assert not trace.heard()
    assert all(app != "Playback" for app, _ in trace.applications())
    # Hung up at once after the verdict, while the machine was still playing its greeting.
    assert at(trace.hangup()) - at(trace.amd) < 2
    assert trace.result.answered_at is not None
    assert at(trace.hangup("-2")) - trace.result.answered_at.timestamp() < MACHINE_GREETING_S


async def test_machine_gets_the_message_after_its_beep(client: AmiClient) -> None:
    trace = await place(client, MACHINE, {"SIM_HOLD": "30", "DIALER_MACHINE": f"message:{MESSAGE}",
                                          "DIALER_ROUTE": f"playback:{PROMPT}"})

    assert trace.amd["AMDStatus"] == "MACHINE"
    assert trace.cdr["DialerAction"] == "machine-message"
    steps = [app for app, _ in trace.applications()]
    assert steps.index("WaitForSilence") < steps.index("Playback")
    assert ("Playback", MESSAGE) in trace.applications()
    heard = trace.heard()
    assert heard, "the machine recorded nothing"
    assert trace.result.answered_at is not None
    # The message starts once the greeting and its beep are over, so the recording has all of it.
    assert at(heard[0]) - trace.result.answered_at.timestamp() >= MACHINE_GREETING_S
    assert trace.hangup()["Cause"] == "16"


async def test_machine_continue_takes_the_persons_route(client: AmiClient) -> None:
    trace = await place(client, MACHINE, {"SIM_HOLD": "25", "DIALER_MACHINE": "continue",
                                          "DIALER_ROUTE": f"playback:{PROMPT}"})

    assert trace.amd["AMDStatus"] == "MACHINE"
    assert trace.cdr["DialerAction"] == "route-playback"
    assert ("Playback", PROMPT) in trace.applications()


async def test_unknown_machine_action_hangs_up(client: AmiClient) -> None:
    trace = await place(client, MACHINE, {"SIM_HOLD": "20", "DIALER_MACHINE": "fax"})

    assert trace.amd["AMDStatus"] == "MACHINE"
    assert trace.cdr["DialerAction"] == "machine-invalid"
    assert trace.hangup()["Cause"] == "16"


# --- not sure -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("notsure", "action"), [("", "route-playback"), ("machine", "machine-hangup")])
async def test_notsure_follows_the_person_unless_the_campaign_says_machine(
    client: AmiClient, notsure: str, action: str,
) -> None:
    # total_analysis_time 2000 ms; the person only speaks after 4 s: NOTSURE.
    trace = await place(client, variant(9, 0, 8), {
        "SIM_HOLD": "9", "DIALER_AMD_PARAMS": "///2000", "DIALER_NOTSURE": notsure,
        "DIALER_MACHINE": "hangup", "DIALER_ROUTE": f"playback:{PROMPT}"})

    assert trace.amd["AMDStatus"] == "NOTSURE"
    assert trace.cdr["DialerAction"] == action
