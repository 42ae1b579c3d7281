"""An asyncio FastAGI server for `AGI(agi://host:port/<script>)` calls from the dialplan.

Handlers are registered by script name and get an `AgiSession`: the parsed `agi_` environment and
`await agi.command(...)` returning a parsed `AgiResult`. A malformed request, an unknown script, a
handler error or a command timeout ends that one session cleanly (logged, counted) and never the
server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Self

from ami.errors import AgiCommandError, AgiError, AgiHangup, AgiProtocolError, AgiTimeout, UnsafeFieldError

__all__ = [
    "AgiEnvironment",
    "AgiHandler",
    "AgiResult",
    "AgiServer",
    "AgiSession",
    "AgiStats",
    "parse_environment",
    "parse_result_line",
]

log = logging.getLogger(__name__)

AgiHandler = Callable[["AgiSession"], Awaitable[None]]

_MAX_ENV_BYTES = 64 * 1024
_MAX_LINE_BYTES = 16 * 1024
_ENV_KEY = re.compile(r"agi_[a-z0-9_]+\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# "200 result=1 (speech) endpos=1234": the result value, optional data in parentheses, then key=value.
_RESULT = re.compile(r"result=(?P<result>\S*)(?:\s+\((?P<data>[^)]*)\))?(?P<rest>.*)\Z")
# "200 result=..." or "520-Invalid command syntax..." (a dash starts a multi-line reply).
_STATUS = re.compile(r"(\d{3})[ -]?(.*)\Z")
_KEY_VALUE = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The `agi_` variables Asterisk sends before the first command (res_agi.c setup_env())."""

    script: str
    """The path after host:port in the agi:// URL, without query (`agi_network_script`)."""
    args: tuple[str, ...]
    channel: str
    uniqueid: str
    linkedid: str
    callerid: str
    calleridname: str
    context: str
    extension: str
    priority: str
    raw: Mapping[str, str] = field(repr=False)

    def get(self, name: str, default: str = "") -> str:
        """Any variable by name, with or without the `agi_` prefix."""
        key = name if name.startswith("agi_") else f"agi_{name}"
        return self.raw.get(key, default)


def parse_environment(lines: list[str]) -> AgiEnvironment:
    """Build the environment from `agi_name: value` lines; raises AgiProtocolError naming the bad line."""
    raw: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition(":")
        if not sep or not _ENV_KEY.match(key):
            raise AgiProtocolError(f"AGI environment line {number} is not 'agi_name: value': {line[:80]!r}")
        raw[key] = value[1:] if value.startswith(" ") else value
    if "agi_network_script" not in raw and "agi_request" not in raw:
        raise AgiProtocolError("AGI environment has neither agi_network_script nor agi_request")
    script = raw.get("agi_network_script")
    if script is None:
        # agi://host:port/script?x -> script
        _, _, script = raw["agi_request"].partition("://")[2].partition("/")
    script = script.split("?", 1)[0]
    args: list[str] = []
    n = 1
    while f"agi_arg_{n}" in raw:
        args.append(raw[f"agi_arg_{n}"])
        n += 1
    return AgiEnvironment(
        script=script,
        args=tuple(args),
        channel=raw.get("agi_channel", ""),
        uniqueid=raw.get("agi_uniqueid", ""),
        linkedid=raw.get("agi_linkedid", ""),
        callerid=raw.get("agi_callerid", ""),
        calleridname=raw.get("agi_calleridname", ""),
        context=raw.get("agi_context", ""),
        extension=raw.get("agi_extension", ""),
        priority=raw.get("agi_priority", ""),
        raw=MappingProxyType(raw),
    )


@dataclass(frozen=True, slots=True)
class AgiResult:
    """A parsed `200 result=...` reply."""

    code: int
    result: str
    data: str | None
    extra: Mapping[str, str]
    line: str

    @property
    def value(self) -> int:
        """`result` as an integer (most commands return one), else ValueError."""
        return int(self.result)


def parse_result_line(line: str) -> AgiResult:
    """Parse one reply line: `200 result=1 (value) endpos=5`, `510 Invalid ...`, `HANGUP`."""
    if line == "HANGUP":
        raise AgiHangup("Asterisk reported HANGUP")
    head = _STATUS.match(line)
    if head is None:
        raise AgiProtocolError(f"AGI reply without a status code: {line[:120]!r}")
    code, rest = int(head.group(1)), head.group(2)
    match = _RESULT.match(rest) if code in (100, 200) else None
    if match is None:
        return AgiResult(code, "", None, MappingProxyType({}), line)
    extra = dict(_KEY_VALUE.findall(match.group("rest")))
    return AgiResult(code, match.group("result"), match.group("data"), MappingProxyType(extra), line)


def _quote(arg: str) -> str:
    if _CONTROL.search(arg):
        raise UnsafeFieldError(f"AGI argument contains a control character: {arg!r}")
    if arg == "" or any(c in arg for c in ' "\\'):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


