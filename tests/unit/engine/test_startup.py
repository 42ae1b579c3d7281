"""Which start-up failures are retried, for how long, and how a stop ends the wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import pytest
from sqlalchemy.exc import OperationalError as SAOperationalError

from dialer.errors import NotFoundError
from dialer.worker.startup import StartupSteps, StartupStopped, is_transient

REFUSED = psycopg.OperationalError("connection failed: Connection refused")


@pytest.mark.parametrize(
    ("exc", "reached", "transient"),
    [
        (REFUSED, False, False),  # a wrong URL or no server: fail at once
        (REFUSED, True, True),  # the server answered before: it is restarting
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), False, True),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), False, True),
        (psycopg.errors.ConnectionFailure("server closed the connection"), False, True),
        (SAOperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating")), False, True),
        (SAOperationalError("SELECT 1", {}, REFUSED), False, False),
        (psycopg.errors.InvalidPassword("password authentication failed"), False, False),
        (psycopg.errors.UndefinedTable('relation "workers" does not exist'), True, False),
        (NotFoundError("campaign(s) 'x' do not exist"), True, False),
    ],
)
def test_what_is_transient(exc: BaseException, reached: bool, transient: bool) -> None:
    assert is_transient(exc, reached=reached) is transient


def _failing(errors: list[BaseException], calls: list[int]) -> Callable[[], Awaitable[str]]:
    async def step() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "done"

    return step


async def test_a_step_is_retried_until_it_succeeds_and_marks_the_server_reached() -> None:
    calls: list[int] = []
    steps = StartupSteps(asyncio.Event(), deadline_s=10, backoff_initial=0.01, backoff_max=0.02)
    step = _failing([psycopg.errors.AdminShutdown("terminating"), psycopg.errors.CannotConnectNow("starting")], calls)
    assert await steps.run("registration", step) == "done"
    assert len(calls) == 3 and steps.reached
    # Now that the server was reached, a refused connection is a restart too.
    assert await steps.run("heartbeat", _failing([REFUSED], calls)) == "done"


async def test_the_first_refused_connection_is_not_retried() -> None:
    calls: list[int] = []
    steps = StartupSteps(asyncio.Event(), deadline_s=10, backoff_initial=0.01)
    with pytest.raises(psycopg.OperationalError, match="refused"):
        await steps.run("registration", _failing([REFUSED], calls))
    assert len(calls) == 1 and not steps.reached


async def test_gives_up_at_the_deadline_with_the_last_error() -> None:
    calls: list[int] = []
    steps = StartupSteps(asyncio.Event(), deadline_s=0.2, backoff_initial=0.02, backoff_max=0.04)
    errors: list[BaseException] = [psycopg.errors.AdminShutdown(f"kill {i}") for i in range(1000)]
    with pytest.raises(psycopg.errors.AdminShutdown):
        await steps.run("registration", _failing(errors, calls))
    assert 3 <= len(calls) < 100


async def test_a_stop_ends_the_wait_for_a_retry() -> None:
    stopping = asyncio.Event()
    calls: list[int] = []
    steps = StartupSteps(stopping, deadline_s=600, backoff_initial=120, backoff_max=120)
    running = asyncio.create_task(steps.run("registration", _failing([psycopg.errors.AdminShutdown("x")], calls)))
    await asyncio.sleep(0.05)
    assert not running.done()  # waiting a minute or two for the retry
    stopping.set()
    with pytest.raises(StartupStopped, match="registration"):
        await asyncio.wait_for(running, 5)
    assert len(calls) == 1
