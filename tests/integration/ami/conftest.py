"""Fixtures of the AMI integration tests: a client on the real sandbox, optionally through a proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ami import AmiClient, AmiOptions
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.ami.proxy import LoopbackProxy

# Short keep-alive and backoff so fault tests settle in seconds.
FAST = AmiOptions(ping_interval=0.5, ping_timeout=1.0, backoff_initial=0.2, backoff_max=1.0,
                  first_connect_timeout=20)


def make_client(asterisk: AsteriskSandbox, *, port: int | None = None, options: AmiOptions = FAST,
                name: str = "t") -> AmiClient:
    return AmiClient(asterisk.host, port or asterisk.port, asterisk.username, asterisk.secret,
                     options=options, name=name)


@pytest.fixture
async def client(asterisk: AsteriskSandbox) -> AsyncIterator[AmiClient]:
    async with make_client(asterisk) as ami:
        yield ami


@pytest.fixture
async def proxy(asterisk: AsteriskSandbox) -> AsyncIterator[LoopbackProxy]:
    async with LoopbackProxy(asterisk.host, asterisk.port) as p:
        yield p