class AgiSession:
    """One FastAGI connection, handed to the handler for its script."""

    def __init__(
        self, env: AgiEnvironment, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        command_timeout: float,
    ) -> None:
        self.env = env
        self._reader = reader
        self._writer = writer
        self.command_timeout = command_timeout
        self.hung_up = False

    async def command(self, verb: str, *args: str, timeout_s: float | None = None) -> AgiResult:
        """Send one AGI command and return its 200 reply.

        Raises AgiCommandError on 510/520 (and any other non-200), AgiHangup when the channel went
        away, AgiTimeout when no reply came within `timeout_s` (default: the server's per-command one).
        """
        if _CONTROL.search(verb):
            raise UnsafeFieldError(f"AGI command contains a control character: {verb!r}")
        if self.hung_up:
            raise AgiHangup(f"channel {self.env.channel} already hung up")
        line = " ".join([verb, *(_quote(a) for a in args)])
        self._writer.write(line.encode("utf-8") + b"\n")
        limit = self.command_timeout if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(limit):
                await self._writer.drain()
                return await self._read_reply(line)
        except TimeoutError:
            raise AgiTimeout(f"AGI command {line!r} got no reply within {limit}s") from None

    async def _read_reply(self, command: str) -> AgiResult:
        while True:
            text = await self._readline()
            try:
                result = parse_result_line(text)
            except AgiHangup:
                # FastAGI: Asterisk sends HANGUP, then keeps answering commands with 511 until we quit.
                self.hung_up = True
                raise
            if result.code == 100:  # "100 result=0 Trying..." precedes the real reply
                continue
            if result.code == 520 and text.startswith("520-"):
                usage = [text]
                while not text.startswith("520 "):
                    text = await self._readline()
                    usage.append(text)
                raise AgiCommandError(command, 520, "\n".join(usage))
            if result.code == 511:
                self.hung_up = True
                raise AgiHangup(f"command {command!r} on a dead channel: {text}")
            if result.code != 200:
                raise AgiCommandError(command, result.code, text)
            return result

    async def _readline(self) -> str:
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            self.hung_up = True
            raise AgiHangup("Asterisk closed the AGI connection") from None
        except asyncio.LimitOverrunError as exc:
            raise AgiProtocolError("AGI reply line too long") from exc
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    # A few commands every handler needs; anything else goes through command().

    async def get_variable(self, name: str) -> str | None:
        result = await self.command("GET VARIABLE", name)
        return result.data if result.result == "1" else None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, str(level))

    async def hangup(self) -> None:
        await self.command("HANGUP")


@dataclass(slots=True)
class AgiStats:
    sessions: int = 0
    completed: int = 0
    malformed: int = 0
    unknown_script: int = 0
    handler_errors: int = 0


class AgiServer:
    """`async with AgiServer(host, port) as server:` serves until the block ends.

    `port=0` picks a free port (see `server.port`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        handlers: Mapping[str, AgiHandler] | None = None,
        command_timeout: float = 10.0,
        request_timeout: float = 5.0,
        hangup_on_error: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.command_timeout = command_timeout
        self.request_timeout = request_timeout
        # After a handler error the channel gets AGI_ERROR=<exception type> and the AGI session
        # ends; the dialplan goes on (and may branch on AGI_ERROR) unless this hangs it up first.
        self.hangup_on_error = hangup_on_error
        self.stats = AgiStats()
        self._handlers: dict[str, AgiHandler] = dict(handlers or {})
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    def route(self, script: str) -> Callable[[AgiHandler], AgiHandler]:
        """Decorator registering a handler for `agi://host:port/<script>`."""

        def register(handler: AgiHandler) -> AgiHandler:
            self.add_handler(script, handler)
            return handler

        return register

    def add_handler(self, script: str, handler: AgiHandler) -> None:
        if script in self._handlers:
            raise ValueError(f"AGI script {script!r} already has a handler")
        self._handlers[script] = handler

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=_MAX_LINE_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("agi.listening host=%s port=%s", self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        # Sessions are owned here: cancel the ones still running and wait for them.
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        self.stats.sessions += 1
        peer = writer.get_extra_info("peername")
        try:
            await self._session(reader, writer, peer)
        except asyncio.CancelledError:
            raise
        except Exception:  # the server outlives any one session
            self.stats.handler_errors += 1
            log.exception("agi.session_crashed peer=%s", peer)
        finally:
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> None:
        try:
            async with asyncio.timeout(self.request_timeout):
                lines = await self._read_environment(reader)
            env = parse_environment(lines)
        except (AgiProtocolError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError) as exc:
            self.stats.malformed += 1
            log.warning("agi.malformed_request peer=%s error=%s", peer, repr(exc))
            return
        handler = self._handlers.get(env.script)
        if handler is None:
            self.stats.unknown_script += 1
            log.error("agi.unknown_script script=%s channel=%s", env.script, env.channel)
            return
        session = AgiSession(env, reader, writer, self.command_timeout)
        try:
            await handler(session)
        except AgiHangup:
            log.info("agi.hangup script=%s channel=%s", env.script, env.channel)
        except (AgiError, Exception) as exc:
            self.stats.handler_errors += 1
            log.exception("agi.handler_failed script=%s channel=%s", env.script, env.channel)
            if not session.hung_up and not isinstance(exc, AgiTimeout):
                # Tell the dialplan why, then end the session; the channel goes on in the dialplan.
                with contextlib.suppress(Exception):
                    await session.command("SET VARIABLE", "AGI_ERROR", type(exc).__name__, timeout_s=1.0)
                    if self.hangup_on_error:
                        await session.command("HANGUP", timeout_s=1.0)
            return
        self.stats.completed += 1

    async def _read_environment(self, reader: asyncio.StreamReader) -> list[str]:
        lines: list[str] = []
        size = 0
        while True:
            raw = await reader.readuntil(b"\n")
            size += len(raw)
            if size > _MAX_ENV_BYTES:
                raise AgiProtocolError(f"AGI environment larger than {_MAX_ENV_BYTES} bytes")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if not lines:
                    raise AgiProtocolError("empty AGI environment")
                return lines
            lines.append(line)
