"""ami.agi: reply parsing, environment parsing, and the server's isolation of bad sessions.

The peer here plays Asterisk's side of FastAGI over a real loopback socket; the round trip with the
real Asterisk is in tests/integration/ami/test_agi_dialplan.py.
"""

from __future__ import annotations

import asyncio

import pytest

from ami.agi import AgiServer, AgiSession, parse_environment, parse_result_line
from ami.errors import AgiCommandError, AgiHangup, AgiProtocolError, AgiTimeout

ENV = [
    "agi_network: yes",
    "agi_network_script: greet",
    "agi_request: agi://127.0.0.1:4573/greet",
    "agi_channel: Local/79001234560@pstn-sim-00000001;1",
    "agi_language: en",
    "agi_type: Local",
    "agi_uniqueid: d-1",
    "agi_version: 22.10.1",
    "agi_callerid: 74950000000",
    "agi_calleridname: Дозвон",
    "agi_context: dialer-agi",
    "agi_extension: s",
    "agi_priority: 1",
    "agi_enhanced: 0.0",
    "agi_accountcode: ",
    "agi_threadid: 140000000000",
    "agi_linkedid: d-1",
    "agi_arg_1: first",
    "agi_arg_2: second arg",
]


@pytest.mark.parametrize(("line", "code", "result", "data", "extra"), [
    ("200 result=1", 200, "1", None, {}),
    ("200 result=0 (timeout)", 200, "0", "timeout", {}),
    ("200 result=1 (value with spaces)", 200, "1", "value with spaces", {}),
    ("200 result=49 endpos=12345", 200, "49", None, {"endpos": "12345"}),
    ("200 result=1 (speech) endpos=1234 results=1", 200, "1", "speech", {"endpos": "1234", "results": "1"}),
    ("200 result=-1", 200, "-1", None, {}),
    ("200 result=", 200, "", None, {}),
    ("100 result=0 Trying...", 100, "0", None, {}),
    ("510 Invalid or unknown command", 510, "", None, {}),
    ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", None, {}),
    ("520-Invalid command syntax.  Proper usage follows:", 520, "", None, {}),
])
def test_result_lines(line: str, code: int, result: str, data: str | None, extra: dict[str, str]) -> None:
    parsed = parse_result_line(line)
    assert (parsed.code, parsed.result, parsed.data, dict(parsed.extra)) == (code, result, data, extra)


def test_hangup_and_garbage_lines() -> None:
    with pytest.raises(AgiHangup):
        parse_result_line("HANGUP")
    with pytest.raises(AgiProtocolError, match="status code"):
        parse_result_line("hello there")


def test_environment() -> None:
    env = parse_environment(ENV)
    assert env.script == "greet" and env.args == ("first", "second arg")
    assert env.uniqueid == "d-1" and env.linkedid == "d-1" and env.calleridname == "Дозвон"
    assert env.get("version") == env.get("agi_version") == "22.10.1"
    assert env.get("accountcode") == ""


def test_environment_script_from_request_and_query() -> None:
    env = parse_environment(["agi_request: agi://127.0.0.1:4573/amd/report?x=1", "agi_channel: X"])
    assert env.script == "amd/report"


@pytest.mark.parametrize("lines", [["not an agi line"], ["agi_channel: x"], ["AGI_CHANNEL: x"]])
def test_bad_environments(lines: list[str]) -> None:
    with pytest.raises(AgiProtocolError):
        parse_environment(lines)


