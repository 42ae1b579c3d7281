"""ami.connection pieces without a socket: reconnect backoff (exponential, capped, jittered), pending actions."""

from __future__ import annotations

import random

from ami.connection import backoff_delay


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt in range(40):
        ceiling = min(15.0, 0.5 * 2**attempt)
        for _ in range(50):
            delay = backoff_delay(attempt, 0.5, 15.0, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_backoff_is_jittered() -> None:
    rng = random.Random(2)
    delays = {round(backoff_delay(5, 0.5, 15.0, rng), 6) for _ in range(100)}
    assert len(delays) > 90  # reconnecting workers do not move in step


async def test_a_late_answer_to_a_cancelled_action_is_dropped() -> None:
    import asyncio

    from ami.connection import _Pending
    from ami.protocol import Message

    future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
    pending = _Pending("Ping", future, False, None)
    future.cancel()  # the waiter timed out; the reply arrives in the same loop iteration
    assert pending.add(Message.build([("Response", "Success"), ("ActionID", "x")]))
