"""Benchmark: import a 1,000,000-row call list end to end; compare with a raw COPY of the same rows.

Target (issue 6): >= 50,000 rows/s end to end, peak memory < 300 MB. The baseline is a bare COPY of
the already-normalized rows (E.164, zone resolved, extra as JSON) into `contacts` of a fresh
database: the cost PostgreSQL alone imposes (heap, four indexes, the statement-level reference check).

    .venv/bin/python benchmarks/bench_import.py [--rows N] [--chunk-rows N]

Uses DATABASE_URL's server when set (it creates and drops its own databases), else the embedded
test server. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compliance import Registry, resolve_timezone  # noqa: E402
from dialer.db import migrate  # noqa: E402
from dialer.db.embedded import EmbeddedPostgres  # noqa: E402
from dialer.db.session import make_engine  # noqa: E402
from dialer.lists import ImportOptions, import_call_list  # noqa: E402
from dialer.lists.copy_format import CONTACT_COLUMNS, copy_array  # noqa: E402
from dialer.runtime import freeze_heap  # noqa: E402

REGISTRY = REPO.parent / "shared" / "data" / "DEF-9xx.csv"
TARGET_ROWS_PER_S = 50_000
MEMORY_LIMIT_MB = 300
_STEP = 7_919_777  # coprime with 10**9: i -> i * _STEP mod 10**9 enumerates distinct numbers


def _server_url(database: str) -> str:
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        return explicit.rsplit("/", 1)[0] + f"/{database}"
    home = Path(os.environ.get("DIALER_TEST_HOME", "~/.cache/dialer-tests")).expanduser()
    return EmbeddedPostgres(home / "pg").ensure_running().url(database)


def _create_database() -> str:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _server_url(name)
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO companies (name) VALUES ('default')")
        conn.execute("INSERT INTO campaigns (company_id, name) SELECT id, 'bench' FROM companies")
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _national(i: int) -> str:
    return f"9{(i * _STEP + 12345) % 10**9:09d}"


def write_files(rows: int, directory: Path, registry: Registry) -> tuple[Path, Path]:
    """The call list (Windows-1251, `;`, mixed phone spellings) and its normalized COPY text."""
    csv_path = directory / "list.csv"
    copy_path = directory / "normalized.copy"
    spellings = (
        lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
        lambda n: f"+7 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
        lambda n: f"7{n}",
        lambda n: n,
    )
    rnd = random.Random(6)
    pair: list[tuple[str, tuple[str, ...]]] = []
    with (
        csv_path.open("w", encoding="cp1251", newline="") as out,
        copy_path.open("w", encoding="utf-8") as copy,
    ):
        out.write("Телефон;ФИО;additional;Сумма долга;Дата договора\r\n")
        for i in range(rows):
            national = _national(i)
            debtor = f"D{i // 2:08d}"
            name = f"Иванов Иван {i % 1000}"
            amount = f"{rnd.randrange(100, 100000)},{rnd.randrange(100):02d}"
            out.write(f"{spellings[i % 4](national)};{name};{debtor};{amount};2024-01-{i % 28 + 1:02d}\r\n")
            phone = "+7" + national
            zone = resolve_timezone(phone, None, registry)
            extra = json.dumps(
                {"additional": debtor, "Сумма долга": amount, "Дата договора": f"2024-01-{i % 28 + 1:02d}"},
                ensure_ascii=False,
            ).replace("\\", "\\\\")
            pair.append((
                f"1\t1\t{phone}\t{debtor}\t{name}\t{extra}\t{zone.zone or chr(92) + 'N'}\t"
                f"{zone.source.value}\t{copy_array(zone.candidates)}\t",
                zone.candidates,
            ))
            if i % 2 or i == rows - 1:  # a debtor's two numbers: both zones on each when they differ
                zones = sorted({z for _, candidates in pair for z in candidates})
                both = copy_array(tuple(zones)) if len(pair) > 1 and len(zones) > 1 else chr(92) + "N"
                copy.writelines(f"{line}{both}\n" for line, _ in pair)
                pair.clear()
    return csv_path, copy_path


async def raw_copy(url: str, copy_path: Path) -> float:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("INSERT INTO call_lists (campaign_id, filename, sha256) VALUES (1, 'raw', 'raw')")
        await conn.commit()
        started = time.perf_counter()
        statement = f"COPY contacts ({', '.join(CONTACT_COLUMNS)}) FROM STDIN"
        async with conn.transaction(), conn.cursor().copy(statement) as cp:
            with copy_path.open("rb") as data:
                while block := data.read(1 << 20):
                    await cp.write(block)
        return time.perf_counter() - started


async def end_to_end(
    url: str, csv_path: Path, reports: Path, registry: Registry, chunk_rows: int | None
) -> tuple[float, dict[str, object]]:
    engine = make_engine(url)
    options = ImportOptions(reports_dir=reports, registry=registry)
    if chunk_rows:
        options = dataclasses.replace(options, chunk_rows=chunk_rows)
    try:
        freeze_heap()  # as `dialer lists import` does once the registry is loaded
        started = time.perf_counter()
        summary = await import_call_list(engine, csv_path, "bench", options)
        return time.perf_counter() - started, summary.as_json()
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=None, help="override ImportOptions.chunk_rows")
    args = parser.parse_args()
    registry = Registry.from_files([REGISTRY])
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        directory = Path(tmp)
        csv_path, copy_path = write_files(args.rows, directory, registry)
        file_mb = csv_path.stat().st_size / 1e6
        databases = [_create_database(), _create_database()]
        try:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            seconds, summary = asyncio.run(
                end_to_end(_server_url(databases[0]), csv_path, directory, registry, args.chunk_rows)
            )
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            baseline = asyncio.run(raw_copy(_server_url(databases[1]), copy_path))
        finally:
            for name in databases:
                _drop_database(name)
    rate = args.rows / seconds
    print(
        json.dumps(
            {
                "benchmark": "call list import, end to end (CSV Windows-1251 -> contacts)",
                "rows": args.rows,
                "file_mb": round(file_mb, 1),
                "seconds": round(seconds, 2),
                "rows_per_s": round(rate),
                "target_rows_per_s": TARGET_ROWS_PER_S,
                "meets_target": rate >= TARGET_ROWS_PER_S,
                "baseline": "raw COPY of the normalized rows into contacts",
                "baseline_seconds": round(baseline, 2),
                "baseline_rows_per_s": round(args.rows / baseline),
                "ratio_to_raw_copy": round(seconds / baseline, 3),
                "peak_rss_mb": round(peak_mb, 1),
                "rss_before_import_mb": round(rss_before / 1024, 1),
                "memory_limit_mb": MEMORY_LIMIT_MB,
                "summary": summary,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
