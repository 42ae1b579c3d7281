"""What the parts of one worker process share: identity, database, clocks, metrics, signals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ami import CallHandle
from cdr.metrics import DialerMetrics
from cdr.writer import CdrWriter
from dialer.pacing import PacingClock, Signal
from dialer.worker.clock import ClockGuard
from dialer.worker.options import WorkerOptions

__all__ = ["WorkerContext", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class WorkerContext:
    worker_id: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    options: WorkerOptions
    clock: PacingClock
    metrics: DialerMetrics
    cdr: CdrWriter
    # psycopg pool (autocommit) for the hot path (lease, gate, close): lighter than SQLAlchemy's per call.
    pg: AsyncConnectionPool[Any]
    spawn_call: Callable[[Coroutine[Any, Any, None]], None]
    wall: Callable[[], datetime] = utc_now
    # ChannelIds of this installation (dialer.reservations.installation_prefix), set at start.
    channel_prefix: str = "dlr-"
    # Fired by every channel release, limit change and AMI state change: dispatchers waiting for a
    # free channel on a usable trunk look again.
    capacity: Signal = field(default_factory=Signal)
    # Contacts with a call of this worker in progress (admission to close). The reconciler treats an
    # open attempt of ours whose contact is not here as orphaned.
    live_contacts: set[int] = field(default_factory=set)
    # Calls on the wire, by ChannelId (their live state, for status displays such as the demo).
    live_handles: dict[str, CallHandle] = field(default_factory=dict)
    calls_done: Signal = field(default_factory=Signal)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once this worker's first pacing shares are in force (see Worker._settle).
    may_dial: asyncio.Event = field(default_factory=asyncio.Event)
    # This worker's clock against PostgreSQL's (dialer.worker.clock), read at each heartbeat.
    clock_guard: ClockGuard = field(init=False)

    def __post_init__(self) -> None:
        self.clock_guard = ClockGuard(self.options.max_clock_skew_seconds)

    @property
    def clock_held(self) -> bool:
        """True while this worker's clock disagrees with PostgreSQL's: no call is placed."""
        return self.clock_guard.held
