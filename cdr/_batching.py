"""A keyed, bounded, retrying batch writer to PostgreSQL: the engine under CdrWriter and the Asterisk CDR store.

Rows wait in memory keyed by their natural key (a later row for the same key replaces the queued one,
so one batch never touches a key twice, which `INSERT ... ON CONFLICT DO UPDATE` forbids). A batch is
written when it is full, when its oldest row has waited `flush_interval`, or on `flush()`/`aclose()`.
A batch of up to `small_batch` rows (the steady trickle of a dialing worker) is one statement (an
upsert from arrays): with a psycopg pool in autocommit (`pool=`, a worker's hot-path pool) that is
one round trip; larger batches go through COPY into a staging table, in a transaction.
Transient database errors (PostgreSQL restarting, connection lost) keep the batch and retry it with
backoff; rows PostgreSQL refuses as bad data are isolated by bisection, logged and counted, so one bad
row never blocks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import psycopg
import psycopg.errors
import structlog
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cdr.errors import CdrError, CdrQueueFull, CdrWriterClosed
from cdr.metrics import DialerMetrics

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)

log = structlog.stdlib.get_logger(__name__)


class BatchSink(Protocol[R_contra]):
    """Writes one batch to a psycopg connection."""

    async def write(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[R_contra]) -> None:
        """Any number of rows, inside an open transaction (the caller commits)."""
        ...

    async def write_statement(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[R_contra]) -> None:
        """A small batch in ONE statement, atomic by itself (in autocommit or in the caller's transaction)."""
        ...

# Batches up to this many rows are one statement (arrays as parameters); larger ones use COPY.
SMALL_BATCH = 64


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter between `initial` and `maximum` seconds; retries forever."""

    initial: float = 0.1
    maximum: float = 5.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.maximum, self.initial * (2**attempt)))


# Session-local staging tables already created, by connection: `CREATE TEMP TABLE IF NOT EXISTS`
# before every batch was a round trip (and a NOTICE) per batch and writer.
_staged: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], set[str]] = weakref.WeakKeyDictionary()


async def ensure_stage(conn: psycopg.AsyncConnection[Any], name: str, create: sql.Composed) -> None:
    """Create the temporary staging table `name` on this session once. Outside a transaction block it
    is created and committed on its own (a batch rolled back later does not take it away); inside one
    (an autocommit connection's explicit transaction) the writer calls `forget_stages` when the batch
    fails."""
    done = _staged.setdefault(conn, set())
    if name in done:
        return
    await conn.execute(create)
    if not conn.autocommit:
        await conn.commit()
    done.add(name)


def forget_stages(conn: psycopg.AsyncConnection[Any]) -> None:
    """A transaction of this session rolled back: a staging table it created is gone with it."""
    _staged.pop(conn, None)


def is_transient(exc: BaseException) -> bool:
    """True for errors that a retry on a fresh connection may cure (server restart, lost link, deadlock)."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, sa_exc.InterfaceError | sa_exc.OperationalError | sa_exc.TimeoutError):
        return True
    # OperationalError covers AdminShutdown (57P01), CannotConnectNow (57P03), connection failures.
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.InterfaceError
        | psycopg.errors.TransactionRollback
        | OSError
        | TimeoutError,
    )


def is_bad_data(exc: BaseException) -> bool:
    """True when PostgreSQL refused the rows themselves (too long, null, out of range)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return isinstance(exc, psycopg.DataError | psycopg.IntegrityError)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """What a batch writer has done since it was created."""

    rows_written: int
    rows_rejected: int
    retries: int
    pending: int


class KeyedBatcher(Generic[R]):
    """Queue rows by key in memory (bounded) and write them in batches through a `BatchSink`."""

    def __init__(
        self,
        engine: AsyncEngine,
        sink: BatchSink[R],
        *,
        key: Callable[[R], str],
        table: str,
        batch_size: int,
        flush_interval: float,
        max_pending: int,
        metrics: DialerMetrics | None,
        retry: RetryPolicy | None = None,
        pool: AsyncConnectionPool[Any] | None = None,
        small_batch: int = SMALL_BATCH,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be positive, got {flush_interval}")
        if max_pending < batch_size:
            raise ValueError(f"max_pending ({max_pending}) must be at least batch_size ({batch_size})")
        self._engine = engine
        # An autocommit psycopg pool (a worker's hot path): no pre-ping, no BEGIN/COMMIT for a small batch.
        self._pool = pool
        self._small_batch = small_batch
        self._sink = sink
        self._key = key
        self._table = table
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_pending = max_pending
        self._metrics = metrics
        self._queue_gauge = None if metrics is None else metrics.cdr_queue_rows.labels(table)
        self._retry = retry or RetryPolicy()
        self._pending: dict[str, R] = {}
        self._inflight: list[R] = []
        self._oldest_at = 0.0  # monotonic time the oldest queued row arrived
        self._lock = asyncio.Lock()  # one batch at a time, whoever writes it (run loop or flush)
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._progress = asyncio.Condition()
        self._closing = False
        self._running = False
        self.rows_written = 0
        self.rows_rejected = 0
        self.retries = 0

    # -- producer side -------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Rows queued or in flight, not yet committed."""
        return len(self._pending) + len(self._inflight)

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def stats(self) -> WriterStats:
        return WriterStats(self.rows_written, self.rows_rejected, self.retries, self.pending)

    async def wait_for(self, predicate: Callable[[WriterStats], bool]) -> WriterStats:
        """Wait until `predicate(stats)` holds (checked after every batch and every retry)."""
        async with self._progress:
            await self._progress.wait_for(lambda: predicate(self.stats))
            return self.stats

    async def _notify_progress(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def submit(self, row: R) -> None:
        """Queue a row without waiting. Raises CdrQueueFull at the bound, CdrWriterClosed after aclose."""
        if self._closing:
            raise CdrWriterClosed(f"{self._table} writer is closed")
        key = self._key(row)
        if key not in self._pending and len(self._pending) >= self._max_pending:
            self._room.clear()
            raise CdrQueueFull(
                f"{self._table} writer queue is full ({len(self._pending)} rows); database unreachable?",
                pending=len(self._pending),
            )
        if not self._pending:
            self._oldest_at = time.monotonic()
            self._wakeup.set()  # start the flush_interval timer
        self._pending[key] = row
        if len(self._pending) >= self._batch_size:
            self._wakeup.set()
        self._set_queue_gauge()

    async def put(self, row: R) -> None:
        """Queue a row, waiting for room while the queue is full (back-pressure instead of an error)."""
        while True:
            try:
                self.submit(row)
                return
            except CdrQueueFull:
                await self._room.wait()

    # -- consumer side -------------------------------------------------------------------------

    async def run(self) -> None:
        """Write batches until `aclose()`; meant to be a task owned by the worker's TaskGroup.

        Never raises for database trouble (it retries); cancellation leaves unwritten rows queued,
        to be written by `flush()`/`aclose()`.
        """
        if self._running:
            raise CdrError(f"{self._table} writer: run() is already running")
        self._running = True
        try:
            while True:
                if not self._pending and not self._inflight:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                due = self._oldest_at + self._flush_interval
                if len(self._pending) < self._batch_size and not self._closing and not self._inflight:
                    delay = due - time.monotonic()
                    if delay > 0:
                        self._wakeup.clear()
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(delay):
                                await self._wakeup.wait()
                        continue
                await self._write_next_batch()
        finally:
            self._running = False

    async def flush(self) -> None:
        """Write everything queued now, retrying transient errors.

        Bound it with `asyncio.timeout()`: on expiry the unwritten rows stay queued, none is dropped.
        """
        while self._pending or self._inflight:
            await self._write_next_batch()

    async def aclose(self) -> None:
        """Refuse new rows, write the queued ones, and let `run()` return."""
        self._closing = True
        self._wakeup.set()
        try:
            await self.flush()
        finally:
            self._wakeup.set()

    # -- internals -----------------------------------------------------------------------------

    def _set_queue_gauge(self) -> None:
        if self._queue_gauge is not None:
            self._queue_gauge.set(self.pending)

    def _take_batch(self) -> None:
        keys = []
        for key in self._pending:
            keys.append(key)
            if len(keys) >= self._batch_size:
                break
        self._inflight = [self._pending.pop(k) for k in keys]
        self._oldest_at = time.monotonic()
        if len(self._pending) < self._max_pending:
            self._room.set()

    async def _write_next_batch(self) -> None:
        async with self._lock:
            if not self._inflight:
                if not self._pending:
                    return
                self._take_batch()
            attempt = 0
            while True:
                try:
                    await self._write_isolating(self._inflight)
                    break
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    delay = self._retry.delay(attempt)
                    attempt += 1
                    self.retries += 1
                    if self._metrics is not None:
                        self._metrics.cdr_write_retries_total.labels(self._table).inc()
                    log.warning(
                        "cdr batch write failed, retrying", table=self._table, rows=len(self._inflight),
                        attempt=attempt, retry_in=round(delay, 3), error=repr(exc),
                    )
                    await self._notify_progress()
                    await asyncio.sleep(delay)
            self._inflight = []
            self._set_queue_gauge()
        await self._notify_progress()

    async def _write_isolating(self, rows: Sequence[R]) -> None:
        """Write rows in one transaction; on bad data, bisect until the bad rows are alone."""
        try:
            await self._write_once(rows)
        except Exception as exc:
            if not is_bad_data(exc):
                raise
            if len(rows) == 1:
                self.rows_rejected += 1
                if self._metrics is not None:
                    self._metrics.cdr_rows_rejected_total.labels(self._table).inc()
                log.error(
                    "cdr row refused by PostgreSQL, skipped", table=self._table, key=self._key(rows[0]),
                    error=str(exc).strip(),
                )
                return
            middle = len(rows) // 2
            await self._write_isolating(rows[:middle])
            await self._write_isolating(rows[middle:])

    async def _write_once(self, rows: Sequence[R]) -> None:
        if self._pool is not None:
            await self._write_pooled(self._pool, rows)
        else:
            await self._write_engine(rows)
        self.rows_written += len(rows)
        if self._metrics is not None:
            self._metrics.cdr_rows_written_total.labels(self._table).inc(len(rows))

    async def _write_pooled(self, pool: AsyncConnectionPool[Any], rows: Sequence[R]) -> None:
        # The pool discards a connection that broke (transient errors) and rolls back one left in a
        # failed transaction when it comes back.
        async with pool.connection() as conn:
            if len(rows) <= self._small_batch and conn.autocommit:
                await self._sink.write_statement(conn, rows)
                return
            try:
                async with conn.transaction():
                    await self._sink.write(conn, rows)
            except BaseException:
                forget_stages(conn)
                raise

    async def _write_engine(self, rows: Sequence[R]) -> None:
        async with self._engine.connect() as sa_conn:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                raw = await sa_conn.get_raw_connection()
                conn = raw.driver_connection
                assert conn is not None
                if len(rows) <= self._small_batch:
                    await self._sink.write_statement(conn, rows)
                else:
                    await self._sink.write(conn, rows)
                await conn.commit()
            except Exception as exc:
                if is_transient(exc) or conn is None:
                    await _invalidate(sa_conn)
                else:
                    await _rollback_or_invalidate(sa_conn, conn)
                raise
            except BaseException:
                # Cancelled mid-batch: the connection's state is unknown; closing it aborts the
                # transaction on the server, and the rows stay in flight for the next attempt.
                await _invalidate(sa_conn)
                raise


async def _invalidate(sa_conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await sa_conn.invalidate()


async def _rollback_or_invalidate(sa_conn: AsyncConnection, conn: psycopg.AsyncConnection[Any]) -> None:
    try:
        await conn.rollback()
    except Exception:
        await _invalidate(sa_conn)


class BatchedWriter(Generic[R]):
    """What a writer built on a `KeyedBatcher` shows its owner: queue, stats, the run loop, flushing."""

    _batcher: KeyedBatcher[R]

    @property
    def pending(self) -> int:
        """Records queued or in flight, not yet committed."""
        return self._batcher.pending

    @property
    def stats(self) -> WriterStats:
        return self._batcher.stats

    async def wait_for(self, predicate: Callable[[WriterStats], bool]) -> WriterStats:
        """Wait until `predicate(stats)` holds, e.g. `lambda s: s.rows_written >= n`."""
        return await self._batcher.wait_for(predicate)

    async def run(self) -> None:
        """Write batches until `aclose()` (a task of the owner's TaskGroup); retries transient database
        errors without losing rows."""
        await self._batcher.run()

    async def flush(self) -> None:
        """Write every queued record now; bound it with `asyncio.timeout()` (unwritten rows stay queued)."""
        await self._batcher.flush()

    async def aclose(self) -> None:
        """Stop accepting records and write the queued ones (bound it with `asyncio.timeout()`)."""
        await self._batcher.aclose()
