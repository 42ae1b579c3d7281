"""`import_call_list`: one code path for the CLI and the HTTP API.

File-level problems (empty file, unreadable encoding, corrupt workbook, no phone column, unknown
campaign) raise a CallListError and store nothing. Row-level problems are rejects in the report.
Everything lands in one transaction; the reject report is written just before it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from compliance import Registry
from dialer.lists.chunks import Chunk, SubscriberZones, find_header, read_chunks
from dialer.lists.connection import Database, transaction
from dialer.lists.copy_format import ContactLines
from dialer.lists.errors import CallListError
from dialer.lists.model import (
    ImportOptions,
    ImportProgress,
    ImportSummary,
    ProgressCallback,
    Reject,
    RejectReason,
)
from dialer.lists.report import RejectReport, default_report_path
from dialer.lists.rows import RowInterpreter
from dialer.lists.sources import RowSource, SourceFile, open_source, row_source
from dialer.lists.store import ImportSession, find_campaign
from dialer.lists.timezones import ZoneResolver

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Counts:
    def __init__(self) -> None:
        self.rows = 0
        self.total = 0
        self.imported = 0
        self.duplicates_in_file = 0
        self.duplicates_existing = 0
        self.invalid = 0
        self.dnc = 0
        self.timezone_unknown = 0

    def add_rejects(self, rejects: list[Reject]) -> None:
        for reject in rejects:
            reason = reject.reason
            if reason.is_note:
                continue
            if reason is RejectReason.DNC:
                self.dnc += 1
            elif reason is RejectReason.DUPLICATE_IN_FILE:
                self.duplicates_in_file += 1
            elif reason is RejectReason.DUPLICATE_EXISTING:
                self.duplicates_existing += 1
            else:
                self.invalid += 1


class _Worker:
    """One thread for the blocking reader, so the event loop stays free (the API serves meanwhile)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-list-reader")

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


