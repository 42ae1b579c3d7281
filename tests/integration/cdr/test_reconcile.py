"""Reconciling `cdr` with `asterisk_cdr` on real PostgreSQL: reports, rebuilt rows, the metric."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cdr import CdrRecord, CdrWriter, DialerMetrics
from cdr.reconcile import MismatchKind, Reconciler, reconcile
from tests.integration.cdr.factories import attempt, contact, tenant

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=1)


async def asterisk_row(
    conn: AsyncConnection, unique_id: str, *, start: datetime, billsec: int, disposition: str,
    channel: str = "Local/79001110000@pstn-sim-00000001;1", linked_id: str | None = None, amd: str = "",
) -> None:
    answer = start + timedelta(seconds=1) if disposition == "ANSWERED" else None
    await conn.execute(
        text("INSERT INTO asterisk_cdr (unique_id, linked_id, server, disposition, start_at, answer_at, end_at, "
             "duration, billsec, raw) VALUES (:u, :l, 'sbx', :d, :s, :a, :e, :dur, :b, CAST(:raw AS jsonb))"),
        {"u": unique_id, "l": linked_id, "d": disposition, "s": start, "a": answer,
         "e": start + timedelta(seconds=billsec + 1), "dur": billsec + 1, "b": billsec,
         "raw": json.dumps({"Channel": channel, "UniqueID": unique_id, "AMDStatus": amd})},
    )


async def closed_attempt(conn: AsyncConnection, attempt_id: int, created_at: datetime, outcome: str,
                         billsec: int) -> None:
    answered = created_at + timedelta(seconds=2) if outcome == "answered" else None
    await conn.execute(text(
        "UPDATE attempts SET state = 'ended', outcome = :o, answered_at = :a, ended_at = :e, billsec = :b,"
        " ring_seconds = 2.5, hangup_cause = 16, amd_status = 'HUMAN' WHERE id = :id"),
        {"o": outcome, "a": answered, "e": created_at + timedelta(seconds=billsec + 3), "b": billsec,
         "id": attempt_id})


def dialer(channel_id: str, created_at: datetime, outcome: str, billsec: int = 0, **kw: Any) -> CdrRecord:
    return CdrRecord(channel_id=channel_id, phone="+79001110000", created_at=created_at, outcome=outcome,
                     billsec=billsec, ended_at=created_at + timedelta(seconds=billsec + 1), **kw)


async def scenario(engine: AsyncEngine) -> dict[str, int]:
    t0 = NOW - timedelta(minutes=30)
    async with engine.begin() as conn:
        t = await tenant(conn)
        c1 = await contact(conn, t, "+79001112233", subscriber_key="sub-1")
        c2 = await contact(conn, t, "+79001114455")
        # Calls the dialer never wrote (the worker died) but stored the attempt for before dialing.
        await attempt(conn, t, c1, "d-crashed-1", created_at=t0)
        await attempt(conn, t, c2, "d-crashed-2", created_at=t0)
        await asterisk_row(conn, "d-crashed-1", start=t0, billsec=12, disposition="ANSWERED", amd="HUMAN")
        await asterisk_row(conn, "d-crashed-2", start=t0, billsec=0, disposition="BUSY")
        # An Asterisk call with no attempt (e.g. the attempt transaction was lost too): phone from the channel.
        await asterisk_row(conn, "d-orphan", start=t0, billsec=0, disposition="NO ANSWER",
                           channel="Local/+79005556677@pstn-sim-0000000f;1")
        # Agreeing pair, billsec off by one; a pair beyond tolerance; a disposition disagreement; a lost call.
        await asterisk_row(conn, "d-ok", start=t0, billsec=20, disposition="ANSWERED")
        await asterisk_row(conn, "d-bill", start=t0, billsec=25, disposition="ANSWERED")
        await asterisk_row(conn, "d-disp", start=t0, billsec=0, disposition="NO ANSWER")
        await asterisk_row(conn, "d-lost", start=t0, billsec=9, disposition="ANSWERED", amd="HUMAN")
        # Not originated legs: the ;2 half of a Local channel, and a second leg of a call by LinkedID.
        await asterisk_row(conn, "d-ok-2", start=t0, billsec=20, disposition="ANSWERED",
                           channel="Local/79001110000@pstn-sim-00000001;2")
        await asterisk_row(conn, "d-other-leg", start=t0, billsec=20, disposition="ANSWERED",
                           channel="PJSIP/agent-0001", linked_id="d-ok")
        # Out of range.
        await asterisk_row(conn, "d-old", start=SINCE - timedelta(minutes=5), billsec=0, disposition="BUSY")
        # Asterisk reported it 5 s ago: the worker's batch is still on its way (within the grace).
        await asterisk_row(conn, "d-just-ended", start=NOW - timedelta(seconds=6), billsec=0, disposition="BUSY")
        # Someone else's calls on a shared Asterisk (another prefix).
        await asterisk_row(conn, "x-foreign", start=t0, billsec=0, disposition="BUSY")
        # Calls whose attempt was closed, recorded by neither side (the worker was killed with the row
        # queued; no worker got Asterisk's event): long ago, just now (the row may be on its way), and
        # one still open (not a call that ended).
        await closed_attempt(conn, await attempt(conn, t, c1, "d-unrecorded", created_at=t0), t0, "answered", 14)
        await closed_attempt(conn, await attempt(conn, t, c2, "d-unrecorded-young", created_at=NOW - timedelta(
            seconds=20)), NOW - timedelta(seconds=5), "busy", 0)
        await attempt(conn, t, c2, "d-unrecorded-open", created_at=t0)
    writer = CdrWriter(engine)
    for record in [
        dialer("d-ok", t0, "answered", 21, disposition="ANSWERED"),
        dialer("d-bill", t0, "answered", 22, disposition="ANSWERED"),
        dialer("d-disp", t0, "busy", 0),
        dialer("d-lost", t0, "lost", 0),
        dialer("d-no-asterisk", t0, "answered", 5),  # settled long ago, Asterisk never reported it
        dialer("d-young", NOW - timedelta(seconds=10), "answered", 0),  # Asterisk's event may still come
        dialer("d-old-dialer", SINCE - timedelta(minutes=5), "busy"),
    ]:
        writer.submit(record)
    await writer.aclose()
    return {"c1": c1, "c2": c2, "company": t.company_id, "campaign": t.campaign_id}


async def test_report_rebuilds_what_asterisk_reported_and_counts_the_rest(database: AsyncEngine) -> None:
    ids = await scenario(database)
    metrics = DialerMetrics(CollectorRegistry())
    async with database.begin() as conn:
        report = await reconcile(conn, since=SINCE, now=NOW, channel_prefix="d-", metrics=metrics)
    by_kind = {k: sorted(m.channel_id for m in report.mismatches if m.kind.value == k) for k in report.counts}
    assert by_kind == {
        MismatchKind.MISSING_IN_DIALER: ["d-crashed-1", "d-crashed-2", "d-orphan"],
        MismatchKind.MISSING_IN_ASTERISK: ["d-no-asterisk"],
        MismatchKind.BILLSEC: ["d-bill"],
        MismatchKind.DISPOSITION: ["d-disp"],
        MismatchKind.LOST: ["d-lost"],
        MismatchKind.MISSING_CDR: ["d-unrecorded"],
    }
    assert report.matched == 1  # d-ok
    assert report.asterisk_rows == 8  # the ;2 leg, the second leg, the old and the foreign rows excluded
    assert report.dialer_rows == 6
    assert report.repaired == 5
    assert metrics.registry.get_sample_value("dialer_cdr_mismatch_total") == 8
    payload = json.loads(json.dumps(report.as_dict()))
    assert payload["mismatches"]["missing_in_dialer"] == 3

    async with database.connect() as conn:
        rows = {r[0]: r[1:] for r in (await conn.execute(text(
            "SELECT channel_id, phone, subscriber_key, campaign_id, company_id, contact_id, trunk, worker_id, "
            "outcome, billsec, disposition, amd_status, source FROM cdr WHERE source = 'asterisk'"
        ))).all()}
    assert rows["d-crashed-1"] == ("+79001112233", "sub-1", ids["campaign"], ids["company"], ids["c1"], "sbx",
                                   "w1", "answered", 12, "ANSWERED", "HUMAN", "asterisk")
    assert rows["d-crashed-2"][0] == "+79001114455"
    assert rows["d-crashed-2"][7:10] == ("busy", 0, "BUSY")
    assert rows["d-orphan"][:2] == ("+79005556677", None)
    assert rows["d-orphan"][7] == "no_answer"
    assert rows["d-lost"][7:11] == ("answered", 9, "ANSWERED", "HUMAN")
    async with database.connect() as conn:
        rebuilt = (await conn.execute(text(
            "SELECT channel_id, attempt_id IS NOT NULL, phone, subscriber_key, contact_id, trunk, worker_id,"
            " created_at, answered_at IS NOT NULL, ring_seconds, billsec, disposition, hangup_cause, amd_status,"
            " outcome"
            " FROM cdr WHERE source = 'attempt'"))).all()
    assert rebuilt == [("d-unrecorded", True, "+79001112233", "sub-1", ids["c1"], "sbx", "w1",
                        NOW - timedelta(minutes=30), True, Decimal("2.500"), 14, "ANSWERED", 16, "HUMAN", "answered")]

    # A second pass finds only what cannot be repaired.
    async with database.begin() as conn:
        again = await reconcile(conn, since=SINCE, now=NOW, channel_prefix="d-")
    # (Asterisk's absence of the call rebuilt from its attempt was reported with it, not again.)
    assert {m.channel_id for m in again.mismatches} == {"d-no-asterisk", "d-bill", "d-disp"}
    assert again.matched == 5
    # Once the grace is over (or with grace 0 after a crash) the late row is rebuilt too.
    async with database.begin() as conn:
        late = await reconcile(conn, since=SINCE, now=NOW, channel_prefix="d-", grace=timedelta(0))
    assert sorted((m.kind, m.channel_id, m.repaired) for m in late.mismatches
                  if m.kind in (MismatchKind.MISSING_IN_DIALER, MismatchKind.MISSING_CDR)) == [
        (MismatchKind.MISSING_CDR, "d-unrecorded-young", True),
        (MismatchKind.MISSING_IN_DIALER, "d-just-ended", True),
    ]


async def test_periodic_reconcilers_count_each_mismatch_once(database: AsyncEngine) -> None:
    await scenario(database)
    # Two workers, each with its reconciler and its metrics: Prometheus sums their counters.
    metrics = [DialerMetrics(CollectorRegistry()) for _ in range(2)]
    reconcilers = [
        Reconciler(database, metrics=m, lookback=timedelta(hours=1), channel_prefix="d-") for m in metrics
    ]
    first = await reconcilers[0].run_once(NOW)
    second = await reconcilers[1].run_once(NOW)
    third = await reconcilers[0].run_once(NOW)
    assert len(first.mismatches) == 8
    assert len(second.mismatches) == len(third.mismatches) == 3
    counted = [m.registry.get_sample_value("dialer_cdr_mismatch_total") for m in metrics]
    assert counted == [8, 0]
    # Counted mismatches are remembered as long as a pass can still look back at them.
    count = text("SELECT count(*) FROM cdr_mismatches")
    async with database.connect() as conn:
        assert (await conn.execute(count)).scalar_one() == 8
    await reconcilers[1].run_once(NOW + timedelta(hours=3))
    async with database.connect() as conn:
        assert (await conn.execute(count)).scalar_one() == 0


async def test_nothing_to_reconcile(database: AsyncEngine) -> None:
    async with database.begin() as conn:
        report = await reconcile(conn, since=SINCE, now=NOW)
    assert report.mismatches == ()
    assert (report.dialer_rows, report.asterisk_rows, report.matched) == (0, 0, 0)
