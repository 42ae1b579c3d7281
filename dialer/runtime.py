"""Process-level plumbing shared by every entry point: the event loop and logging."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop (the loop of every long-running dialer process)."""
    import uvloop

    # asyncio.run(loop_factory=) is 3.12+; asyncio.Runner takes it on 3.11.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def freeze_heap() -> None:
    """Exempt every object alive now from garbage collection: for a long-running process, once started.

    A worker allocates steadily (a lease of 1,000 contacts makes thousands of objects that live a
    while), so the collector's full passes come every few seconds, and each walked the whole heap of
    modules, settings and caches again: a pause of about 100 ms (it was the p99 of leasing, and a
    hiccup of the pacing). Frozen objects are never walked again.
    """
    gc.collect()
    gc.freeze()


def configure_logging(level: str = "INFO", json_logs: bool = False) -> None:
    """Structured logs on stderr: key=value on a terminal, JSON lines in production."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
