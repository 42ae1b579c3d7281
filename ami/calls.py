"""Follows every originated call to its end by the ChannelId we generate, and resolves its handle.

Correlation: the Originate sets `ChannelId` (the `;1` leg, which becomes its Uniqueid) and, for Local
channels, `OtherChannelId` (the `;2` leg). Every Newchannel/Newstate/Hangup/Cdr/UserEvent carries the
Uniqueid; OriginateResponse carries our ActionID. Nothing here does I/O: the client feeds messages
and the time, and asks for expiries and resyncs.

A call resolves when its dialer leg hung up, the other leg too, its Cdr arrived and the
OriginateResponse is known, or a short grace after the decisive fact, so AMD and billsec are in the
result. After a reconnect, `resync` settles the calls whose channels are gone.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import re
from collections.abc import Callable, Collection, ItemsView, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from ami.clock import Clock
from ami.errors import AmiError, UnsafeFieldError
from ami.outcomes import Outcome, cause_text, classify
from ami.protocol import Message, validate_value, validate_variable

__all__ = [
    "CallAnswered",
    "CallEnded",
    "CallEvent",
    "CallHandle",
    "CallResult",
    "CallSnapshot",
    "CallStarted",
    "CallState",
    "CallTracker",
    "ChannelInfo",
    "CheckedVariables",
    "OriginateRequest",
    "TrackerStats",
]

log = logging.getLogger(__name__)

# Asterisk keeps at most AST_MAX_UNIQUEID (150) characters; ours stay short and plain.
_CHANNEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}\Z")


class CallState(enum.IntEnum):
    """Where a tracked call is; values only grow."""

    SENT = 0  # the Originate is on the wire
    QUEUED = 1  # Asterisk accepted it (Response: Success)
    DIALING = 2  # a channel exists
    RINGING = 3
    ANSWERED = 4
    HUNG_UP = 5  # the dialer leg is gone; waiting briefly for Cdr / the other leg
    ENDED = 6  # resolved


class CheckedVariables(Mapping[str, str]):
    """Channel variables that passed `validate_variable`, read-only, so `OriginateRequest` takes them
    without checking them again: a campaign's own variables are checked once, not on every call.

    `CheckedVariables(pairs)` checks every pair (UnsafeFieldError on the first bad one);
    `keep_safe` skips the bad ones instead; `merged` joins two checked sets without a second pass.
    A later pair of the same name replaces the value in place, as in a dict.
    """

    __slots__ = ("_data",)

    def __init__(self, variables: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        data: dict[str, str] = {}
        for name, value in variables.items() if isinstance(variables, Mapping) else variables:
            validate_variable(name, value)
            data[name] = value
        self._data = data

    @classmethod
    def keep_safe(cls, variables: Iterable[tuple[str, str]], skipped: list[str] | None = None) -> CheckedVariables:
        """The safe pairs only; the names of the others are appended to `skipped`."""
        data: dict[str, str] = {}
        for name, value in variables:
            try:
                validate_variable(name, value)
            except (UnsafeFieldError, ValueError):
                if skipped is not None:
                    skipped.append(name)
                continue
            data[name] = value
        return cls._of(data)

    @classmethod
    def _of(cls, data: dict[str, str]) -> CheckedVariables:
        out = cls.__new__(cls)
        out._data = data
        return out

    def merged(self, *others: CheckedVariables) -> CheckedVariables:
        """These variables, then each of `others` (a later one wins on a shared name, keeping the
        first one's place); nothing is checked again."""
        data = dict(self._data)
        for other in others:
            if type(other) is not CheckedVariables:
                raise TypeError("CheckedVariables.merged takes CheckedVariables")
            data.update(other._data)
        return CheckedVariables._of(data)

    def __getitem__(self, name: str) -> str:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def items(self) -> ItemsView[str, str]:
        return self._data.items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CheckedVariables):
            return self._data == other._data
        return Mapping.__eq__(self, other)


    def __repr__(self) -> str:
        return f"CheckedVariables({self._data!r})"


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """One call to place. Exactly one of `context` (+exten, priority) or `application` (+data).

    `channel_id` may be given (e.g. derived from the attempt id, so a crashed worker can find its
    calls by prefix); otherwise the client generates one. Asterisk refuses a ChannelId that is a
    prefix of a live channel's Uniqueid (channel.c do_ids_conflict), so give fixed-width ids
    (`att-0000001234`, not `att-1234`); the tracker refuses such overlaps among its own calls.
    Values are checked here, before sending.
    """

    channel: str
    context: str | None = None
    exten: str = "s"
    priority: int = 1
    caller_id: str | None = None
    timeout_s: float = 30
    variables: Mapping[str, str] = field(default_factory=dict)
    channel_id: str | None = None
    account: str | None = None
    application: str | None = None
    data: str = ""

    def __post_init__(self) -> None:
        if not self.channel or "/" not in self.channel:
            raise ValueError(f"OriginateRequest.channel: {self.channel!r} is not TECH/resource")
        validate_value("Channel", self.channel)
        if (self.context is None) == (self.application is None):
            raise ValueError("OriginateRequest: give either context (with exten) or application")
        if not 0 < self.timeout_s <= 3600:
            raise ValueError(f"OriginateRequest.timeout_s: {self.timeout_s} is not within (0, 3600]")
        if self.channel_id is not None and not _CHANNEL_ID.match(self.channel_id):
            raise ValueError(
                f"OriginateRequest.channel_id: {self.channel_id!r} must match {_CHANNEL_ID.pattern}")
        for name, value in (("Context", self.context), ("Exten", self.exten), ("CallerID", self.caller_id),
                            ("Account", self.account), ("Application", self.application),
                            ("Data", self.data)):
            if value is not None:
                validate_value(name, value)
        if type(self.variables) is not CheckedVariables:  # a CheckedVariables is checked and read-only
            for name, value in self.variables.items():
                validate_variable(name, value)
            object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))

    @property
    def is_local(self) -> bool:
        return self.channel.startswith("Local/")

    def fields(self, channel_id: str, other_channel_id: str | None) -> list[tuple[str, str]]:
        """Headers of the Originate action. Always `Async: true`: a synchronous Originate holds the
        AMI session until the call ends (panoramisk's default) and serializes everything behind it."""
        out = [("Channel", self.channel)]
        if self.application is not None:
            out += [("Application", self.application), ("Data", self.data)]
        else:
            assert self.context is not None
            out += [("Context", self.context), ("Exten", self.exten), ("Priority", str(self.priority))]
        out += [("Timeout", str(int(self.timeout_s * 1000))), ("Async", "true"), ("ChannelId", channel_id)]
        if other_channel_id is not None:
            out.append(("OtherChannelId", other_channel_id))
        if self.caller_id is not None:
            out.append(("CallerID", self.caller_id))
        if self.account is not None:
            out.append(("Account", self.account))
        # Checked in __post_init__ or before (a read-only CheckedVariables or a private read-only
        # copy): no second pass here.
        out += [("Variable", f"{name}={value}") for name, value in self.variables.items()]
        return out


