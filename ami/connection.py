"""One AMI session over TCP: banner, Login, FullyBooted, actions with timeouts, a keep-alive that
checks the reply; and the backoff with jitter used between sessions.

Pending actions belong to the session that sent them: when it drops they fail with
`AmiConnectionLost`, and a new session starts with an empty table, so nothing is ever re-sent
behind the caller's back (panoramisk re-sends unanswered actions on reconnect: double dials).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiConnectionError,
    AmiConnectionLost,
    AmiProtocolError,
    AmiTimeout,
)
from ami.protocol import DEFAULT_MAX_MESSAGE_BYTES, Message, Parser, serialize_action

__all__ = ["AmiOptions", "AmiSession", "backoff_delay", "open_session"]

log = logging.getLogger(__name__)

# Event names the dialer needs; everything else is filtered out by Asterisk itself (Filter action)
# so a busy server does not flood the client (`Newexten`/`VarSet` alone are most of the traffic).
# These are what the session (FullyBooted, Shutdown) and the call tracker (ami.calls) read; the rest
# (DialBegin/DialEnd/BridgeEnter: two or three of the nine messages of a call) is parsed for nobody.
# Add names through `AmiOptions.event_names` where a consumer needs more.
DEFAULT_EVENT_NAMES: frozenset[str] = frozenset({
    "FullyBooted", "Shutdown", "Reload",
    "OriginateResponse", "Newchannel", "Newstate", "Hangup", "Cdr", "UserEvent",
})


@dataclass(frozen=True, slots=True)
class AmiOptions:
    """Timeouts and limits of the AMI layer (seconds unless named otherwise)."""

    connect_timeout: float = 5.0
    login_timeout: float = 5.0
    boot_timeout: float = 60.0
    action_timeout: float = 10.0
    # A half-open link is declared dead at most ping_interval + ping_timeout after it stops answering.
    ping_interval: float = 5.0
    ping_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 15.0
    # How long __aenter__ keeps retrying the first connection before giving up.
    first_connect_timeout: float = 15.0
    # Login `Events:` classes; `dialplan` (Newexten, VarSet) is left out on purpose.
    event_classes: str = "system,call,user,cdr,reporting,agent"
    # Event names Asterisk should send us (Filter action); None sends everything in event_classes.
    event_names: frozenset[str] | None = DEFAULT_EVENT_NAMES
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # After the primary channel's Hangup, wait this long for its Cdr (billsec) before resolving.
    cdr_grace: float = 1.5
    # After an OriginateResponse failure, wait this long for the Hangup cause.
    hangup_grace: float = 1.5
    # A call with no OriginateResponse this long after its originate timeout is resolved `lost`.
    originate_margin: float = 60.0


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so reconnecting workers
    spread out instead of hammering a restarting Asterisk in step."""
    ceiling = min(maximum, initial * 2.0 ** min(attempt, 30))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


class _Pending:
    __slots__ = ("action", "channel_id", "events", "future", "is_list", "response")

    def __init__(self, action: str, future: asyncio.Future[list[Message]], is_list: bool,
                 channel_id: str | None) -> None:
        self.action = action
        self.future = future
        self.is_list = is_list
        self.channel_id = channel_id
        self.response: Message | None = None
        self.events: list[Message] = []

    def add(self, message: Message) -> bool:
        """Take a message with this ActionID; True when the action is complete."""
        if self.future.done():
            return True  # its waiter timed out or was cancelled: nobody wants the answer
        if message.is_response:
            self.response = message
            if not self.is_list or message.name != "Success" or message.get("EventList") is None:
                # Error, or a list action that answered without a list.
                self.future.set_result([message])
                return True
            return False
        if self.response is None:
            return False
        if (message.get("EventList") or "").lower() == "complete":
            self.future.set_result([self.response, *self.events])
            return True
        self.events.append(message)
        return False


