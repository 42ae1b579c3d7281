"""Asterisk's own CDR: `Cdr` AMI events of cdr_manager into table `asterisk_cdr`, idempotent by UniqueID.

The source is any async iterator of event mappings (header name -> value, any case), so it plugs into
`ami.AmiClient.events({"Cdr"})` through `message_fields()`, or into a recorded stream in tests.
cdr_manager writes StartTime/AnswerTime/EndTime in the Asterisk server's local time without an
offset (cdr_manager.c DATE_FORMAT "%Y-%m-%d %T"), so the server's IANA zone must be configured.

Every dialer worker connected to an Asterisk ingests its Cdr events (AMI broadcasts them to every
session); rows are keyed by UniqueID, so the copies collapse into one and a dead worker's calls are
still recorded by the others.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import structlog
from prometheus_client import Counter
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr._batching import BatchedWriter, KeyedBatcher, RetryPolicy, ensure_stage
from cdr.errors import CdrError, CdrEventError
from cdr.metrics import DialerMetrics
from cdr.records import AsteriskCdrRecord

__all__ = [
    "ASTERISK_TIME_FORMAT",
    "AsteriskCdrIngester",
    "CdrEventSource",
    "message_fields",
    "parse_cdr_event",
    "phone_from_channel",
    "server_zone",
]

log = structlog.stdlib.get_logger(__name__)

ASTERISK_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# The source protocol: anything that yields one mapping of AMI headers per event.
CdrEventSource = AsyncIterable[Mapping[str, str]]


class _HasFields(Protocol):
    @property
    def fields(self) -> tuple[tuple[str, str], ...]: ...


async def message_fields(messages: AsyncIterable[_HasFields]) -> AsyncIterator[Mapping[str, str]]:
    """Adapt a stream of `ami.Message` (e.g. `client.events({"Cdr"})`) to a CdrEventSource.

    Headers keep Asterisk's spelling (stored as is in `asterisk_cdr.raw`); the first of repeated
    headers wins, as in `Message.get`. An `ami.Message` already holds that mapping (`headers`, read
    only here): it is passed on rather than built again.
    """
    async for message in messages:
        headers: Mapping[str, str] | None = getattr(message, "headers", None)
        yield headers if headers is not None else dict(reversed(message.fields))


def server_zone(name: str) -> ZoneInfo:
    """The IANA zone of an Asterisk server's clock; CdrError naming the value when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise CdrError(f"Asterisk server time zone {name!r} is not an IANA zone (e.g. Europe/Moscow)") from exc