class Asterisk:
    """Asterisk's side of one FastAGI connection, scripted by the test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, env: list[str] | None = ENV, script: str = "greet") -> Asterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        peer = cls(reader, writer)
        if env is not None:
            lines = [line.replace(": greet", f": {script}") for line in env]
            writer.write(("\n".join(lines) + "\n\n").encode())
        return peer

    async def expect(self, command: str) -> None:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        assert line.decode().rstrip("\n") == command

    def reply(self, *lines: str) -> None:
        self.writer.write("".join(f"{line}\n" for line in lines).encode())

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 5) == b""


async def test_round_trip_with_quoting_and_trying() -> None:
    seen: list[object] = []

    async def greet(agi: AgiSession) -> None:
        seen.append(agi.env.args)
        await agi.verbose('say "hi" now')
        seen.append(await agi.get_variable("CAMPAIGN"))
        seen.append(await agi.get_variable("MISSING"))
        result = await agi.command("EXEC", "Playback", "dialer/human-0")
        seen.append(result.value)

    async with AgiServer(port=0, handlers={"greet": greet}) as server:
        peer = await Asterisk.connect(server.port)
        await peer.expect('VERBOSE "say \\"hi\\" now" 1')
        peer.reply("200 result=1")
        await peer.expect("GET VARIABLE CAMPAIGN")
        peer.reply("200 result=1 (7)")
        await peer.expect("GET VARIABLE MISSING")
        peer.reply("200 result=0")
        await peer.expect("EXEC Playback dialer/human-0")
        peer.reply("100 result=0 Trying...", "200 result=0")
        assert await peer.closed()
    assert seen == [("first", "second arg"), "7", None, 0]
    assert server.stats.completed == 1 and server.stats.handler_errors == 0


async def test_usage_error_is_read_whole_and_raised() -> None:
    errors: list[AgiCommandError] = []

    async def bad(agi: AgiSession) -> None:
        try:
            await agi.command("STREAM FILE")
        except AgiCommandError as exc:
            errors.append(exc)
        await agi.verbose("still in sync")

    async with AgiServer(port=0, handlers={"greet": bad}) as server:
        peer = await Asterisk.connect(server.port)
        await peer.expect("STREAM FILE")
        peer.reply("520-Invalid command syntax.  Proper usage follows:", " Usage: STREAM FILE <filename>",
                   "520 End of proper usage.")
        await peer.expect("VERBOSE \"still in sync\" 1")
        peer.reply("200 result=1")
        assert await peer.closed()
    assert errors[0].code == 520 and "Usage: STREAM FILE" in errors[0].message


async def test_command_timeout_ends_the_session_not_the_server() -> None:
    timeouts: list[BaseException] = []

    async def slow(agi: AgiSession) -> None:
        try:
            await agi.command("WAIT FOR DIGIT", "1000", timeout_s=0.2)
        except AgiTimeout as exc:
            timeouts.append(exc)
            raise

    async def ok(agi: AgiSession) -> None:
        await agi.verbose("ok")

    async with AgiServer(port=0, handlers={"greet": slow, "ok": ok}) as server:
        peer = await Asterisk.connect(server.port)
        await peer.expect("WAIT FOR DIGIT 1000")
        assert await peer.closed()  # no reply: the server gives up on this session only
        second = await Asterisk.connect(server.port, script="ok")
        await second.expect('VERBOSE ok 1')
        second.reply("200 result=1")
        assert await second.closed()
    assert len(timeouts) == 1
    assert server.stats.handler_errors == 1 and server.stats.completed == 1


async def test_handler_error_reports_and_hangs_up_cleanly() -> None:
    async def broken(agi: AgiSession) -> None:
        raise RuntimeError("bug in handler")

    async with AgiServer(port=0, handlers={"greet": broken}) as server:
        peer = await Asterisk.connect(server.port)
        await peer.expect("SET VARIABLE AGI_ERROR RuntimeError")
        peer.reply("200 result=1")
        assert await peer.closed()
    assert server.stats.handler_errors == 1


async def test_asterisk_hangup_ends_the_handler() -> None:
    hangups: list[BaseException] = []

    async def greet(agi: AgiSession) -> None:
        try:
            await agi.command("STREAM FILE", "x", '""')
        except AgiHangup as exc:
            hangups.append(exc)
            raise

    async with AgiServer(port=0, handlers={"greet": greet}) as server:
        peer = await Asterisk.connect(server.port)
        await peer.expect('STREAM FILE x "\\"\\""')
        peer.reply("HANGUP")
        assert await peer.closed()
    assert len(hangups) == 1 and server.stats.handler_errors == 0


@pytest.mark.parametrize("payload", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"agi_network: yes\nagi_channel: x\n\n",  # no script
    b"\n",
    b"\xff\xfe\x00garbage\n\n",
    b"agi_network_script: greet\n",  # never finished: request timeout
    b"x" * 70_000,  # no newline at all
])
async def test_malformed_requests_never_kill_the_server(payload: bytes) -> None:
    async def ok(agi: AgiSession) -> None:
        await agi.verbose("ok")

    async with AgiServer(port=0, handlers={"greet": ok}, request_timeout=0.5) as server:
        bad = await Asterisk.connect(server.port, env=None)
        bad.writer.write(payload)
        assert await bad.closed()
        good = await Asterisk.connect(server.port)
        await good.expect("VERBOSE ok 1")
        good.reply("200 result=1")
        assert await good.closed()
    assert server.stats.malformed == 1 and server.stats.completed == 1


async def test_unknown_script_is_closed() -> None:
    async with AgiServer(port=0, handlers={}) as server:
        peer = await Asterisk.connect(server.port)
        assert await peer.closed()
    assert server.stats.unknown_script == 1


async def test_route_decorator_and_duplicates() -> None:
    server = AgiServer(port=0)

    @server.route("a")
    async def a(agi: AgiSession) -> None:
        pass

    with pytest.raises(ValueError, match="already"):
        server.add_handler("a", a)


async def test_handler_error_can_hang_the_channel_up() -> None:
    async def broken(agi: AgiSession) -> None:
        raise KeyError("bug")

    async with AgiServer(port=0, handlers={"greet": broken}, hangup_on_error=True) as server:
        peer = await Asterisk.connect(server.port)
        await peer.expect("SET VARIABLE AGI_ERROR KeyError")
        peer.reply("200 result=1")
        await peer.expect("HANGUP")
        peer.reply("200 result=1")
        assert await peer.closed()
    assert server.stats.handler_errors == 1
