"""Asterisk restarted mid-call (`asterisk/sandbox restart`): handles resolve, nothing hangs, the client
reconnects and detects the restart.

This module restarts the shared sandbox, so it runs on its own: in CI (CI set), or where a developer
asks for it with DIALER_ALLOW_ASTERISK_RESTART=1; elsewhere it skips, saying so.
"""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest

from ami import AmiOptions, OriginateRequest, Outcome
from tests.asterisk_fixture import SANDBOX, AsteriskSandbox
from tests.integration.ami.conftest import make_client

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get("CI") or os.environ.get("DIALER_ALLOW_ASTERISK_RESTART") == "1"),
        reason="restarts the shared Asterisk sandbox: runs in CI or with DIALER_ALLOW_ASTERISK_RESTART=1",
    ),
]

# Reconnect quickly, and wait long enough for Asterisk to boot again.
OPTIONS = AmiOptions(ping_interval=0.5, ping_timeout=1.0, backoff_initial=0.2, backoff_max=1.0,
                     boot_timeout=120, first_connect_timeout=30)


def restart(kill: bool) -> None:
    args = [str(SANDBOX), "restart", *(["--kill"] if kill else [])]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("kill", [True, False], ids=["crash", "graceful"])
async def test_asterisk_restarted_mid_call(asterisk: AsteriskSandbox, kill: bool) -> None:
    async with make_client(asterisk, options=OPTIONS) as client:
        answered = await client.originate(OriginateRequest(
            channel="Local/79001234560@pstn-sim", context="dialer-answered", timeout_s=10,
            variables={"DIALER_AMD": "no", "DIALER_HOLD": "120", "SIM_HOLD": "120"}))
        assert await answered.answered()
        ringing = await client.originate(OriginateRequest(
            channel="Local/79001234562@pstn-sim", context="dialer-answered", timeout_s=60))
        await asyncio.to_thread(restart, kill)
        async with asyncio.timeout(120):
            first = await answered.result()
            second = await ringing.result()
            await client.wait_connected()
        assert first.outcome is Outcome.ANSWERED
        if kill:
            # A crash sends nothing more: the answer is known, the end is not; the ringing call is lost.
            assert not first.complete and second.outcome is Outcome.LOST
        else:
            # `core stop now` hangs the calls up first, so their ends may have been seen.
            assert second.outcome is not Outcome.ANSWERED
        assert client.tracked_calls() == []
        assert client.stats.connects >= 2 and client.stats.asterisk_restarts == 1
        # The client works on the new Asterisk.
        busy = await client.originate(OriginateRequest(channel="Local/79001234561@pstn-sim",
                                                       context="dialer-answered"))
        async with asyncio.timeout(30):
            assert (await busy.result()).outcome is Outcome.BUSY
