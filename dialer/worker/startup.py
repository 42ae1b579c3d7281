"""The worker's start-up steps that use the database, retried while PostgreSQL restarts.

A worker that cannot reach the server at all (a wrong URL, nothing listening) still fails at once:
`dialer run` exits 1 naming DATABASE_URL. But once the server has answered this worker, or when the
server itself says it is starting or shutting down (SQLSTATE class 57P) or dropped the session
(class 08), a connection error is the server restarting or an operator terminating sessions: the
step is run again with backoff until `deadline_s` has passed, as the worker's loops do once started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError

from ami.connection import backoff_delay
from dialer.db.errors import first_line

__all__ = ["StartupSteps", "StartupStopped", "is_transient"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Operator intervention (admin/crash shutdown, cannot connect now) and connection exceptions.
_TRANSIENT_CLASSES = ("57P", "08")


class StartupStopped(Exception):
    """A stop was requested while a start-up step waited to be retried."""


def is_transient(exc: BaseException, *, reached: bool) -> bool:
    """Whether a start-up step failing with `exc` is worth running again. `reached`: an earlier step
    got through to the server, so a connection that fails now fails because the server went away."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg.OperationalError):
        return False
    return reached or (orig.sqlstate or "").startswith(_TRANSIENT_CLASSES)


class StartupSteps:
    """Runs start-up steps in order; each is retried on a transient error until the deadline,
    counted from the first failure."""

    def __init__(self, stopping: asyncio.Event, *, deadline_s: float, backoff_initial: float = 0.5,
                 backoff_max: float = 5.0) -> None:
        self._stopping = stopping
        self._deadline_s = deadline_s
        self._backoff = (backoff_initial, backoff_max)
        self._give_up_at: float | None = None
        self.reached = False

    async def run(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                result = await step()
            except Exception as exc:
                if not is_transient(exc, reached=self.reached):
                    raise
                if self._give_up_at is None:
                    self._give_up_at = loop.time() + self._deadline_s
                delay = backoff_delay(attempt, *self._backoff)
                if loop.time() + delay > self._give_up_at:
                    raise
                log.warning("start-up: %s failed (%s); retrying in %.1fs", what, first_line(exc), delay)
                attempt += 1
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    continue
                raise StartupStopped(what) from exc
            self.reached = True
            return result
