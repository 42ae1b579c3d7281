"""`supervise` restarts a failing loop and stops when told."""

from __future__ import annotations

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
