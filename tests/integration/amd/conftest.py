"""Fixtures of the AMD and routing tests: an `ami` client on the real sandbox that also hears the
simulated subscriber's ears (ChannelTalkingStart/Stop) and the dialplan's steps (Newexten)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from ami import AmiClient, AmiOptions
from ami.connection import DEFAULT_EVENT_NAMES
from tests.asterisk_fixture import AsteriskSandbox

OPTIONS = dataclasses.replace(
    AmiOptions(), first_connect_timeout=20, event_classes=f"{AmiOptions().event_classes},dialplan",
    event_names=DEFAULT_EVENT_NAMES | {"ChannelTalkingStart", "ChannelTalkingStop", "Newexten"},
)


@pytest.fixture
async def client(asterisk: AsteriskSandbox) -> AsyncIterator[AmiClient]:
    async with AmiClient(asterisk.host, asterisk.port, asterisk.username, asterisk.secret,
                         options=OPTIONS, name="amd-test") as ami:
        await ami.wait_connected()
        yield ami