@dataclass(frozen=True, slots=True)
class CallResult:
    """How one originated call ended. Instants are aware UTC (Asterisk's event timestamps)."""

    outcome: Outcome
    hangup_cause: int | None
    hangup_cause_text: str | None
    channel_id: str
    linked_id: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    ring_seconds: float | None
    billsec: int
    amd_status: str | None
    amd_cause: str | None
    originate_reason: int | None
    # False when the end was not observed (connection or Asterisk lost meanwhile): the outcome is
    # the best the layer knows, `lost` when it knows nothing.
    complete: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "hangup_cause": self.hangup_cause,
            "hangup_cause_text": self.hangup_cause_text,
            "channel_id": self.channel_id,
            "linked_id": self.linked_id,
            "started_at": self.started_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ring_seconds": self.ring_seconds,
            "billsec": self.billsec,
            "amd_status": self.amd_status,
            "amd_cause": self.amd_cause,
            "originate_reason": self.originate_reason,
            "complete": self.complete,
        }


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """A tracked call as the engine lists it."""

    channel_id: str
    other_channel_id: str | None
    state: CallState
    started_at: datetime
    answered_at: datetime | None
    channel: str


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One live channel from CoreShowChannels."""

    uniqueid: str
    linkedid: str
    channel: str
    state: str
    context: str
    exten: str
    application: str
    duration: str


@dataclass(frozen=True, slots=True)
class CallStarted:
    channel_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CallAnswered:
    channel_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CallEnded:
    result: CallResult


CallEvent = CallStarted | CallAnswered | CallEnded


class CallHandle:
    """The caller's view of one originated call."""

    def __init__(self, request: OriginateRequest, channel_id: str, other_channel_id: str | None,
                 future: asyncio.Future[CallResult]) -> None:
        self.request = request
        self.channel_id = channel_id
        self.other_channel_id = other_channel_id
        self._future = future
        self._answered = asyncio.Event()
        self.state = CallState.SENT

    def done(self) -> bool:
        return self._future.done()

    async def result(self) -> CallResult:
        """The call's result; cancelling the wait does not cancel the tracking (shielded)."""
        return await asyncio.shield(self._future)

    async def answered(self) -> bool:
        """Wait until the call is answered (True) or ended unanswered (False)."""
        await self._answered.wait()
        return self.state >= CallState.ANSWERED and (
            not self._future.done() or self._future.result().outcome is Outcome.ANSWERED
        )

    def __repr__(self) -> str:
        return f"<CallHandle {self.channel_id} {self.state.name}>"