class AmiSession(asyncio.Protocol):
    """One TCP connection to AMI. Messages that answer none of its pending actions go to `sink`."""

    def __init__(self, sink: Callable[[Message], None], *, max_message_bytes: int, name: str) -> None:
        self._sink = sink
        self.name = name
        self.parser = Parser(max_message_bytes=max_message_bytes)
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._prefix = f"{name}-{random.getrandbits(32):08x}-"
        self._transport: asyncio.Transport | None = None
        self._outbox: list[bytes] = []
        loop = asyncio.get_running_loop()
        self._banner: asyncio.Future[str] = loop.create_future()
        self._booted: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[BaseException | None] = loop.create_future()
        self.close_reason: str | None = None
        self.shutdown_seen = False
        self.sink_errors = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have the same interface.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Kernel keep-alive as a backstop under our own Ping.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.parser.feed(data)
        except AmiProtocolError as exc:
            log.error("ami.protocol_error session=%s error=%s", self.name, str(exc))
            self.abort(f"protocol error: {exc}")
            return
        if not self._banner.done() and self.parser.banner:
            self._banner.set_result(self.parser.banner)
        pending = self._pending
        for message in messages:
            action_id = message.headers.get("ActionID")
            if action_id is not None:
                waiting = pending.get(action_id)
                # Only list actions own events; an OriginateResponse shares the Originate's ActionID
                # and may even overtake its Response, so it goes to the sink.
                if waiting is not None and (message.is_response or waiting.is_list):
                    if waiting.add(message):
                        del pending[action_id]
                    continue
            if message.is_event:
                name = message.name
                if name == "FullyBooted" and not self._booted.done():
                    self._booted.set_result(None)
                elif name == "Shutdown":
                    self.shutdown_seen = True
            try:
                self._sink(message)
            except Exception:  # the reader must survive any consumer
                self.sink_errors += 1
                log.exception("ami.sink_failed session=%s event=%s", self.name, message.name)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self.close_reason or (f"connection lost: {exc}" if exc else "connection closed by peer")
        self.close_reason = reason
        self._transport = None
        pending, self._pending = self._pending, {}
        for waiting in pending.values():
            if not waiting.future.done():
                waiting.future.set_exception(AmiConnectionLost(
                    f"{waiting.action}: AMI {reason}; not re-sent",
                    action=waiting.action, channel_id=waiting.channel_id,
                ))
        for future in (self._banner, self._booted):
            if not future.done():
                future.set_exception(AmiConnectionLost(f"AMI {reason}"))
                future.exception()  # mark retrieved: nobody may be waiting on it any more
        if not self.closed.done():
            self.closed.set_result(exc)

    # Actions

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def next_action_id(self) -> str:
        return self._prefix + str(next(self._ids))

    def _send(self, action: str, fields: Iterable[tuple[str, str]], is_list: bool,
              channel_id: str | None, action_id: str | None = None,
              ) -> tuple[str, asyncio.Future[list[Message]]]:
        action_id = action_id or self.next_action_id()
        data = serialize_action(action, action_id, fields)  # refuses unsafe fields before anything
        transport = self._transport
        if transport is None or transport.is_closing():
            raise AmiConnectionLost(
                f"{action}: AMI not connected ({self.close_reason})", action=action, channel_id=channel_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Message]] = loop.create_future()
        self._pending[action_id] = _Pending(action, future, is_list, channel_id)
        # Actions sent in one loop iteration (a burst of originates) leave in one write: one syscall
        # and one TCP segment instead of one each.
        self._outbox.append(data)
        if len(self._outbox) == 1:
            loop.call_soon(self._flush)
        return action_id, future

    def _flush(self) -> None:
        data = b"".join(self._outbox)
        self._outbox.clear()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def _await(self, action: str, action_id: str, future: asyncio.Future[list[Message]],
                     timeout_s: float, channel_id: str | None) -> list[Message]:
        try:
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            raise AmiTimeout(f"{action}: no answer from AMI within {timeout_s}s", action=action,
                             channel_id=channel_id) from None
        finally:
            self._pending.pop(action_id, None)

    async def action(self, action: str, fields: Iterable[tuple[str, str]] = (), *, timeout_s: float,
                     channel_id: str | None = None, action_id: str | None = None) -> Message:
        """Send an action and return its Response (Success or Error: the caller judges)."""
        action_id, future = self._send(action, fields, False, channel_id, action_id)
        return (await self._await(action, action_id, future, timeout_s, channel_id))[0]

    async def action_list(self, action: str, fields: Iterable[tuple[str, str]] = (), *,
                          timeout_s: float) -> list[Message]:
        """Send a list action (EventList: start ... Complete); return its events, Complete excluded.

        Raises AmiActionError when Asterisk answers Error.
        """
        action_id, future = self._send(action, fields, True, None)
        response, *events = await self._await(action, action_id, future, timeout_s, None)
        if response.name not in ("Success", "Follows"):
            raise AmiActionError(action, response.get("Message") or response.name)
        return events

    def abort(self, reason: str) -> None:
        """Drop the connection now (half-open link, protocol error, shutdown)."""
        if self.close_reason is None:
            self.close_reason = reason
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        """Log off politely, then close."""
        if self.is_open:
            try:
                await self.action("Logoff", timeout_s=1.0)
            except Exception as exc:  # best effort: the socket closes either way
                log.debug("ami.logoff_failed error=%s", repr(exc))
        if self.close_reason is None:
            self.close_reason = "closed by client"
        if self._transport is not None:
            self._transport.close()
        await asyncio.shield(self.closed)

    async def keepalive(self, interval: float, timeout_s: float) -> BaseException | None:
        """Ping until the connection ends; a missing or wrong Pong drops the link. Returns the close cause."""
        while not self.closed.done():
            done, _ = await asyncio.wait({self.closed}, timeout=interval)
            if done:
                break
            try:
                reply = await self.action("Ping", timeout_s=timeout_s)
            except AmiTimeout:
                log.warning("ami.ping_timeout session=%s timeout=%s", self.name, timeout_s)
                self.abort(f"no Ping reply within {timeout_s}s (half-open link)")
                break
            except AmiConnectionLost:
                break
            if reply.name != "Success":
                log.warning("ami.ping_failed session=%s reply=%s", self.name, reply.name)
                self.abort(f"Ping answered {reply.name}")
                break
        return await asyncio.shield(self.closed)


