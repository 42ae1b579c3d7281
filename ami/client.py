"""The AMI client the dialer uses: a reconnecting facade over `AmiSession`, actions with timeouts,
originate with call tracking, event fan-out to bounded streams, and resync after reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import math
import random
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

from ami.calls import (
    CallEvent,
    CallHandle,
    CallSnapshot,
    CallTracker,
    ChannelInfo,
    OriginateRequest,
    TrackerStats,
)
from ami.clock import Clock, ClockSample, SystemClock
from ami.connection import AmiOptions, AmiSession, backoff_delay, open_session
from ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiClosed,
    AmiConnectionError,
    AmiConnectionLost,
    AmiError,
    AmiProtocolError,
    AmiTimeout,
    OriginateRejected,
    UnsafeFieldError,
)
from ami.events import EventHub, EventStream
from ami.protocol import Message

__all__ = ["AmiClient", "AmiStats", "ConnectionState", "parse_ami_url", "redacted_url"]

log = logging.getLogger(__name__)

# A deadline timer that finds nothing due (an injected clock behind the loop's) looks again this soon.
_RECHECK = 0.1


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


@dataclass(slots=True)
class AmiStats:
    """Counters for metrics; read them, do not reset them."""

    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    asterisk_restarts: int = 0
    resyncs: int = 0
    actions_lost: int = 0
    action_timeouts: int = 0
    events_received: int = 0
    callback_errors: int = 0


def redacted_url(url: str) -> str:
    """`url` with its secret (between `user:` and the last `@`) shown as ***."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not (sep and at):
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def parse_ami_url(url: str) -> tuple[str, int, str, str]:
    """`ami://user:secret@host:port` -> (host, port, user, secret); ValueError naming what is wrong
    (the URL quoted without its secret)."""
    parts = urlsplit(url)
    shown = redacted_url(url)
    if parts.scheme != "ami":
        raise ValueError(f"AMI URL {shown!r}: scheme must be ami://")
    if not parts.hostname:
        raise ValueError(f"AMI URL {shown!r}: no host")
    if parts.username is None or parts.password is None:
        raise ValueError(f"AMI URL {shown!r}: needs user:secret@")
    try:
        port = parts.port or 5038
    except ValueError:
        raise ValueError(f"AMI URL {shown!r}: bad port") from None
    return parts.hostname, port, unquote(parts.username), unquote(parts.password)


