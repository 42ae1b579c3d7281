"""The AMI TCP connection cut mid-call through a loopback proxy: handles survive and resolve."""

from __future__ import annotations

import asyncio

import pytest

from ami import AmiClient, EventStream, Message, OriginateRequest, Outcome
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.ami.conftest import make_client
from tests.integration.ami.proxy import LoopbackProxy

pytestmark = pytest.mark.asterisk


def held(seconds: int) -> OriginateRequest:
    return OriginateRequest(channel="Local/79001234560@pstn-sim", context="dialer-answered", timeout_s=5,
                            variables={"DIALER_AMD": "no", "DIALER_HOLD": str(seconds), "SIM_HOLD": "30"})


async def hangups(stream: EventStream[Message], channel_ids: set[str]) -> None:
    """Wait until Asterisk reported the Hangup of every channel in `channel_ids`."""
    pending = set(channel_ids)
    while pending:
        event = await stream.get()
        pending.discard(event.get("Uniqueid") or "")


async def test_cut_mid_call_handle_survives_and_resolves_after_reconnect(
        asterisk: AsteriskSandbox, proxy: LoopbackProxy) -> None:
    async with make_client(asterisk, port=proxy.port) as client:
        handle = await client.originate(held(8))
        assert await handle.answered()
        proxy.cut()
        async with asyncio.timeout(30):
            result = await handle.result()
        # Still up at the resync, so its Hangup and Cdr arrived on the new session: a complete result.
        assert result.outcome is Outcome.ANSWERED and result.complete
        assert result.hangup_cause == 16 and result.billsec >= 7
        assert client.stats.connects == 2 and client.stats.resyncs == 1
        assert client.tracker_stats.lost == 0


async def test_calls_that_end_while_disconnected_settle_on_resync(
        asterisk: AsteriskSandbox, proxy: LoopbackProxy, client: AmiClient) -> None:
    async with make_client(asterisk, port=proxy.port) as via_proxy, client.events({"Hangup"}) as watch:
        answered = await via_proxy.originate(held(1))
        assert await answered.answered()
        ringing = await via_proxy.originate(OriginateRequest(
            channel="Local/79001234562@pstn-sim", context="dialer-answered", timeout_s=2))
        proxy.refuse = True  # stay disconnected until both calls are over
        proxy.cut()
        async with asyncio.timeout(20):
            await hangups(watch, {answered.channel_id, ringing.channel_id})
        assert not answered.done() and not ringing.done()
        proxy.refuse = False
        async with asyncio.timeout(30):
            was_answered = await answered.result()
            unknown = await ringing.result()
        # Answered before the cut: still counted as answered (caps depend on it), end not observed.
        assert was_answered.outcome is Outcome.ANSWERED and not was_answered.complete
        assert was_answered.answered_at is not None and was_answered.ended_at is None
        # Nothing decisive was seen for the ringing call: lost, and counted.
        assert unknown.outcome is Outcome.LOST and not unknown.complete
        assert via_proxy.tracker_stats.lost == 1 and via_proxy.tracker_stats.incomplete == 2
        assert via_proxy.tracked_calls() == []
        assert (await via_proxy.action("Ping")).name == "Success"
