"""The worker's clock against PostgreSQL's: when the offset holds dialing, and what is said."""

from __future__ import annotations

import logging

import pytest

from ami import ClockSample
from dialer.worker.clock import ClockGuard


@pytest.mark.parametrize(("offset", "uncertainty", "beyond"), [
    (0.0, 0.001, False), (1.9, 0.0, False), (-2.5, 0.0, True), (2.5, 0.0, True),
    (2.5, 0.6, False),  # a slow round trip may hide 0.6 s: not certainly off by more than 2 s
    (-30.0, 0.01, True),
])
def test_beyond_the_limit_only_when_certain(offset: float, uncertainty: float, beyond: bool) -> None:
    assert ClockSample(offset, uncertainty).beyond(2.0) is beyond


def test_the_guard_holds_and_releases_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    guard = ClockGuard(2.0)
    with caplog.at_level(logging.INFO, logger="dialer.worker.clock"):
        assert guard.update(ClockSample(0.01, 0.001)) is False
        assert guard.problem is None
        assert guard.update(ClockSample(-31.0, 0.001)) is True
        assert guard.held and guard.problem == "clock 31.0 s ahead of PostgreSQL's"
        assert guard.update(ClockSample(-30.5, 0.001)) is False
        assert guard.problem == "clock 30.5 s ahead of PostgreSQL's"
        assert guard.update(ClockSample(0.02, 0.001)) is True
        assert not guard.held and guard.problem is None
    [held, resumed] = caplog.records
    assert (held.levelno, resumed.levelno) == (logging.ERROR, logging.INFO)
    assert "31.0 s ahead of PostgreSQL's" in held.getMessage()
    assert "dialing resumes" in resumed.getMessage()
    guard.update(ClockSample(5.0, 0.0))
    assert guard.held
