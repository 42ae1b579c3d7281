"""Place one call through the sandbox and keep everything AMI said about it (by our ChannelId)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from ami import AmiClient, CallResult, Message, OriginateRequest

CALL_TIMEOUT_S = 90.0

# Debian's stock amd.conf, as DIALER_AMD_PARAMS ("/"-separated AMD() arguments): the traps.
DEBIAN_AMD_PARAMS = "2500/1500/800/5000/100/50/2/256/5000"


def variant(a: int, b: int, c: int) -> str:
    """The number of greeting variant A B C (asterisk/README.md, "Greeting variants")."""
    return f"+79000009{a}{b}{c}"


@dataclass(frozen=True)
class Trace:
    """One call's result and its events (dialer leg, subscriber leg, channels the route made)."""

    result: CallResult
    events: tuple[Message, ...]

    @property
    def channel_id(self) -> str:
        return self.result.channel_id

    def named(self, name: str, **fields: str) -> list[Message]:
        return [m for m in self.events
                if m.name == name and all(m.get(key) == value for key, value in fields.items())]

    def user_events(self, name: str) -> list[Message]:
        return self.named("UserEvent", UserEvent=name)

    @property
    def amd(self) -> Message:
        reports = self.user_events("DialerAMD")
        assert len(reports) == 1, f"{self.channel_id}: {len(reports)} DialerAMD events"
        return reports[0]

    @property
    def cdr(self) -> Message:
        cdrs = [m for m in self.named("Cdr") if m.get("UniqueID") == self.channel_id]
        assert cdrs, f"{self.channel_id}: no Cdr of the dialer leg"
        return cdrs[0]

    def heard(self) -> list[Message]:
        """When the simulated subscriber's ears heard the dialer's side talk (its leg's events)."""
        return self.named("ChannelTalkingStart", Uniqueid=f"{self.channel_id}-2")

    def applications(self) -> list[tuple[str, str]]:
        """The dialer leg's dialplan steps (Application, AppData), in order."""
        return [(m.get("Application") or "", m.get("AppData") or "")
                for m in self.named("Newexten", Uniqueid=self.channel_id)]

    def hangup(self, leg: str = "") -> Message:
        hangups = self.named("Hangup", Uniqueid=f"{self.channel_id}{leg}")
        assert hangups, f"{self.channel_id}{leg}: no Hangup"
        return hangups[0]


def at(message: Message) -> float:
    """Asterisk's timestamp of an event (manager.conf timestampevents = yes)."""
    stamp = message.get("Timestamp")
    assert stamp, f"event without Timestamp: {message}"
    return float(stamp)


def _ours(message: Message, channel_id: str) -> bool:
    return (message.get("Linkedid") == channel_id
            or message.get("Uniqueid") in (channel_id, f"{channel_id}-2"))


async def place(client: AmiClient, number: str, variables: Mapping[str, str] | None = None, *,
                timeout_s: float = 20) -> Trace:
    """Originate `Local/<number>@pstn-sim` into [dialer-answered] and wait for its whole result."""
    channel_id = f"amd-{uuid.uuid4().hex[:16]}"
    request = OriginateRequest(
        channel=f"Local/{number}@pstn-sim", context="dialer-answered", timeout_s=timeout_s,
        variables={"DIALER_CALL_ID": channel_id, **(variables or {})}, channel_id=channel_id)
    # The sandbox is shared: subscribe to everything before dialling, keep only our call's events.
    async with client.events(maxsize=500_000) as stream:
        handle = await client.originate(request)
        async with asyncio.timeout(CALL_TIMEOUT_S):
            result = await handle.result()
        events: list[Message] = []
        while (message := stream.get_nowait()) is not None:
            if _ours(message, channel_id):
                events.append(message)
    return Trace(result, tuple(events))
