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
    """Structured logs on stderr: key=value on a terminal, JSON lines in production.

    An error's traceback is in its record: in JSON, as the `exception` string; on the console, as rich
    prints it on a terminal and as Python prints it elsewhere (a log file). Never with the frames'
    local variables: they may hold a database URL or an AMI secret.
    """
    renderers: list[Any]
    if json_logs:
        renderers = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        tty = sys.stderr.isatty()
        formatter = structlog.dev.RichTracebackFormatter(show_locals=False) if tty else structlog.dev.plain_traceback
        renderers = [structlog.dev.ConsoleRenderer(colors=tty, exception_formatter=formatter)]
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
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
