"""Smoke test of the real Asterisk sandbox: calls into [pstn-sim] end as the number's last digit says.

Each call is followed on AMI (OriginateResponse Reason, both legs' Hangup Cause, the DialerAMD
UserEvent) and in Asterisk's own `Cdr` event. The AMI client here is a bare asyncio one, on
purpose independent of the `ami` package. The sandbox is shared: every call is correlated by its
own ChannelId.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from tests.asterisk_fixture import AsteriskSandbox

pytestmark = pytest.mark.asterisk

Message = dict[str, str]
EVENT_TIMEOUT_S = 60.0
ID_PREFIX = "smoke-"


class RawAmi:
    """One AMI connection that keeps the responses and this test's events (by ChannelId prefix)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._messages: list[Message] = []
        self._arrived = asyncio.Condition()

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, sandbox: AsteriskSandbox) -> AsyncIterator[RawAmi]:
        reader, writer = await asyncio.open_connection(sandbox.host, sandbox.port)
        try:
            banner = await reader.readline()
            assert banner.startswith(b"Asterisk Call Manager/"), banner
            client = cls(reader, writer)
            async with asyncio.TaskGroup() as group:
                reading = group.create_task(client._read())
                await client.action("Login", Username=sandbox.username, Secret=sandbox.secret)
                try:
                    yield client
                finally:
                    reading.cancel()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _read(self) -> None:
        while True:
            block = await self._reader.readuntil(b"\r\n\r\n")
            text = block.decode("utf-8", errors="replace")
            message = dict(line.split(": ", 1) for line in text.split("\r\n") if ": " in line)
            # Others share this Asterisk: keep responses and what concerns our own calls only.
            if "Response" in message or ID_PREFIX in text:
                async with self._arrived:
                    self._messages.append(message)
                    self._arrived.notify_all()

    async def wait_for(self, what: str, predicate: Callable[[Message], bool]) -> Message:
        def found() -> Message | None:
            return next((m for m in self._messages if predicate(m)), None)

        async with self._arrived:
            try:
                await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), EVENT_TIMEOUT_S)
            except TimeoutError:
                pytest.fail(f"no {what} within {EVENT_TIMEOUT_S} s")
            message = found()
            assert message is not None
            return message

    async def action(self, name: str, **headers: str | list[str]) -> Message:
        action_id = f"{ID_PREFIX}{uuid.uuid4().hex}"
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        for key, value in headers.items():
            lines += [f"{key}: {item}" for item in (value if isinstance(value, list) else [value])]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        response = await self.wait_for(
            f"response to {name}", lambda m: m.get("ActionID") == action_id and "Event" not in m)
        assert response["Response"] == "Success", response
        return response


@dataclass(frozen=True)
class CallTrace:
    """What AMI said about one originated call, until its CDR."""

    originate: Message
    hangup: Message  # the dialer's leg (Local ;1, Uniqueid = ChannelId)
    far_hangup: Message  # the simulated subscriber (Local ;2, Uniqueid = OtherChannelId)
    cdr: Message  # Asterisk's CDR of the dialer's leg
    amd: Message | None  # UserEvent DialerAMD, answered calls only


async def call(ami: RawAmi, number: str, *, answered: bool, timeout_ms: int = 30000,
               context: str = "dialer-answered", variables: dict[str, str] | None = None) -> CallTrace:
    channel_id = f"{ID_PREFIX}{uuid.uuid4().hex}"
    await ami.action(
        "Originate", Channel=f"Local/{number}@pstn-sim", Context=context, Exten="s", Priority="1",
        Timeout=str(timeout_ms), Async="true", ChannelId=channel_id, OtherChannelId=f"{channel_id}-2",
        Variable=[f"{key}={value}" for key, value in {"DIALER_CALL_ID": channel_id, **(variables or {})}.items()])

    def event(name: str, **fields: str) -> Callable[[Message], bool]:
        return lambda m: m.get("Event") == name and all(m.get(k) == v for k, v in fields.items())

    originate = await ami.wait_for(f"OriginateResponse of {number}",
                                   event("OriginateResponse", Uniqueid=channel_id))
    amd = None
    if answered:
        amd = await ami.wait_for(f"DialerAMD of {number}",
                                 event("UserEvent", UserEvent="DialerAMD", Uniqueid=channel_id))
    return CallTrace(
        originate=originate,
        hangup=await ami.wait_for(f"Hangup of {number}", event("Hangup", Uniqueid=channel_id)),
        far_hangup=await ami.wait_for(f"far Hangup of {number}", event("Hangup", Uniqueid=f"{channel_id}-2")),
        cdr=await ami.wait_for(f"Cdr of {number}", event("Cdr", UniqueID=channel_id)),
        amd=amd,
    )


@pytest.fixture
async def ami(asterisk: AsteriskSandbox) -> AsyncIterator[RawAmi]:
    async with RawAmi.connect(asterisk) as client:
        yield client


@dataclass(frozen=True)
class Expected:
    reason: str  # OriginateResponse Reason: 0 failed, 3 no answer, 4 answered, 5 busy, 8 congestion
    far_cause: str  # Q.850 cause of the subscriber's leg
    disposition: str  # CDR disposition of the dialer's leg


