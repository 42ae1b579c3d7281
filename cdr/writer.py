"""The dialer's CDR writer: batched COPY into a staging table, then an upsert keyed by channel id.

`submit()` never blocks the call path; `run()` (a task of the worker's TaskGroup) writes batches;
`aclose()` flushes on shutdown. Writing the same channel id again updates its row, so a retried
batch, a record re-sent after a restart, or a preliminary then final record are all harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr._batching import BatchedWriter, KeyedBatcher, RetryPolicy, ensure_stage
from cdr.metrics import DialerMetrics
from cdr.records import CdrRecord

__all__ = ["CDR_COLUMNS", "CdrWriter", "copy_cdr_rows"]

# (column, PostgreSQL type of the binary COPY) in CdrRecord field order of the staging table.
CDR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("channel_id", "text"),
    ("linked_id", "text"),
    ("attempt_id", "int8"),
    ("campaign_id", "int4"),
    ("company_id", "int4"),
    ("contact_id", "int8"),
    ("subscriber_key", "text"),
    ("phone", "text"),
    ("trunk", "text"),
    ("worker_id", "text"),
    ("created_at", "timestamptz"),
    ("answered_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("ring_seconds", "numeric"),
    ("billsec", "int4"),
    ("disposition", "text"),
    ("hangup_cause", "int4"),
    ("amd_status", "text"),
    ("outcome", "text"),
)
_NAMES = [name for name, _ in CDR_COLUMNS]
_TYPES = [pg_type for _, pg_type in CDR_COLUMNS]
_STAGE = "cdr_stage"

# Session-local and emptied at each commit: concurrent writers never see each other's rows.
_CREATE_STAGE = sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {stage} ({cols}) ON COMMIT DELETE ROWS").format(
    stage=sql.Identifier(_STAGE),
    cols=sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type)) for name, pg_type in CDR_COLUMNS
    ),
)
_COPY_STAGE = sql.SQL("COPY {stage} ({cols}) FROM STDIN (FORMAT BINARY)").format(
    stage=sql.Identifier(_STAGE), cols=sql.SQL(", ").join(map(sql.Identifier, _NAMES))
)
_UPSERT = sql.SQL(
    "INSERT INTO cdr ({cols}, source) SELECT {cols}, 'dialer' FROM {stage} "
    "ON CONFLICT (channel_id) DO UPDATE SET {updates}, source = 'dialer'"
).format(
    cols=sql.SQL(", ").join(map(sql.Identifier, _NAMES)),
    stage=sql.Identifier(_STAGE),
    updates=sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in _NAMES if name != "channel_id"
    ),
)


def record_row(record: CdrRecord) -> tuple[Any, ...]:
    """The COPY row of a record, in CDR_COLUMNS order."""
    return (
        record.channel_id,
        record.linked_id,
        record.attempt_id,
        record.campaign_id,
        record.company_id,
        record.contact_id,
        record.subscriber_key,
        record.phone,
        record.trunk,
        record.worker_id,
        record.created_at,
        record.answered_at,
        record.ended_at,
        record.ring_seconds,
        record.billsec,
        record.disposition,
        record.hangup_cause,
        record.amd_status,
        record.outcome,
    )


async def copy_cdr_rows(
    conn: psycopg.AsyncConnection[Any], records: Sequence[CdrRecord], *, table: str = _STAGE
) -> None:
    """COPY records into `table` (the staging table by default) in binary format."""
    statement = _COPY_STAGE if table == _STAGE else sql.SQL("COPY {t} ({cols}) FROM STDIN (FORMAT BINARY)").format(
        t=sql.Identifier(table), cols=sql.SQL(", ").join(map(sql.Identifier, _NAMES))
    )
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(_TYPES)
        for record in records:
            await copy.write_row(record_row(record))


# A small batch in one statement: each column as an array, the rows rebuilt by unnest().
_UPSERT_ARRAYS = (
    f"INSERT INTO cdr ({', '.join(_NAMES)}, source) "
    f"SELECT {', '.join(_NAMES)}, 'dialer' FROM unnest("
    + ", ".join(f"%b::{pg_type}[]" for pg_type in _TYPES)
    + f") AS t({', '.join(_NAMES)}) "
    "ON CONFLICT (channel_id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _NAMES if name != "channel_id")
    + ", source = 'dialer'"
)


class _CdrSink:
    async def write(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[CdrRecord]) -> None:
        await ensure_stage(conn, _STAGE, _CREATE_STAGE)
        await copy_cdr_rows(conn, rows)
        await conn.execute(_UPSERT)

    async def write_statement(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[CdrRecord]) -> None:
        columns = [list(column) for column in zip(*map(record_row, rows), strict=True)]
        await conn.execute(_UPSERT_ARRAYS, columns, prepare=True)


def _channel_id(record: CdrRecord) -> str:
    return record.channel_id


class CdrWriter(BatchedWriter[CdrRecord]):
    """Batched, idempotent writer of the `cdr` table.

    ```
    writer = CdrWriter(engine, batch_size=500, flush_interval=1.0, metrics=metrics)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(writer.run())
        writer.submit(record)          # never blocks; CdrQueueFull at max_pending
        ...
        await writer.aclose()          # flushes, then run() returns
    ```
    """

    TABLE = "cdr"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        metrics: DialerMetrics | None = None,
        max_pending: int | None = None,
        retry: RetryPolicy | None = None,
        pool: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        """`pool`: an autocommit psycopg pool to write through (a worker's hot path) instead of `engine`."""
        self._batcher: KeyedBatcher[CdrRecord] = KeyedBatcher(
            engine,
            _CdrSink(),
            key=_channel_id,
            table=self.TABLE,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_pending=max_pending if max_pending is not None else max(100 * batch_size, 50_000),
            metrics=metrics,
            retry=retry,
            pool=pool,
        )

    @property
    def rows_written(self) -> int:
        return self._batcher.rows_written

    @property
    def rows_rejected(self) -> int:
        return self._batcher.rows_rejected

    def submit(self, record: CdrRecord) -> None:
        """Queue a record without waiting (a later record for the same channel id replaces it)."""
        self._batcher.submit(record)

    async def put(self, record: CdrRecord) -> None:
        """Queue a record, waiting for room when the queue is full."""
        await self._batcher.put(record)

    async def __aenter__(self) -> CdrWriter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
