"""Each panoramisk gap the issue lists, proved fixed in our layer against the real Asterisk.

Faults are made with a loopback proxy the test controls (tests/integration/ami/proxy.py).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ami import (
    DEFAULT_EVENT_NAMES,
    AmiAuthError,
    AmiClient,
    AmiClosed,
    AmiConnectionError,
    AmiConnectionLost,
    AmiOptions,
    AmiTimeout,
    CallState,
    ConnectionState,
    Message,
    OriginateRequest,
    Outcome,
    UnsafeFieldError,
)
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.ami.conftest import FAST, make_client
from tests.integration.ami.proxy import LoopbackProxy

pytestmark = pytest.mark.asterisk


def quick(digit: str, **variables: str) -> OriginateRequest:
    return OriginateRequest(channel=f"Local/7900123456{digit}@pstn-sim", context="dialer-answered",
                            timeout_s=3, variables=variables)


def held(seconds: int) -> OriginateRequest:
    """A call answered at once (no AMD) that the dialer leg holds for `seconds`."""
    return quick("0", DIALER_AMD="no", DIALER_HOLD=str(seconds), SIM_HOLD="30")


async def test_originate_is_async_and_never_blocks_the_session(client: AmiClient) -> None:
    handle = await client.originate(held(3))
    assert await handle.answered()
    # The call is up for 3 s more; the session keeps answering meanwhile (a synchronous Originate
    # would hold it until the call ended, and these would only complete after it).
    for _ in range(10):
        assert (await client.action("Ping")).name == "Success"
    assert not handle.done()
    assert (await handle.result()).outcome is Outcome.ANSWERED


async def test_consumer_exceptions_and_slow_consumers_never_cost_the_connection(client: AmiClient) -> None:
    calls = 0

    def broken(event: Message) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("consumer bug")

    client.on_event(broken)
    never_read = client.events(maxsize=1)  # a consumer that never reads
    handles = [await client.originate(quick(d)) for d in "13413"]
    async with asyncio.timeout(30):
        results = [await h.result() for h in handles]
    assert [r.outcome for r in results] == [Outcome.BUSY, Outcome.CONGESTION, Outcome.INVALID_NUMBER,
                                            Outcome.BUSY, Outcome.CONGESTION]
    assert calls > 0 and client.stats.callback_errors >= calls
    assert never_read.qsize() == 1 and never_read.dropped > 0 and client.events_dropped >= never_read.dropped
    assert client.stats.disconnects == 0 and client.connected
    assert (await client.action("Ping")).name == "Success"


async def test_every_action_has_a_timeout(asterisk: AsteriskSandbox, proxy: LoopbackProxy) -> None:
    async with make_client(asterisk, port=proxy.port, options=FAST.__class__(ping_interval=60)) as client:
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(AmiTimeout):
            await client.action("Ping", timeout_s=0.3)
        assert time.monotonic() - started < 5  # bounded by the timeout, not by the link
        proxy.thaw()
        # The late Pong is ignored; the session goes on.
        assert (await client.action("Ping")).name == "Success"
        assert client.stats.action_timeouts == 1 and client.stats.disconnects == 0


async def test_half_open_link_is_declared_dead_and_reconnected(asterisk: AsteriskSandbox,
                                                             proxy: LoopbackProxy) -> None:
    states: list[ConnectionState] = []
    async with make_client(asterisk, port=proxy.port) as client:
        client.add_state_listener(states.append)
        disconnected = asyncio.Event()
        client.add_state_listener(lambda s: disconnected.set() if s is not ConnectionState.CONNECTED else None)
        proxy.freeze()  # sockets stay open, nothing flows: only the keep-alive can notice
        started = time.monotonic()
        async with asyncio.timeout(10):
            await disconnected.wait()
        # Declared dead within ping_interval + ping_timeout (0.5 + 1.0 s), with slack for a busy machine.
        assert time.monotonic() - started < FAST.ping_interval + FAST.ping_timeout + 5
        proxy.thaw()
        async with asyncio.timeout(20):
            await client.wait_connected()
        assert (await client.action("Ping")).name == "Success"
        assert client.stats.connects == 2
    assert states[:2] == [ConnectionState.CONNECTED, ConnectionState.DISCONNECTED]
    assert states[-1] is ConnectionState.CLOSED


async def test_actions_in_flight_fail_and_are_never_resent(asterisk: AsteriskSandbox, proxy: LoopbackProxy,
                                                           client: AmiClient) -> None:
    async with make_client(asterisk, port=proxy.port) as via_proxy:
        watch = client.events({"Newchannel"})  # direct connection: what Asterisk really does
        proxy.freeze()
        first = proxy.connections[0]
        command = asyncio.create_task(via_proxy.action("Command", [("Command", "core show uptime")]))
        originate = asyncio.create_task(via_proxy.originate(quick("1")))
        async with asyncio.timeout(5):
            await proxy.wait_upstream(first, b"Action: Originate", b"core show uptime")
        proxy.cut()
        with pytest.raises(AmiConnectionLost) as lost_command:
            await command
        with pytest.raises(AmiConnectionLost) as lost_originate:
            await originate
        channel_id = lost_originate.value.channel_id
        assert lost_command.value.action == "Command" and channel_id
        proxy.thaw()
        async with asyncio.timeout(20):
            await via_proxy.wait_connected()
        second = await proxy.wait_connections(2)
        # The originate's handle is still tracked; it settles on resync (Asterisk never got it: lost).
        handle = via_proxy.call(channel_id)
        assert handle is not None
        async with asyncio.timeout(10):
            result = await handle.result()
        assert result.outcome is Outcome.LOST and not result.complete
        assert via_proxy.tracker_stats.lost == 1
        await via_proxy.action("Ping")
        # Nothing in flight was sent again on the new connection...
        assert b"core show uptime" not in second.upstream
        assert channel_id.encode() not in second.upstream
        assert b"Action: Originate" not in second.upstream
        # ...and Asterisk never created the call.
        seen = []
        while (event := watch.get_nowait()) is not None:
            seen.append(event.get("Uniqueid"))
        assert channel_id not in seen


async def test_header_injection_is_refused_before_sending(asterisk: AsteriskSandbox, proxy: LoopbackProxy) -> None:
    async with make_client(asterisk, port=proxy.port) as client:
        sent_before = len(proxy.connections[0].upstream)
        with pytest.raises(UnsafeFieldError):
            await client.action("Command", [("Command", "core show uptime\r\nAction: Hangup\r\nChannel: all")])
        with pytest.raises(UnsafeFieldError):
            OriginateRequest(channel="Local/1@pstn-sim", context="dialer-answered",
                             caller_id="x\r\nAction: Hangup")
        assert len(proxy.connections[0].upstream) == sent_before
        assert client.tracked_calls() == []


async def test_duplicate_channel_id_is_refused_by_asterisk(asterisk: AsteriskSandbox, client: AmiClient) -> None:
    async with make_client(asterisk, name="other") as other:
        request = OriginateRequest(channel="Local/79001234560@pstn-sim", context="dialer-answered",
                                   channel_id=f"{client.channel_id_prefix}dup", timeout_s=5,
                                   variables={"DIALER_AMD": "no", "DIALER_HOLD": "2", "SIM_HOLD": "30"})
        first = await client.originate(request)
        assert await first.answered()
        second = await other.originate(request)  # e.g. a retry by another worker: must not dial twice
        async with asyncio.timeout(20):
            refused = await second.result()
            original = await first.result()
        assert refused.outcome is Outcome.FAILED and refused.originate_reason == 0 and refused.answered_at is None
        assert original.outcome is Outcome.ANSWERED and original.originate_reason == 4 and original.complete


async def test_tracked_calls_find_channels_and_hangup(client: AmiClient) -> None:
    handle = await client.originate(held(30))
    assert await handle.answered()
    [snapshot] = client.tracked_calls()
    assert snapshot.channel_id == handle.channel_id and snapshot.state is CallState.ANSWERED
    live = await client.find_channels(client.channel_id_prefix)
    assert {c.uniqueid for c in live} == {handle.channel_id, f"{handle.channel_id}-2"}
    assert await client.hangup(handle.channel_id)
    async with asyncio.timeout(10):
        result = await handle.result()
    assert result.outcome is Outcome.ANSWERED and result.complete
    assert await client.find_channels(client.channel_id_prefix) == []
    assert not await client.hangup(handle.channel_id)


async def test_event_filter_keeps_the_dialplan_flood_out(asterisk: AsteriskSandbox, client: AmiClient) -> None:
    unfiltered = AmiOptions(event_classes="on", event_names=None)
    async with make_client(asterisk, options=unfiltered, name="all") as everything:
        filtered_stream, full_stream = client.events(), everything.events()
        handle = await client.originate(quick("1"))
        async with asyncio.timeout(20):
            await handle.result()
            ours = {handle.channel_id, f"{handle.channel_id}-2"}
            seen_full: list[str] = []
            hangups = 0
            while hangups < 2:  # both legs' Hangup have reached the unfiltered client too
                event = await full_stream.get()
                if event.get("Uniqueid") in ours:
                    seen_full.append(event.name)
                    hangups += event.name == "Hangup"
    seen_filtered = []
    while (event := filtered_stream.get_nowait()) is not None:
        if (event.get("Uniqueid") or event.get("UniqueID")) in ours:
            seen_filtered.append(event.name)
    assert {"Newexten", "VarSet"} <= set(seen_full)
    assert set(seen_filtered) <= DEFAULT_EVENT_NAMES
    assert {"OriginateResponse", "Hangup", "Cdr"} <= set(seen_filtered)
    assert not {"Newexten", "VarSet"} & set(seen_filtered)


async def test_wrong_secret_fails_fast_and_unreachable_fails_bounded(asterisk: AsteriskSandbox) -> None:
    bad = AmiClient(asterisk.host, asterisk.port, asterisk.username, "wrong-secret", options=FAST)
    with pytest.raises(AmiAuthError, match="refused"):
        async with asyncio.timeout(15):
            await bad.open()
    assert bad.state is ConnectionState.CLOSED
    nowhere = AmiClient("127.0.0.1", 1, "u", "s", options=AmiOptions(first_connect_timeout=1.5))
    with pytest.raises(AmiConnectionError, match="no AMI session"):
        await nowhere.open()
    with pytest.raises(AmiClosed):
        await nowhere.action("Ping")