async def open_session(
    host: str, port: int, username: str, secret: str, options: AmiOptions, sink: Callable[[Message], None],
    *, name: str = "ami",
) -> AmiSession:
    """Connect, log in, and wait for FullyBooted; the session is returned ready for actions."""
    loop = asyncio.get_running_loop()
    session = AmiSession(sink, max_message_bytes=options.max_message_bytes, name=name)
    try:
        async with asyncio.timeout(options.connect_timeout):
            await loop.create_connection(lambda: session, host, port)
    except (OSError, TimeoutError) as exc:
        raise AmiConnectionError(f"cannot connect to AMI at {host}:{port}: {exc!r}") from exc
    try:
        try:
            async with asyncio.timeout(options.login_timeout):
                await asyncio.shield(session._banner)
        except TimeoutError:
            raise AmiConnectionError(f"no AMI banner from {host}:{port}") from None
        reply = await session.action(
            "Login",
            [("Username", username), ("Secret", secret), ("Events", options.event_classes or "off")],
            timeout_s=options.login_timeout,
        )
        if reply.name != "Success":
            reason = reply.get("Message") or reply.name
            # Only a refused secret is final; "Asterisk is shutting down" and the like pass.
            error = AmiAuthError if "authentication" in reason.lower() else AmiConnectionError
            raise error(f"AMI login as {username!r} at {host}:{port} refused: {reason}")
        try:
            async with asyncio.timeout(options.boot_timeout):
                await asyncio.shield(session._booted)
        except TimeoutError:
            raise AmiConnectionError(
                f"Asterisk at {host}:{port} not FullyBooted within {options.boot_timeout}s") from None
        if options.event_names is not None:
            await _install_filter(session, options)
    except BaseException:
        session.abort("setup failed")
        raise
    return session


async def _install_filter(session: AmiSession, options: AmiOptions) -> None:
    # One include filter (a POSIX regex over the event text) for the names we want; responses to
    # our own actions are not subject to filters. `[[:space:]]` stands for the CR after the name.
    names = "|".join(sorted(options.event_names or ()))
    reply = await session.action(
        "Filter", [("Operation", "Add"), ("Filter", f"Event: ({names})[[:space:]]")],
        timeout_s=options.action_timeout,
    )
    if reply.name != "Success":
        # Not fatal: we only receive more than we need.
        log.warning("ami.filter_refused reply=%s", reply.get("Message") or reply.name)
