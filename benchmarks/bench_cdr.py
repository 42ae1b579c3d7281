"""Speed of CDR writes: CdrWriter (COPY into a staging table + upsert by channel id) against a raw COPY.

    .venv/bin/python benchmarks/bench_cdr.py [--rows 200000] [--batch-size 5000] [--repeats 3] [--url URL]

Prints one JSON object. `figure` = rows/s through CdrWriter (submit every row, then flush: batches
of --batch-size, each COPY + INSERT ... ON CONFLICT DO UPDATE + commit); `baseline` = rows/s of a
raw binary COPY of the same rows straight into `cdr` in one transaction (the floor of any writer);
`ratio` = figure / baseline; target 20,000 rows/s. `rewrite` = the same rows written again (every row
an update: what a replayed batch costs). Runs in a scratch database on DATABASE_URL's server (default:
the embedded server of `dialer db url`), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cdr import CdrRecord, CdrWriter  # noqa: E402
from cdr.writer import copy_cdr_rows  # noqa: E402
from dialer.db import migrate  # noqa: E402
from dialer.db.session import make_engine  # noqa: E402
from dialer.db.url import database_url, libpq_url  # noqa: E402
from dialer.runtime import configure_logging  # noqa: E402
from dialer.settings import get_settings  # noqa: E402

TARGET = 20_000
OUTCOMES = ["answered", "busy", "no_answer", "congestion", "invalid_number", "failed"]


def records(count: int, seed: int = 8) -> list[CdrRecord]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        created = start + timedelta(seconds=i * 0.05)
        outcome = rng.choice(OUTCOMES)
        answered = created + timedelta(seconds=rng.uniform(1, 20)) if outcome == "answered" else None
        billsec = rng.randint(1, 600) if answered else 0
        out.append(CdrRecord(
            channel_id=f"bench-{seed}-{i}", linked_id=f"bench-{seed}-{i}", phone=f"+79{rng.randrange(10**9):09d}",
            created_at=created, outcome=outcome, attempt_id=i, campaign_id=1 + i % 5, company_id=1,
            contact_id=10_000_000 + i, subscriber_key=f"subscriber-{i // 3}", trunk=f"trunk-{i % 3}",
            worker_id="bench-worker", answered_at=answered,
            ended_at=(answered or created) + timedelta(seconds=billsec or rng.uniform(1, 30)),
            ring_seconds=Decimal(f"{rng.uniform(0.5, 30):.3f}"), billsec=billsec,
            disposition="ANSWERED" if answered else "NO ANSWER", hangup_cause=16 if answered else 19,
            amd_status="HUMAN" if answered else None,
        ))
    return out


async def timed(work: Callable[[], Awaitable[None]], repeats: int, reset: Callable[[], Awaitable[None]],
                rows: int) -> float:
    """Rows per second of the fastest of `repeats` runs (least disturbed by other processes)."""
    best = 0.0
    for _ in range(repeats):
        await reset()
        gc.collect()
        started = time.perf_counter()
        await work()
        best = max(best, rows / (time.perf_counter() - started))
    return best


async def run(url: str, rows: list[CdrRecord], batch_size: int, repeats: int) -> dict[str, object]:
    engine = make_engine(url, pool_size=2, max_overflow=0)
    conninfo = libpq_url(url)

    async def truncate() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await conn.execute("TRUNCATE cdr")
            await conn.execute("VACUUM ANALYZE cdr")

    async def no_reset() -> None:
        return None

    async def through_writer() -> None:
        writer = CdrWriter(engine, batch_size=batch_size, flush_interval=60, max_pending=len(rows))
        for record in rows:
            writer.submit(record)
        await writer.flush()
        assert writer.rows_written == len(rows)

    async def raw_copy() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            await copy_cdr_rows(conn, rows, table="cdr")
            await conn.commit()

    try:
        baseline = await timed(raw_copy, repeats, truncate, len(rows))
        figure = await timed(through_writer, repeats, truncate, len(rows))
        rewrite = await timed(through_writer, repeats, no_reset, len(rows))
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            stored = (await (await conn.execute("SELECT count(*) FROM cdr")).fetchone() or (0,))[0]
        assert stored == len(rows), stored
    finally:
        await engine.dispose()
    return {
        "benchmark": "cdr writes",
        "unit": "rows/s",
        "figure": round(figure),
        "baseline": round(baseline),
        "baseline_is": "raw binary COPY of the same rows into cdr, one transaction",
        "ratio": round(figure / baseline, 3),
        "target": TARGET,
        "meets_target": figure >= TARGET,
        "rewrite": {"figure": round(rewrite), "what": "the same rows written again (all updates)"},
        "rows": len(rows),
        "batch_size": batch_size,
        "repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--url", help="PostgreSQL server URL (a scratch database is created on it)")
    args = parser.parse_args()
    configure_logging("WARNING")  # stdout carries the JSON only

    server = args.url or database_url(get_settings())
    admin = libpq_url(server.rsplit("/", 1)[0] + "/postgres")
    scratch = f"bench_cdr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    url = server.rsplit("/", 1)[0] + f"/{scratch}"
    try:
        migrate.upgrade(url)
        result = asyncio.run(run(url, records(args.rows), args.batch_size, args.repeats))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