def _local_instant(fields: Mapping[str, str], header: str, zone: tzinfo) -> datetime | None:
    key = header.lower()
    value = fields.get(key, "").strip()
    if not value:
        return None
    try:
        # fromisoformat (C) reads exactly this shape ("2026-11-25 14:03:07"); strptime (regular
        # expressions in Python, three per event) stays the judge of anything else.
        if len(value) == 19 and value[10] == " " and value[4] == value[7] == "-" and value[13] == value[16] == ":":
            naive = datetime.fromisoformat(value)
        else:
            naive = datetime.strptime(value, ASTERISK_TIME_FORMAT)
    except ValueError as exc:
        raise CdrEventError(f"Cdr event {fields.get('uniqueid', '?')}: {header} {value!r} is not "
                            f"'{ASTERISK_TIME_FORMAT}'") from exc
    # fold=0: in the repeated hour of a DST change the earlier instant is taken (Asterisk keeps no offset).
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _seconds(fields: Mapping[str, str], header: str) -> int | None:
    key = header.lower()
    value = fields.get(key, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise CdrEventError(
            f"Cdr event {fields.get('uniqueid', '?')}: {header} {value!r} is not an integer"
        ) from exc


_LOCAL_CHANNEL = re.compile(r"^Local/(?P<number>\+?\d+)@")


def phone_from_channel(channel: str | None) -> str | None:
    """The dialled number in a `Local/<number>@context-...;1` channel name, when it is one."""
    match = _LOCAL_CHANNEL.match(channel or "")
    return match.group("number") if match else None


def parse_cdr_event(event: Mapping[str, str], *, server: str | None, zone: tzinfo) -> AsteriskCdrRecord:
    """One cdr_manager `Cdr` event as a record with UTC instants (headers matched case-insensitively)."""
    return _record({key.lower(): value for key, value in event.items()}, _raw(event), server=server, zone=zone)


def _raw(event: Mapping[str, str], folded: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What `asterisk_cdr.raw` stores: the event's headers as Asterisk spelt them, without Privilege.
    `folded` (the headers in lower case, when at hand) lets the usual event take a plain copy."""
    if folded is not None and "privilege" not in folded:
        return dict(event)
    if folded is not None and len(folded) == len(event) and "Privilege" in event:
        # No two headers differ only in case, so "Privilege" is the only spelling to drop.
        raw = dict(event)
        del raw["Privilege"]
        return raw
    return {key: value for key, value in event.items() if key.lower() != "privilege"}


def _record(fields: Mapping[str, str], raw: dict[str, Any], *, server: str | None,
            zone: tzinfo) -> AsteriskCdrRecord:
    """`parse_cdr_event` once the headers are folded to lower case (`fields`) and `raw` is built."""
    unique_id = fields.get("uniqueid", "").strip()
    if not unique_id:
        raise CdrEventError("Cdr event without UniqueID")
    return AsteriskCdrRecord(
        unique_id=unique_id,
        # cdr_manager sends LinkedID only when cdr_manager.conf maps it (`linkedid => LinkedID`).
        linked_id=fields.get("linkedid") or None,
        server=server,
        disposition=fields.get("disposition") or None,
        start_at=_local_instant(fields, "StartTime", zone),
        answer_at=_local_instant(fields, "AnswerTime", zone),
        end_at=_local_instant(fields, "EndTime", zone),
        duration=_seconds(fields, "Duration"),
        billsec=_seconds(fields, "BillableSeconds"),
        channel=fields.get("channel") or None,
        destination=fields.get("destination") or None,
        amd_status=fields.get("amdstatus") or None,
        raw=raw,
    )


_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unique_id", "text"),
    ("linked_id", "text"),
    ("server", "text"),
    ("disposition", "text"),
    ("start_at", "timestamptz"),
    ("answer_at", "timestamptz"),
    ("end_at", "timestamptz"),
    ("duration", "int4"),
    ("billsec", "int4"),
    ("raw", "jsonb"),
)
_NAMES = [name for name, _ in _COLUMNS]
_STAGE = "asterisk_cdr_stage"
_CREATE_STAGE = sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {stage} ({cols}) ON COMMIT DELETE ROWS").format(
    stage=sql.Identifier(_STAGE),
    cols=sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in _COLUMNS),
)
_COPY = sql.SQL("COPY {stage} ({cols}) FROM STDIN (FORMAT BINARY)").format(
    stage=sql.Identifier(_STAGE), cols=sql.SQL(", ").join(map(sql.Identifier, _NAMES))
)
# A replayed event rewrites the same values; of two CDRs of one channel the later-ending one wins.
_UPSERT = sql.SQL(
    "INSERT INTO asterisk_cdr ({cols}) SELECT {cols} FROM {stage} "
    "ON CONFLICT (unique_id) DO UPDATE SET {updates}, received_at = now() "
    "WHERE asterisk_cdr.end_at IS NULL OR EXCLUDED.end_at >= asterisk_cdr.end_at"
).format(
    cols=sql.SQL(", ").join(map(sql.Identifier, _NAMES)),
    stage=sql.Identifier(_STAGE),
    updates=sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in _NAMES if n != "unique_id"
    ),
)


# A small batch in one statement: each column as an array, the rows rebuilt by unnest().
_UPSERT_ARRAYS = (
    f"INSERT INTO asterisk_cdr ({', '.join(_NAMES)}) SELECT {', '.join(_NAMES)} FROM unnest("
    + ", ".join(f"%b::{t}[]" for _, t in _COLUMNS)
    + f") AS t({', '.join(_NAMES)}) "
    "ON CONFLICT (unique_id) DO UPDATE SET "
    + ", ".join(f"{n} = EXCLUDED.{n}" for n in _NAMES if n != "unique_id")
    + ", received_at = now() "
    "WHERE asterisk_cdr.end_at IS NULL OR EXCLUDED.end_at >= asterisk_cdr.end_at"
)


class _AsteriskCdrSink:
    async def write(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[AsteriskCdrRecord]) -> None:
        await ensure_stage(conn, _STAGE, _CREATE_STAGE)
        async with conn.cursor() as cur, cur.copy(_COPY) as copy:
            copy.set_types([t for _, t in _COLUMNS])
            for r in rows:
                await copy.write_row((
                    r.unique_id, r.linked_id, r.server, r.disposition, r.start_at, r.answer_at, r.end_at,
                    r.duration, r.billsec, Jsonb(r.raw),
                ))
        await conn.execute(_UPSERT)

    async def write_statement(self, conn: psycopg.AsyncConnection[Any], rows: Sequence[AsteriskCdrRecord]) -> None:
        await conn.execute(_UPSERT_ARRAYS, [
            [r.unique_id for r in rows], [r.linked_id for r in rows], [r.server for r in rows],
            [r.disposition for r in rows], [r.start_at for r in rows], [r.answer_at for r in rows],
            [r.end_at for r in rows], [r.duration for r in rows], [r.billsec for r in rows],
            [Jsonb(r.raw) for r in rows],
        ], prepare=True)


def _unique_id(record: AsteriskCdrRecord) -> str:
    return record.unique_id


class AsteriskCdrIngester(BatchedWriter[AsteriskCdrRecord]):
    """Consume Cdr events into `asterisk_cdr` in batches.

    ```
    ingester = AsteriskCdrIngester(engine, server="pbx1", server_tz="Europe/Moscow", metrics=metrics)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(ingester.run())                                   # the batch writer
        tg.create_task(ingester.consume(message_fields(client.events({"Cdr"}))))
        ...
        await ingester.aclose()
    ```
    """

    TABLE = "asterisk_cdr"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        server: str | None = None,
        server_tz: str | tzinfo = "UTC",
        batch_size: int = 200,
        flush_interval: float = 0.5,
        metrics: DialerMetrics | None = None,
        max_pending: int = 100_000,
        retry: RetryPolicy | None = None,
        pool: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        """`pool`: an autocommit psycopg pool to write through (a worker's hot path) instead of `engine`."""
        self.server = server
        self.zone: tzinfo = server_zone(server_tz) if isinstance(server_tz, str) else server_tz
        self._metrics = metrics
        self._batcher: KeyedBatcher[AsteriskCdrRecord] = KeyedBatcher(
            engine, _AsteriskCdrSink(), key=_unique_id, table=self.TABLE, batch_size=batch_size,
            flush_interval=flush_interval, max_pending=max_pending, metrics=metrics, retry=retry, pool=pool,
        )
        self.events_seen = 0
        self.events_rejected = 0
        self._events_counter: Counter | None = None

    def parse(self, event: Mapping[str, str]) -> AsteriskCdrRecord | None:
        """The record of a Cdr event; None for other events and for malformed ones (logged, counted)."""
        fields = {k.lower(): v for k, v in event.items()}
        # A bare mapping of Cdr fields is accepted; any other event or an action response is not.
        if "response" in fields or fields.get("event", "Cdr").lower() != "cdr":
            return None
        self.events_seen += 1
        counter = self._events_counter
        if counter is None and self._metrics is not None:  # looked up once, at the first event
            counter = self._events_counter = self._metrics.asterisk_cdr_events_total.labels(self.server or "")
        if counter is not None:
            counter.inc()
        try:
            record = _record(fields, _raw(event, fields), server=self.server, zone=self.zone)
        except CdrEventError as exc:
            self.events_rejected += 1
            log.error("asterisk cdr event skipped", server=self.server, error=str(exc))
            return None
        return record

    def accept(self, event: Mapping[str, str]) -> AsteriskCdrRecord | None:
        """Queue one event without waiting (CdrQueueFull when the bounded queue is full)."""
        record = self.parse(event)
        if record is not None:
            self._batcher.submit(record)
        return record

    async def consume(self, events: CdrEventSource) -> int:
        """Queue every Cdr event of `events` until it ends; returns how many were queued.

        While the database is away and the queue is full this waits, and the AMI layer's bounded
        event stream absorbs (then drops and counts) what arrives meanwhile; reconcile reports the gap.
        """
        queued = 0
        async for event in events:
            record = self.parse(event)
            if record is not None:
                await self._batcher.put(record)
                queued += 1
        return queued
