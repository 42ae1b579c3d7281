"""Asterisk's clock read over AMI (a Ping's Timestamp), as the worker reports it for the CDR times."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from ami import AmiClient
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.ami.conftest import FAST

pytestmark = pytest.mark.asterisk


class AheadClock:
    """This host's wall clock 40 s ahead (NTP stopped); its monotonic clock as it is."""

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=40)

    def monotonic(self) -> float:
        return time.monotonic()


async def test_the_offset_is_this_hosts_error(asterisk: AsteriskSandbox) -> None:
    args = (asterisk.host, asterisk.port, asterisk.username, asterisk.secret)
    async with AmiClient(*args, options=FAST) as same, AmiClient(*args, options=FAST, clock=AheadClock()) as ahead:
        agree = await same.server_clock()
        off = await ahead.server_clock()
    assert abs(agree.offset_s) < 0.5 and 0 <= agree.uncertainty_s < 0.5 and not agree.beyond(2.0)
    assert -40.5 < off.offset_s < -39.5 and off.beyond(2.0)