class AmiClient:
    """`async with AmiClient(host, port, username, secret) as client:` one managed AMI connection.

    The client reconnects by itself (backoff with jitter) for as long as it is open. It owns one
    task, the connection supervisor, and awaits it on close; the tracked calls' deadlines are one
    loop timer, armed for the earliest (no polling while nothing is due).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "",
        secret: str = "",
        *,
        options: AmiOptions | None = None,
        clock: Clock | None = None,
        name: str = "ami",
        channel_id_prefix: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.options = options or AmiOptions()
        self.name = name
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self.channel_id_prefix = channel_id_prefix or f"{name}-{self._rng.getrandbits(32):08x}-"
        self._channel_seq = itertools.count(1)
        self.stats = AmiStats()
        self._events: EventHub[Message] = EventHub()
        self._call_events: EventHub[CallEvent] = EventHub()
        self._callbacks: list[tuple[Callable[[Message], None], frozenset[str] | None]] = []
        self._state_listeners: list[Callable[[ConnectionState], None]] = []
        self._tracker = CallTracker(
            self._clock, cdr_grace=self.options.cdr_grace, hangup_grace=self.options.hangup_grace,
            originate_margin=self.options.originate_margin, publish=self._call_events.publish,
            on_deadline=self._arm_deadline,
        )
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf  # the tracker's monotonic deadline the timer is armed for
        self._state = ConnectionState.DISCONNECTED
        self._session: AmiSession | None = None
        self._epoch = 0
        self._startup: tuple[str | None, str | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ready: asyncio.Future[None] | None = None
        self._connected_event: asyncio.Event | None = None
        self._closing = False

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> AmiClient:
        host, port, user, secret = parse_ami_url(url)
        return cls(host, port, user, secret, **kwargs)  # type: ignore[arg-type]

    # Lifecycle

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Start the supervisor and wait for the first session (retrying within first_connect_timeout)."""
        if self._tasks:
            raise AmiError("AmiClient already open")
        self._closing = False
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._connected_event = asyncio.Event()
        self._tasks = [loop.create_task(self._supervise(), name=f"{self.name}-supervisor")]
        self._rearm()  # calls tracked before a reopen keep their deadlines
        try:
            async with asyncio.timeout(self.options.first_connect_timeout):
                await asyncio.shield(self._ready)
        except TimeoutError:
            await self.close()
            raise AmiConnectionError(
                f"no AMI session with {self.server} within {self.options.first_connect_timeout}s"
            ) from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Log off, stop the tasks, and resolve every tracked call from what is known."""
        if self._closing and not self._tasks:
            return
        self._closing = True
        session = self._session
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.close(), 2.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._disarm()
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self._tracker.abandon_all()
        self._events.close()
        self._call_events.close()
        self._set_state(ConnectionState.CLOSED)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED

    @property
    def asterisk_version(self) -> str | None:
        return self._session.parser.version if self._session is not None else None

    def add_state_listener(self, listener: Callable[[ConnectionState], None]) -> Callable[[], None]:
        """Call `listener(state)` on every change (e.g. to set `dialer_ami_connected{server}`);
        it is called at once with the current state. Returns a function that removes it."""
        self._state_listeners.append(listener)
        self._notify(listener, self._state)
        return lambda: self._state_listeners.remove(listener) if listener in self._state_listeners else None

    async def wait_connected(self) -> None:
        if self._connected_event is None:
            raise AmiClosed("AmiClient is not open")
        await self._connected_event.wait()

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        if self._connected_event is not None:
            if state is ConnectionState.CONNECTED:
                self._connected_event.set()
            else:
                self._connected_event.clear()
        for listener in list(self._state_listeners):
            self._notify(listener, state)

    def _notify(self, listener: Callable[[ConnectionState], None], state: ConnectionState) -> None:
        try:
            listener(state)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("ami.state_listener_failed")

    # Supervisor

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            self._set_state(ConnectionState.CONNECTING)
            try:
                session = await open_session(
                    self.host, self.port, self.username, self._secret, self.options, self._on_message,
                    name=self.name,
                )
            except AmiAuthError as exc:
                self.stats.connect_failures += 1
                log.error("ami.login_refused server=%s error=%s", self.server, str(exc))
                if self._ready is not None and not self._ready.done():
                    self._ready.set_exception(exc)
                    return
            except (AmiError, OSError) as exc:
                self.stats.connect_failures += 1
                log.warning("ami.connect_failed server=%s error=%s attempt=%s", self.server, str(exc),
                            attempt)
            else:
                attempt = 0
                try:
                    await self._run_session(session)
                except Exception:  # a bug in one session must not end the reconnecting
                    log.exception("ami.session_failed server=%s", self.server)
            if self._closing:
                break
            self._set_state(ConnectionState.DISCONNECTED)
            await asyncio.sleep(backoff_delay(attempt, self.options.backoff_initial, self.options.backoff_max,
                                              self._rng))
            attempt += 1

    async def _run_session(self, session: AmiSession) -> None:
        self._epoch += 1
        epoch = self._epoch
        self._session = session
        self.stats.connects += 1
        try:
            try:
                await self._after_connect(session, epoch)
            except AmiError as exc:
                log.warning("ami.resync_failed server=%s error=%s", self.server, str(exc))
                session.abort(f"resync failed: {exc}")
            else:
                log.info("ami.connected server=%s epoch=%s", self.server, epoch)
                self._set_state(ConnectionState.CONNECTED)
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
            cause = await session.keepalive(self.options.ping_interval, self.options.ping_timeout)
            log.log(logging.INFO if self._closing else logging.WARNING,
                    "ami.disconnected server=%s reason=%s error=%s", self.server, session.close_reason, repr(cause))
        finally:
            self._session = None
            self.stats.disconnects += 1
            if not session.closed.done():
                session.abort("supervisor stopped")

    async def _after_connect(self, session: AmiSession, epoch: int) -> None:
        """Detect an Asterisk restart, then settle calls of earlier sessions (CoreShowChannels)."""
        timeout = self.options.action_timeout
        status = await session.action("CoreStatus", timeout_s=timeout)
        startup = (status.get("CoreStartupDate"), status.get("CoreStartupTime"))
        restarted = self._startup is not None and startup != self._startup
        self._startup = startup
        if restarted:
            self.stats.asterisk_restarts += 1
            log.warning("ami.asterisk_restarted server=%s", self.server)
        if not self._tracker.unsettled(epoch):
            return
        channels = await session.action_list("CoreShowChannels", timeout_s=timeout)
        live: set[str] = set()
        for channel in channels:
            uniqueid = channel.get("Uniqueid")
            if uniqueid:
                live.add(uniqueid)
                self._tracker.mark_answered_if_up(uniqueid, channel.get("ChannelStateDesc") or "")
        resolved = self._tracker.resync(live, before_epoch=epoch, restarted=restarted)
        self.stats.resyncs += 1
        log.info("ami.resynced server=%s resolved=%s live=%s", self.server, resolved, len(live))

    # Deadlines of tracked calls: one timer for the earliest

    def _arm_deadline(self, deadline: float) -> None:
        """The tracker scheduled a deadline: move the timer earlier if it is."""
        if deadline < self._timer_at and self._tasks and not self._closing:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        delay = max(0.0, deadline - self._clock.monotonic())
        self._timer_at = deadline
        self._deadline_timer = asyncio.get_running_loop().call_later(delay, self._on_deadline_timer)

    def _disarm(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_timer = None
        self._timer_at = math.inf

    def _rearm(self) -> None:
        self._disarm()
        deadline = self._tracker.next_deadline()
        if deadline is None:
            return
        if deadline <= self._clock.monotonic():
            # Due but not expired: the injected clock is behind the loop's; look again shortly.
            self._timer_at = deadline
            self._deadline_timer = asyncio.get_running_loop().call_later(_RECHECK, self._on_deadline_timer)
            return
        self._arm(deadline)

    def _on_deadline_timer(self) -> None:
        self._deadline_timer = None
        self._timer_at = math.inf
        try:
            self._tracker.expire()
        except Exception:  # a tracker bug must not stop the deadlines of every other call
            log.exception("ami.expire_failed")
        if self._tasks and not self._closing:
            self._rearm()

    # Incoming messages (called by the session's reader: never block, never raise)

    def _on_message(self, message: Message) -> None:
        if not message.is_event:
            return
        self.stats.events_received += 1
        try:
            self._tracker.on_event(message)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("ami.tracker_failed event=%s", message.name)
        for callback, names in self._callbacks:
            if names is not None and message.name not in names:
                continue
            try:
                callback(message)
            except Exception:  # a consumer's bug never costs the connection
                self.stats.callback_errors += 1
                log.exception("ami.callback_failed event=%s", message.name)
        self._events.publish(message)

    # Consumers

    def events(self, names: Collection[str] | None = None, *, maxsize: int = 10_000) -> EventStream[Message]:
        """A bounded stream of AMI events (only `names` if given; only what `options.event_names`
        lets through from Asterisk). Use as `async with client.events({"Cdr"}) as stream: async for ...`.
        A full stream drops new events and counts them in `stream.dropped`."""
        wanted = frozenset(names) if names is not None else None
        accept = (lambda m: m.name in wanted) if wanted is not None else None
        return self._events.subscribe(maxsize, accept)

    def call_events(self, *, maxsize: int = 10_000) -> EventStream[CallEvent]:
        """A bounded stream of CallStarted / CallAnswered / CallEnded for metrics."""
        return self._call_events.subscribe(maxsize)

    def on_event(self, callback: Callable[[Message], None], names: Collection[str] | None = None
                 ) -> Callable[[], None]:
        """Call `callback(event)` synchronously in the reader; exceptions are logged and counted.
        Returns a function that removes it. Keep it quick: prefer `events()` for real work."""
        entry = (callback, frozenset(names) if names is not None else None)
        self._callbacks.append(entry)
        return lambda: self._callbacks.remove(entry) if entry in self._callbacks else None

    @property
    def events_dropped(self) -> int:
        return self._events.dropped + self._call_events.dropped

    @property
    def tracker_stats(self) -> TrackerStats:
        return self._tracker.stats

    # Actions

    def _require_session(self, action: str, channel_id: str | None = None) -> AmiSession:
        if self._closing or not self._tasks:
            raise AmiClosed(f"{action}: AmiClient is closed")
        session = self._session
        if session is None or not session.is_open:
            raise AmiConnectionLost(f"{action}: not connected to AMI at {self.server}", action=action,
                                    channel_id=channel_id)
        return session

    async def action(self, action: str, fields: Iterable[tuple[str, str]] = (), *,
                     timeout_s: float | None = None, check: bool = True) -> Message:
        """Send one action; its Response. Raises AmiActionError on `Response: Error` when `check`,
        AmiTimeout, AmiConnectionLost (never re-sent)."""
        session = self._require_session(action)
        try:
            reply = await session.action(action, fields, timeout_s=timeout_s or self.options.action_timeout)
        except AmiTimeout:
            self.stats.action_timeouts += 1
            raise
        except AmiConnectionLost:
            self.stats.actions_lost += 1
            raise
        if check and reply.name == "Error":
            raise AmiActionError(action, reply.get("Message") or "")
        return reply

    async def server_clock(self) -> ClockSample:
        """Asterisk's clock against this host's, from a Ping's `Timestamp` (the epoch time Asterisk
        stamps its CDRs with). AmiProtocolError when the reply carries none."""
        before = self._clock.now()
        reply = await self.action("Ping")
        after = self._clock.now()
        try:
            stamp = float(reply.get("Timestamp") or "")
        except ValueError:
            raise AmiProtocolError(f"Ping reply without a Timestamp from {self.server}") from None
        return ClockSample.between(before, datetime.fromtimestamp(stamp, UTC), after)

    async def action_list(self, action: str, fields: Iterable[tuple[str, str]] = (), *,
                          timeout_s: float | None = None) -> list[Message]:
        session = self._require_session(action)
        try:
            limit = timeout_s or self.options.action_timeout
            return await session.action_list(action, fields, timeout_s=limit)
        except AmiTimeout:
            self.stats.action_timeouts += 1
            raise
        except AmiConnectionLost:
            self.stats.actions_lost += 1
            raise

    def new_channel_id(self) -> str:
        # Fixed width: Asterisk matches a new ChannelId against live Uniqueids by prefix (channel.c
        # do_ids_conflict), so "p-4" would be refused while "p-43" is up.
        return f"{self.channel_id_prefix}{next(self._channel_seq):010d}"

    async def originate(self, request: OriginateRequest, *, timeout_s: float | None = None) -> CallHandle:
        """Place a call (always `Async: true`) and return its handle once Asterisk accepted it.

        Raises OriginateRejected when Asterisk answered the action with Error (nothing dialled).
        A ChannelId still in use (e.g. another worker retrying the same attempt) is accepted and then
        refused by Asterisk: that handle resolves `failed`, originate_reason 0, and nobody is dialled
        twice. AmiConnectionLost / AmiTimeout mean the call may exist: it stays tracked under
        `exc.channel_id` (see `call()`) and settles on resync.
        """
        channel_id = request.channel_id or self.new_channel_id()
        session = self._require_session("Originate", channel_id)
        other_id = f"{channel_id}-2" if request.is_local else None
        fields = request.fields(channel_id, other_id)
        handle = self._tracker.track(request, channel_id, other_id, self._epoch)
        action_id = session.next_action_id()
        self._tracker.sent(channel_id, action_id)
        try:
            limit = timeout_s or self.options.action_timeout
            reply = await session.action("Originate", fields, timeout_s=limit,
                                         channel_id=channel_id, action_id=action_id)
        except UnsafeFieldError:
            self._tracker.forget(channel_id)
            raise
        except AmiTimeout:
            self.stats.action_timeouts += 1
            raise
        except AmiConnectionLost:
            self.stats.actions_lost += 1
            raise
        if reply.name != "Success":
            self._tracker.forget(channel_id)
            raise OriginateRejected(channel_id, reply.get("Message") or reply.name)
        self._tracker.accepted(channel_id)
        return handle

    def call(self, channel_id: str) -> CallHandle | None:
        """The handle of a tracked call (e.g. after an originate raised AmiConnectionLost)."""
        return self._tracker.get(channel_id)

    def tracked_calls(self) -> list[CallSnapshot]:
        """Calls originated by this client and not yet resolved."""
        return self._tracker.snapshots()

    async def find_channels(self, prefix: str = "") -> list[ChannelInfo]:
        """Live channels whose Uniqueid starts with `prefix` (CoreShowChannels): after a worker
        crash, which of its calls (ChannelIds it generated) are still up."""
        channels = await self.action_list("CoreShowChannels")
        out = []
        for c in channels:
            uniqueid = c.get("Uniqueid") or ""
            if uniqueid.startswith(prefix):
                out.append(ChannelInfo(
                    uniqueid=uniqueid, linkedid=c.get("Linkedid") or "", channel=c.get("Channel") or "",
                    state=c.get("ChannelStateDesc") or "", context=c.get("Context") or "",
                    exten=c.get("Exten") or "", application=c.get("Application") or "",
                    duration=c.get("Duration") or "",
                ))
        return out

    async def hangup(self, channel_id: str, cause: int = 16) -> bool:
        """Hang up a channel by its Uniqueid (our ChannelId); False when no such channel exists."""
        reply = await self.action("Hangup", [("Channel", channel_id), ("Cause", str(cause))], check=False)
        if reply.name == "Success":
            return True
        if "no such channel" in (reply.get("Message") or "").lower():
            return False
        raise AmiActionError("Hangup", reply.get("Message") or reply.name)