async def import_call_list(
    db: Database,
    source: Path | BinaryIO,
    campaign: str,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import a CSV/TSV/XLSX/XLS file (a path or a binary stream such as an upload) into a campaign.

    `db` is an SQLAlchemy AsyncEngine or AsyncConnection, or a psycopg AsyncConnection (the caller
    owns it). Raises CallListError (nothing stored) for a file that cannot be imported as a whole.
    """
    options = options or ImportOptions()
    started = time.monotonic()
    worker = _Worker()
    try:
        with contextlib.ExitStack() as stack:
            # Opening digests the whole file: off the event loop, like all reading.
            file = await worker.call(stack.enter_context, open_source(source, options.filename))
            rows: RowSource = await worker.call(row_source, file, options.sheet)
            return await _import(db, file, rows, campaign, options, progress, worker, started)
    finally:
        worker.close()


async def _import(
    db: Database,
    file: SourceFile,
    rows: RowSource,
    campaign: str,
    options: ImportOptions,
    progress: ProgressCallback | None,
    worker: _Worker,
    started: float,
) -> ImportSummary:
    registry = options.registry if options.registry is not None else await worker.call(_settings_registry)
    saved: Path | None = None
    try:
        with RejectReport() as report:
            async with transaction(db) as conn:
                target = await find_campaign(conn, campaign)
                subscriber_column = options.subscriber_column or target.subscriber_column
                row_iter: Iterator[tuple[int, list[str]]] = iter(rows)
                plan = await worker.call(
                    find_header, row_iter, file.name, subscriber_column, options.subscriber_column is not None
                )
                session = ImportSession(conn, target)
                list_id = await session.begin(file.name, file.sha256)
                interpreter = RowInterpreter(plan, ZoneResolver(registry))
                subscribers = SubscriberZones()
                chunks = read_chunks(
                    rows,
                    row_iter,
                    interpreter,
                    ContactLines(target.id, list_id),
                    session.checks,
                    options.chunk_rows,
                    file.name,
                    subscribers,
                )
                counts = _Counts()
                await _store_chunks(session, chunks, counts, report, rows.size, worker, progress, subscribers)
                path = options.reject_report or default_report_path(_reports_dir(options), target.name)
                await session.finish(
                    total=counts.total,
                    imported=counts.imported,
                    duplicates=counts.duplicates_in_file + counts.duplicates_existing,
                    invalid=counts.invalid,
                    dnc=counts.dnc,
                    timezone_unknown=counts.timezone_unknown,
                    reject_report=str(path.absolute()),
                    unsettled=subscribers.unsettled,
                )
                if progress is not None:
                    progress(ImportProgress(counts.rows, counts.total, rows.size, rows.size, "finishing"))
                saved = await worker.call(_save_report, report, path.absolute())
    except BaseException:
        if saved is not None:
            # The transaction did not commit: a report would describe an import that did not happen.
            saved.unlink(missing_ok=True)
        raise
    summary = ImportSummary(
        call_list_id=list_id,
        campaign=target.name,
        filename=file.name,
        source_format=rows.description,
        rows=counts.rows,
        total=counts.total,
        imported=counts.imported,
        duplicates_in_file=counts.duplicates_in_file,
        duplicates_existing=counts.duplicates_existing,
        invalid=counts.invalid,
        dnc=counts.dnc,
        timezone_unknown=counts.timezone_unknown,
        reject_report=saved,
        seconds=time.monotonic() - started,
        unread_sheets=rows.unread_sheets,
    )
    log.debug(
        "call list %s imported into campaign %s (call list #%d): %s",
        file.name,
        target.name,
        list_id,
        summary.as_json(),
    )
    return summary


def _save_report(report: RejectReport, path: Path) -> Path:
    try:
        return report.save(path)
    except OSError as exc:
        raise CallListError(f"cannot write the reject report {path}: {exc.strerror or exc}") from exc


def _settings_registry() -> Registry | None:
    """The numbering registry named by settings (DIALER_REGISTRY), loaded once per import."""
    from dialer.settings import get_settings

    paths = get_settings().registry_paths
    if not paths:
        log.warning("no numbering registry configured (DIALER_REGISTRY): Russian mobile zones unknown")
        return None
    return Registry.from_files(paths)


def _reports_dir(options: ImportOptions) -> Path:
    if options.reports_dir is not None:
        return options.reports_dir
    from dialer.settings import get_settings

    return get_settings().home / "reports"


async def _store_chunks(
    session: ImportSession,
    chunks: Generator[Chunk, None, None],
    counts: _Counts,
    report: RejectReport,
    size: int,
    worker: _Worker,
    progress: ProgressCallback | None,
    subscribers: SubscriberZones,
) -> None:
    pending = worker.submit(next, chunks, None)
    try:
        while True:
            chunk: Chunk | None = await pending
            if chunk is None:
                break
            # Read ahead while the database works on this chunk.
            pending = worker.submit(next, chunks, None)
            await _store_chunk(session, chunk, counts, report, subscribers)
            if progress is not None:
                progress(ImportProgress(counts.rows, counts.total, chunk.position, size, "reading"))
    finally:
        with contextlib.suppress(BaseException):
            await pending
        await worker.call(chunks.close)


async def _store_chunk(
    session: ImportSession, chunk: Chunk, counts: _Counts, report: RejectReport, subscribers: SubscriberZones
) -> None:
    verdicts: dict[int, RejectReason] = {}
    if chunk.keys.count:
        verdicts = dict(await session.classify(chunk.keys))
        for index in verdicts.keys() & chunk.grouped.keys():
            subscribers.turned_down(chunk.grouped[index])
    lines = chunk.lines
    rejects = chunk.rejects
    if verdicts:
        rejects = list(rejects)
        rejects.extend(chunk.reject(index, reason, _MESSAGES[reason]) for index, reason in verdicts.items())
        lines = [line for index, line in enumerate(lines) if index not in verdicts]
    for first, repeat in chunk.repeats:
        first_reason = verdicts.get(first)
        reason = RejectReason.DNC if first_reason is RejectReason.DNC else RejectReason.DUPLICATE_IN_FILE
        rejects.append(Reject(repeat.row, repeat.column, repeat.raw, reason, _MESSAGES[reason]))
    data = chunk.data or "".join(lines).encode()
    if data:
        await session.store(data)
    counts.rows = chunk.rows
    counts.total += chunk.total
    counts.imported += len(chunk.phones) - len(verdicts)
    counts.timezone_unknown += sum(1 for index in chunk.unknown_zones if index not in verdicts)
    counts.add_rejects(rejects)
    if rejects:
        rejects.sort(key=lambda reject: reject.row)
        report.add(rejects)


_MESSAGES = {
    RejectReason.DNC: "on the company's do-not-call list",
    RejectReason.DUPLICATE_IN_FILE: "the number appears earlier in this file",
    RejectReason.DUPLICATE_EXISTING: "already a contact of the campaign",
}