@dataclass(slots=True)
class TrackerStats:
    originated: int = 0
    resolved: int = 0
    # Resolved without seeing the end (after a reconnect or restart); `lost` counts the unknown ones.
    incomplete: int = 0
    lost: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class _Call:
    __slots__ = (
        "action_id",
        "amd_cause",
        "amd_status",
        "answered_at",
        "billsec",
        "cdr_seen",
        "channel_id",
        "deadline",
        "ended_at",
        "epoch",
        "handle",
        "linked_id",
        "other_cause",
        "other_hungup",
        "other_id",
        "other_seen",
        "primary_cause",
        "primary_cause_text",
        "primary_hungup",
        "reason",
        "sent_mono",
        "settling",
        "started_at",
    )

    def __init__(self, handle: CallHandle, action_id: str | None, started_at: datetime, sent_mono: float,
                 epoch: int) -> None:
        self.handle = handle
        self.channel_id = handle.channel_id
        self.other_id = handle.other_channel_id
        self.action_id = action_id
        self.started_at = started_at
        self.sent_mono = sent_mono
        self.epoch = epoch
        self.reason: int | None = None
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.linked_id: str | None = None
        self.primary_cause: int | None = None
        self.primary_cause_text: str | None = None
        self.primary_hungup = False
        self.other_cause: int | None = None
        self.other_seen = False
        self.other_hungup = False
        self.cdr_seen = False
        self.billsec: int | None = None
        self.amd_status: str | None = None
        self.amd_cause: str | None = None
        self.deadline: float | None = None
        self.settling = False


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class CallTracker:
    """Call state machine for all calls of one client. Sync and I/O-free; the client drives it."""

    def __init__(self, clock: Clock, *, cdr_grace: float, hangup_grace: float, originate_margin: float,
                 publish: Callable[[CallEvent], None] | None = None,
                 on_deadline: Callable[[float], None] | None = None) -> None:
        self._clock = clock
        # Told every new deadline, so the owner can arm one timer for the earliest instead of polling.
        self._on_deadline = on_deadline
        self._cdr_grace = cdr_grace
        self._hangup_grace = hangup_grace
        self._originate_margin = originate_margin
        self._publish = publish
        self._calls: dict[str, _Call] = {}
        self._by_uniqueid: dict[str, tuple[_Call, bool]] = {}
        self._by_action: dict[str, _Call] = {}
        self._deadlines: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self.stats = TrackerStats()

    # Registration

    def track(self, request: OriginateRequest, channel_id: str, other_channel_id: str | None,
              epoch: int) -> CallHandle:
        if channel_id in self._by_uniqueid or (other_channel_id and other_channel_id in self._by_uniqueid):
            raise AmiError(f"channel id {channel_id!r} is already tracked")
        if request.channel_id is not None:
            # Asterisk would refuse it, or worse, mistake one call for the other (prefix matching).
            for tracked in self._by_uniqueid:
                if tracked.startswith(channel_id) or channel_id.startswith(tracked):
                    raise AmiError(f"channel id {channel_id!r} overlaps tracked {tracked!r} by prefix; "
                                   "use fixed-width ids")
        future: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        handle = CallHandle(request, channel_id, other_channel_id, future)
        call = _Call(handle, None, self._clock.now(), self._clock.monotonic(), epoch)
        self._calls[channel_id] = call
        self._by_uniqueid[channel_id] = (call, True)
        if other_channel_id is not None:
            self._by_uniqueid[other_channel_id] = (call, False)
        # No OriginateResponse by the originate timeout plus a margin: give up (lost), never hang.
        self._schedule(call, call.sent_mono + request.timeout_s + self._originate_margin)
        self.stats.originated += 1
        return handle

    def sent(self, channel_id: str, action_id: str) -> None:
        call = self._calls.get(channel_id)
        if call is not None:
            call.action_id = action_id
            self._by_action[action_id] = call

    def accepted(self, channel_id: str) -> None:
        call = self._calls.get(channel_id)
        if call is not None:
            self._advance(call, CallState.QUEUED)
            if self._publish is not None:
                self._publish(CallStarted(channel_id, call.started_at))

    def forget(self, channel_id: str) -> None:
        """Drop a call Asterisk refused (nothing was dialled); its handle is never returned."""
        call = self._calls.pop(channel_id, None)
        if call is None:
            return
        self._unindex(call)
        self.stats.originated -= 1
        if not call.handle._future.done():
            call.handle._future.cancel()

    def get(self, channel_id: str) -> CallHandle | None:
        call = self._calls.get(channel_id)
        return call.handle if call is not None else None

    def snapshots(self) -> list[CallSnapshot]:
        return [
            CallSnapshot(c.channel_id, c.other_id, c.handle.state, c.started_at, c.answered_at,
                         c.handle.request.channel)
            for c in self._calls.values()
        ]

    def __len__(self) -> int:
        return len(self._calls)

    # Events

    def on_event(self, message: Message) -> None:
        headers = message.headers
        name = message.name
        if name == "OriginateResponse":
            # Our ActionID, never the Uniqueid: another client that re-used a ChannelId gets its own
            # refusal (Reason 0) with the same Uniqueid, and every session sees it.
            action_id = headers.get("ActionID")
            call = self._by_action.get(action_id) if action_id is not None else None
            if call is not None and call.reason is None:
                self._on_originate_response(call, message)
            return
        uniqueid = (headers.get("Uniqueid") or headers.get("UniqueID"))
        if uniqueid is None:
            return
        entry = self._by_uniqueid.get(uniqueid)
        if entry is None:
            return
        call, primary = entry
        if name == "Hangup":
            self._on_hangup(call, primary, message)
        elif name == "Newstate":
            self._on_newstate(call, primary, message)
        elif name == "Newchannel":
            if primary:
                call.started_at = self._at(message)
                call.linked_id = headers.get("Linkedid") or call.linked_id
            else:
                call.other_seen = True
            self._advance(call, CallState.DIALING)
        elif name == "Cdr":
            if primary:
                self._on_cdr(call, message)
        elif name == "UserEvent" and headers.get("UserEvent") == "DialerAMD":
            # AMD runs on the answered (;1) leg in [dialer-answered]; see extensions.conf.
            call.amd_status = headers.get("AMDStatus") or None
            call.amd_cause = headers.get("AMDCause") or None

    def _at(self, message: Message) -> datetime:
        # manager.conf timestampevents=yes adds Asterisk's own instant; prefer it to our receive time.
        stamp = message.headers.get("Timestamp")
        if stamp:
            try:
                return datetime.fromtimestamp(float(stamp), UTC)
            except (ValueError, OverflowError):
                pass
        return self._clock.now()

    def _on_originate_response(self, call: _Call, message: Message) -> None:
        reason = _int(message.headers.get("Reason"))
        call.reason = reason if reason is not None else 0
        if call.reason == 4:  # AMI Originate Reason 4 = answered
            self._mark_answered(call, self._at(message))
            return
        # Failed originate: the Hangup cause may still be on its way (it decides Reason 0/1).
        if call.ended_at is None:
            call.ended_at = self._at(message)
        self._advance(call, CallState.HUNG_UP)
        self._check(call, self._hangup_grace)

    def _on_newstate(self, call: _Call, primary: bool, message: Message) -> None:
        state = message.headers.get("ChannelStateDesc")
        if not primary:
            call.other_seen = True
            return
        if state == "Up":
            self._mark_answered(call, self._at(message))
        elif state == "Ringing":
            self._advance(call, CallState.RINGING)

    def _on_hangup(self, call: _Call, primary: bool, message: Message) -> None:
        cause = _int(message.headers.get("Cause"))
        if primary:
            call.primary_hungup = True
            call.primary_cause = cause
            call.primary_cause_text = message.headers.get("Cause-txt")
            call.ended_at = self._at(message)
            call.linked_id = message.headers.get("Linkedid") or call.linked_id
            self._advance(call, CallState.HUNG_UP)
        else:
            call.other_seen = True
            call.other_hungup = True
            call.other_cause = cause
        if call.primary_hungup:
            self._check(call, self._cdr_grace)

    def _on_cdr(self, call: _Call, message: Message) -> None:
        call.cdr_seen = True
        call.billsec = _int(message.headers.get("BillableSeconds"))
        # cdr_manager.conf [mappings] carries the AMD result too (if the UserEvent was missed).
        if call.amd_status is None and message.get("AMDStatus"):
            call.amd_status = message.get("AMDStatus")
            call.amd_cause = message.get("AMDCause") or None
        if call.primary_hungup:
            self._check(call, self._cdr_grace)

    def _mark_answered(self, call: _Call, at: datetime) -> None:
        if call.answered_at is None:
            call.answered_at = at
            if not call.settling:
                self._schedule(call, None)  # an answered call lasts as long as it lasts
            self._advance(call, CallState.ANSWERED)
            call.handle._answered.set()
            if self._publish is not None:
                self._publish(CallAnswered(call.channel_id, at))

    def _advance(self, call: _Call, state: CallState) -> None:
        if state > call.handle.state:
            call.handle.state = state

    def _check(self, call: _Call, grace: float) -> None:
        """Resolve now if everything is in, else no later than `grace` from the first decisive fact."""
        if call.handle._future.done():
            return
        other_done = call.other_hungup or not call.other_seen
        if call.reason is not None and call.primary_hungup and call.cdr_seen and other_done:
            self._resolve(call)
        elif not call.settling:
            call.settling = True
            self._schedule(call, self._clock.monotonic() + grace)

    def _schedule(self, call: _Call, deadline: float | None) -> None:
        call.deadline = deadline  # any older heap entry is now superseded
        if deadline is not None:
            heapq.heappush(self._deadlines, (deadline, next(self._seq), call.channel_id))
            if self._on_deadline is not None:
                self._on_deadline(deadline)

    def next_deadline(self) -> float | None:
        """The earliest pending deadline (monotonic), None when no call has one."""
        heap = self._deadlines
        while heap:
            deadline, _, channel_id = heap[0]
            call = self._calls.get(channel_id)
            if call is not None and call.deadline == deadline:
                return deadline
            heapq.heappop(heap)  # superseded or resolved
        return None

    def expire(self) -> int:
        """Resolve calls whose deadline passed; returns how many."""
        now = self._clock.monotonic()
        resolved = 0
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            deadline, _, channel_id = heapq.heappop(heap)
            call = self._calls.get(channel_id)
            if call is None or call.deadline != deadline:
                continue
            if not call.settling:
                # No OriginateResponse long after the originate timeout: never leave it pending.
                log.warning("ami.call_overdue channel_id=%s", channel_id)
            self._resolve(call)
            resolved += 1
        return resolved

    # Reconnect

    def unsettled(self, before_epoch: int) -> list[str]:
        """Channel ids of calls sent in an earlier session and not resolved: the ones to resync."""
        return [c.channel_id for c in self._calls.values() if c.epoch < before_epoch]

    def resync(self, live: Collection[str], *, before_epoch: int, restarted: bool) -> int:
        """Settle calls of earlier sessions after a reconnect; `live` holds the Uniqueids still up.

        A call whose channels are gone ended while we were not listening: it resolves from what
        arrived before the link dropped, `lost` if nothing decisive did. A call still up stays tracked
        and its later events arrive on the new session. Returns how many resolved.
        """
        resolved = 0
        for call in list(self._calls.values()):
            if call.epoch >= before_epoch:
                continue
            call.epoch = before_epoch
            ids = (call.channel_id, call.other_id)
            up = not restarted and any(i is not None and i in live for i in ids)
            if up:
                continue
            self._resolve(call)
            resolved += 1
        return resolved

    def mark_answered_if_up(self, channel_id: str, state: str) -> None:
        """CoreShowChannels found the dialer leg Up: the answer happened while we were away."""
        call = self._calls.get(channel_id)
        if call is not None and state == "Up":
            self._mark_answered(call, self._clock.now())

    def abandon_all(self) -> int:
        """Client closing: resolve every call from what is known (nothing is left pending)."""
        calls = list(self._calls.values())
        for call in calls:
            self._resolve(call)
        return len(calls)

    # Resolution

    def _resolve(self, call: _Call) -> None:
        self._calls.pop(call.channel_id, None)
        self._unindex(call)
        future = call.handle._future
        if future.done():
            return
        # The end was seen: the dialer leg's Hangup, or an OriginateResponse failure.
        complete = call.primary_hungup or (call.reason is not None and call.reason != 4)
        result = self._result(call, complete)
        call.handle.state = CallState.ENDED
        call.handle._answered.set()
        stats = self.stats
        stats.resolved += 1
        if not result.complete:
            stats.incomplete += 1
        if result.outcome is Outcome.LOST:
            stats.lost += 1
        stats.outcomes[result.outcome.value] = stats.outcomes.get(result.outcome.value, 0) + 1
        future.set_result(result)
        if self._publish is not None:
            self._publish(CallEnded(result))

    def _unindex(self, call: _Call) -> None:
        self._by_uniqueid.pop(call.channel_id, None)
        if call.other_id is not None:
            self._by_uniqueid.pop(call.other_id, None)
        if call.action_id is not None:
            self._by_action.pop(call.action_id, None)

    def _result(self, call: _Call, complete: bool) -> CallResult:
        cause, cause_txt = call.primary_cause, call.primary_cause_text
        # A Local ;1 leg often hangs up with cause 0 while the ;2 leg carries the network's cause.
        if cause in (None, 0) and call.other_cause not in (None, 0):
            cause, cause_txt = call.other_cause, None
        if cause is not None and not cause_txt:
            cause_txt = cause_text(cause)
        # The OriginateResponse decides; an Up state decides only when it was missed. (An Up seen
        # under our ChannelId while Asterisk refused our Originate belongs to someone else's call.)
        answered_at = call.answered_at if call.reason in (None, 4) else None
        outcome = Outcome.ANSWERED if call.reason == 4 or answered_at is not None else classify(call.reason, cause)
        end = call.ended_at
        until = answered_at or end
        ring = round((until - call.started_at).total_seconds(), 3) if until is not None else None
        if ring is not None and ring < 0:
            ring = 0.0
        billsec = call.billsec
        if billsec is None or answered_at is None:
            billsec = int((end - answered_at).total_seconds()) if end and answered_at else 0
        return CallResult(
            outcome=outcome,
            hangup_cause=cause,
            hangup_cause_text=cause_txt,
            channel_id=call.channel_id,
            linked_id=call.linked_id,
            started_at=call.started_at,
            answered_at=answered_at,
            ended_at=end,
            ring_seconds=ring,
            billsec=max(0, billsec),
            amd_status=call.amd_status,
            amd_cause=call.amd_cause,
            originate_reason=call.reason,
            complete=complete,
        )

