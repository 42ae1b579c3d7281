"""Asyncio AMI layer and FastAGI server for the dialer.

    async with AmiClient(host, port, username, secret) as client:
        handle = await client.originate(OriginateRequest(channel=..., context="dialer-answered", ...))
        result = await handle.result()        # CallResult

Consumers: `client.events({"Cdr"})` and `client.call_events()` are bounded async iterators (drops
counted, never blocking the reader); `client.add_state_listener(cb)` reports CONNECTED/...;
`client.tracked_calls()` lists live calls; `await client.find_channels(prefix)` asks Asterisk which
channels with that ChannelId prefix are up (crash recovery). FastAGI: `AgiServer` in `ami.agi`.

Why panoramisk is not on the hot path (the design chose it; we measured and replaced it):
- its `AMIProtocol.data_received` decodes each TCP read on its own with errors="ignore", so a
  multi-byte UTF-8 character split across two reads is silently lost (caller names in Cyrillic);
- `Manager.close()`/`send_awaiting_actions` re-send actions left unanswered at a reconnect with the
  same ActionID: an Originate in flight can dial twice;
- an exception in an event callback runs inside `data_received` and breaks the connection; its ping
  never checks the reply (a half-open link stays "up"); actions have no timeout;
- a synchronous Originate holds the session until the call ends;
- its FastAGI `Application.add_route` wraps plain functions with `asyncio.coroutine`, gone in 3.11;
- its client CPU per call is 3.7x a bare asyncio client (ASTERISK_NOTES.md).
Fixing these from outside means replacing `AMIProtocol`, `Manager` and `fast_agi.Application`, i.e.
everything; so `ami.protocol`, `ami.connection` and `ami.agi` are our own, each gap proved fixed by a
test (tests/unit/ami, tests/integration/ami). panoramisk stays a dependency only as the comparison
in `benchmarks/bench_ami.py`.
"""

from ami.agi import AgiEnvironment, AgiHandler, AgiResult, AgiServer, AgiSession
from ami.calls import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallHandle,
    CallResult,
    CallSnapshot,
    CallStarted,
    CallState,
    ChannelInfo,
    CheckedVariables,
    OriginateRequest,
    TrackerStats,
)
from ami.client import AmiClient, AmiStats, ConnectionState, parse_ami_url
from ami.clock import Clock, ClockSample, SystemClock
from ami.connection import DEFAULT_EVENT_NAMES, AmiOptions
from ami.errors import (
    AgiCommandError,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
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
from ami.events import EventStream
from ami.outcomes import Outcome, classify
from ami.protocol import Message, MessageKind, Parser

__all__ = [
    "DEFAULT_EVENT_NAMES",
    "AgiCommandError",
    "AgiEnvironment",
    "AgiError",
    "AgiHandler",
    "AgiHangup",
    "AgiProtocolError",
    "AgiResult",
    "AgiServer",
    "AgiSession",
    "AgiTimeout",
    "AmiActionError",
    "AmiAuthError",
    "AmiClient",
    "AmiClosed",
    "AmiConnectionError",
    "AmiConnectionLost",
    "AmiError",
    "AmiOptions",
    "AmiProtocolError",
    "AmiStats",
    "AmiTimeout",
    "CallAnswered",
    "CallEnded",
    "CallEvent",
    "CallHandle",
    "CallResult",
    "CallSnapshot",
    "CallStarted",
    "CallState",
    "ChannelInfo",
    "CheckedVariables",
    "Clock",
    "ClockSample",
    "ConnectionState",
    "EventStream",
    "Message",
    "MessageKind",
    "OriginateRejected",
    "OriginateRequest",
    "Outcome",
    "Parser",
    "SystemClock",
    "TrackerStats",
    "UnsafeFieldError",
    "classify",
    "parse_ami_url",
]