FAILED_CALLS = {
    # AMI Originate Reason 5 = busy; Q.850 17 = user busy
    "busy": ("79160000001", 30000, Expected("5", "17", "BUSY")),
    # Reason 3 = rang until the Originate timeout; 19 = no answer
    "no answer": ("79160000002", 3000, Expected("3", "19", "NO ANSWER")),
    # Reason 8 = congestion; 34 = no circuit available
    "congestion": ("79160000003", 30000, Expected("8", "34", "CONGESTION")),
    # Reason 0 = failed; 1 = unallocated number (Asterisk's CDR calls it NO ANSWER)
    "invalid number": ("+79160000004", 30000, Expected("0", "1", "NO ANSWER")),
}


@pytest.mark.parametrize("case", list(FAILED_CALLS))
async def test_unanswered_calls_end_as_the_last_digit_says(ami: RawAmi, case: str) -> None:
    number, timeout_ms, expected = FAILED_CALLS[case]

    trace = await call(ami, number, timeout_ms=timeout_ms, answered=False)

    assert trace.originate["Response"] == "Failure"
    assert trace.originate["Reason"] == expected.reason
    assert trace.far_hangup["Cause"] == expected.far_cause
    assert trace.cdr["Disposition"] == expected.disposition
    assert trace.cdr["BillableSeconds"] == "0"
    if case in ("no answer", "invalid number"):  # Reason 3/0 alone is ambiguous: the cause decides
        assert trace.hangup["Cause"] == expected.far_cause


ANSWERED_CALLS = {
    # A person says "Алло?" and stays on the line; the dialer side hangs up after AMD.
    "human": ("+79160000007", {"SIM_HOLD": "5", "DIALER_HOLD": "0.5"}, "HUMAN"),
    # A long voicemail greeting.
    "machine": ("79160000005", {"SIM_HOLD": "1", "DIALER_HOLD": "0.5"}, "MACHINE"),
    # "Алло?" and at once hangs up, while AMD is still listening: the `h` extension reports it.
    "hangup during AMD": ("79160000009", {"SIM_HOLD": "0"}, "HANGUP"),
}


@pytest.mark.parametrize("case", list(ANSWERED_CALLS))
async def test_answered_calls_report_amd_and_cdr(ami: RawAmi, case: str) -> None:
    number, variables, amd_status = ANSWERED_CALLS[case]

    trace = await call(ami, number, answered=True, variables=variables)

    channel_id = trace.hangup["Uniqueid"]
    assert trace.originate["Response"] == "Success"
    assert trace.originate["Reason"] == "4"  # AMI Originate Reason 4 = answered
    assert trace.amd is not None
    assert trace.amd["AMDStatus"] == amd_status, trace.amd
    assert trace.amd["DialerCallId"] == channel_id
    assert trace.amd["Linkedid"] == channel_id
    assert trace.hangup["Cause"] == "16"  # normal clearing
    assert trace.cdr["Disposition"] == "ANSWERED"
    assert trace.cdr["AMDStatus"] == amd_status
    assert trace.cdr["DialerCallId"] == channel_id


async def agi_command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: str) -> str:
    writer.write(f"{command}\n".encode())
    await writer.drain()
    return (await reader.readline()).decode().strip()


@pytest.mark.parametrize("context", ["dialer-answered", "dialer-agi"])
async def test_answered_leg_reaches_the_fastagi_server(ami: RawAmi, context: str) -> None:
    requests: asyncio.Queue[tuple[dict[str, str], str, str]] = asyncio.Queue()

    async def fastagi(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        environment: dict[str, str] = {}
        while (line := (await reader.readline()).decode().strip()):
            key, _, value = line.partition(": ")
            environment[key] = value
        call_id_reply, amd_reply = [await agi_command(reader, writer, f"GET VARIABLE {variable}")
                                    for variable in ("DIALER_CALL_ID", "AMDSTATUS")]
        await requests.put((environment, call_id_reply, amd_reply))
        writer.close()

    server = await asyncio.start_server(fastagi, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        trace = await call(ami, "79160000000", answered=context == "dialer-answered", context=context,
                           variables={"SIM_HOLD": "5", "DIALER_HOLD": "0.5", "DIALER_AGI_SCRIPT": "smoke-check",
                                      "DIALER_AGI_URL": f"agi://127.0.0.1:{port}"})
        environment, call_id_reply, amd_reply = await asyncio.wait_for(requests.get(), EVENT_TIMEOUT_S)

    channel_id = trace.hangup["Uniqueid"]
    assert environment["agi_network_script"] == "smoke-check"
    assert environment["agi_uniqueid"] == channel_id
    assert environment["agi_context"] == context
    assert call_id_reply == f"200 result=1 ({channel_id})"
    if context == "dialer-answered":  # the AMD verdict is there for the AGI script to route on
        assert amd_reply == "200 result=1 (HUMAN)"


def test_fixture_runs_cli_commands(asterisk: AsteriskSandbox) -> None:
    assert asterisk.version.startswith("22.")
    assert asterisk.ami_url == f"ami://{asterisk.username}:{asterisk.secret}@{asterisk.host}:{asterisk.port}"
    output = asterisk.cli("dialplan show pstn-sim")
    assert "[ Context 'pstn-sim' created by 'pbx_config' ]" in output
