"""Restart a long-running loop of the worker after an unexpected error, with backoff.

A database hiccup in one campaign's leaser must not stop the worker (and with it every call in
progress). `supervise` owns the retries; the TaskGroup that runs it owns the task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["supervise"]

log = logging.getLogger(__name__)


async def supervise(
    name: str,
    body: Callable[[], Awaitable[None]],
    *,
    should_stop: Callable[[], bool],
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
    healthy_after: float = 60.0,
) -> None:
    """Run `body()` until it returns; after an exception, log it and run it again (unless stopping).

    The wait doubles with each failure in a row, and starts again from `initial_backoff` after a run
    that lasted `healthy_after` seconds: a hiccup a day never costs a worker `max_backoff` of dialing.
    """
    loop = asyncio.get_running_loop()
    delay = initial_backoff
    while True:
        started = loop.time()
        try:
            await body()
            return
        except Exception:
            if should_stop():
                log.exception("%s failed while stopping", name)
                return
            if loop.time() - started >= healthy_after:
                delay = initial_backoff
            log.exception("%s failed; restarting in %.1fs", name, delay)
        await asyncio.sleep(delay)
        delay = min(max_backoff, delay * 2)
