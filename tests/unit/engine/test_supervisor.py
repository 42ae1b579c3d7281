"""`supervise` restarts a failing loop and stops when told."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dialer.worker.supervisor import supervise


async def test_restarts_after_errors_until_the_body_returns() -> None:
    runs: list[int] = []

    async def body() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError("database went away")

    await supervise("loop", body, should_stop=lambda: False, initial_backoff=0.001)
    assert runs == [0, 1, 2]


async def test_gives_up_when_stopping() -> None:
    runs: list[int] = []

    async def body() -> None:
        runs.append(1)
        raise RuntimeError("boom")

    await supervise("loop", body, should_stop=lambda: True, initial_backoff=0.001)
    assert runs == [1]


async def test_the_backoff_doubles_in_a_row_and_starts_again_after_a_healthy_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Runs 1-3 fail at once, run 4 fails after a healthy while, run 5 fails at once, run 6 returns.
    lasts = [0.0, 0.0, 0.0, 0.3, 0.0]
    runs: list[int] = []

    async def body() -> None:
        runs.append(1)
        if len(runs) > len(lasts):
            return
        await asyncio.sleep(lasts[len(runs) - 1])
        raise RuntimeError("database went away")

    with caplog.at_level(logging.ERROR, logger="dialer.worker.supervisor"):
        await supervise("loop", body, should_stop=lambda: False, initial_backoff=0.001, healthy_after=0.2)
    waits = [record.args[1] for record in caplog.records if isinstance(record.args, tuple)]
    assert waits == [0.001, 0.002, 0.004, 0.001, 0.002]
