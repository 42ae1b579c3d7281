"""Asterisk's Cdr events into `asterisk_cdr`: captured traffic replayed, then real calls in the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ami import AmiClient
from ami.protocol import iter_messages
from cdr import DialerMetrics, disposition_for_outcome
from cdr.asterisk_cdr import AsteriskCdrIngester, message_fields
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.cdr.sandbox_calls import Campaign, PlannedCall, place_calls

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ami"


async def replay(paths: list[Path]) -> AsyncIterator[Mapping[str, str]]:
    for path in paths:
        for message in iter_messages(path.read_bytes()):
            yield dict(message.fields)  # every event, not only Cdr: the ingester must skip the others


async def fetch(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def test_captured_traffic_is_ingested_once_however_often_replayed(database: AsyncEngine) -> None:
    metrics = DialerMetrics(CollectorRegistry())
    paths = sorted(CAPTURES.glob("*.bin"))
    expected = sum(1 for p in paths for m in iter_messages(p.read_bytes()) if m.name == "Cdr")
    ingester = AsteriskCdrIngester(database, server="capture", server_tz="UTC", metrics=metrics)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(ingester.run())
        assert await ingester.consume(replay(paths)) == expected
        assert await ingester.consume(replay(paths)) == expected  # a reconnect replaying history
        await ingester.aclose()
    unique = len({m.get("UniqueID") for p in paths for m in iter_messages(p.read_bytes()) if m.name == "Cdr"})
    assert await fetch(database, "SELECT count(*), count(DISTINCT unique_id) FROM asterisk_cdr") == [(unique, unique)]
    assert metrics.registry.get_sample_value("dialer_asterisk_cdr_events_total", {"server": "capture"}) == 2 * expected
    busy = await fetch(
        database,
        "SELECT disposition, billsec, duration, server, raw->>'LastApplication' FROM asterisk_cdr "
        "WHERE unique_id = 'capture-busy-0f4da7b8'",
    )
    assert busy == [("BUSY", 0, 0, "capture", "AppDial2")]


async def test_captured_traffic_through_an_autocommit_pool(database: AsyncEngine, database_url: str) -> None:
    """A worker's ingester writes through its hot-path pool: small batches are one upsert from arrays."""
    from dialer.db.session import make_hot_pool

    paths = sorted(CAPTURES.glob("*.bin"))
    pool = make_hot_pool(database_url, name="asterisk-cdr-test", min_size=1, max_size=2)
    await pool.open(wait=True)
    try:
        ingester = AsteriskCdrIngester(database, server="capture", server_tz="UTC", batch_size=3, pool=pool)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(ingester.run())
            await ingester.consume(replay(paths))
            await ingester.consume(replay(paths))
            await ingester.aclose()
    finally:
        await pool.close()
    unique = len({m.get("UniqueID") for p in paths for m in iter_messages(p.read_bytes()) if m.name == "Cdr"})
    assert await fetch(database, "SELECT count(*), count(DISTINCT unique_id) FROM asterisk_cdr") == [(unique, unique)]
    busy = await fetch(
        database,
        "SELECT disposition, billsec, duration, server, raw->>'LastApplication' FROM asterisk_cdr "
        "WHERE unique_id = 'capture-busy-0f4da7b8'",
    )
    assert busy == [("BUSY", 0, 0, "capture", "AppDial2")]


async def test_real_calls_are_ingested_with_utc_instants(database: AsyncEngine, asterisk: AsteriskSandbox) -> None:
    calls = [PlannedCall(phone=f"+7900777000{d}", hold_s=2) for d in "012345"]
    campaign = Campaign(name="ingest", campaign_id=1, company_id=1, trunk="sandbox")
    mine: set[str] = set()
    seen: set[str] = set()
    all_seen = asyncio.Event()

    async def watch(stream: AsyncIterator[Mapping[str, str]]) -> AsyncIterator[Mapping[str, str]]:
        # The sandbox is shared: other people's calls pass by too; wait for both legs of ours.
        async for event in stream:
            seen.add(event["UniqueID"])
            if mine and {c for m in mine for c in (m, f"{m}-2")} <= seen:
                all_seen.set()
            yield event

    ingester = AsteriskCdrIngester(database, server="sandbox", server_tz="UTC", flush_interval=0.1)
    ami = AmiClient(asterisk.host, asterisk.port, asterisk.username, asterisk.secret, name="cdr-ingest")
    async with ami, ami.events({"Cdr"}) as stream, asyncio.TaskGroup() as tg:
        tg.create_task(ingester.run())
        consumer = tg.create_task(ingester.consume(watch(message_fields(stream))))
        placed = await place_calls(ami, calls, campaign=campaign, cps=10, on_originated=mine.add)
        async with asyncio.timeout(60):
            await all_seen.wait()
        consumer.cancel()
        await ingester.aclose()
    assert len(placed) == len(calls)
    for call in placed:
        result = call.result
        rows = await fetch(
            database,
            "SELECT disposition, billsec, start_at, answer_at, end_at, server FROM asterisk_cdr WHERE unique_id = :u",
            u=result.channel_id,
        )
        assert len(rows) == 1, result
        disposition, billsec, start_at, answer_at, end_at, server = rows[0]
        expected = disposition_for_outcome(result.outcome.value)
        assert expected is not None
        assert disposition == expected.value, result
        assert abs(int(billsec) - result.billsec) <= 1, (billsec, result)  # type: ignore[call-overload]
        # Whole seconds of the server's clock, converted from its zone: within a second of AMI's instants.
        assert abs(start_at - result.started_at) <= timedelta(seconds=1.01), (start_at, result)  # type: ignore[operator]
        assert (answer_at is None) == (result.answered_at is None)
        assert server == "sandbox"
        assert end_at is not None
        # The ;2 leg of the Local channel is recorded too, under OtherChannelId.
        assert len(await fetch(database, "SELECT 1 FROM asterisk_cdr WHERE unique_id = :u",
                               u=f"{result.channel_id}-2")) == 1
