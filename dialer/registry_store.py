"""The numbering registry stored in PostgreSQL: import a parsed file, load a `compliance.Registry`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from compliance import Registry, RegistryFile, RegistryRow
from dialer.db.models import RegistryFile as RegistryFileRow
from dialer.db.models import RegistryRange
from dialer.db.session import session_scope
from dialer.errors import ConflictError

_COPY = "COPY registry_ranges (file_id, range_start, range_end, operator, region, territory, inn) FROM STDIN"


@dataclass(frozen=True, slots=True)
class ImportResult:
    name: str
    kind: str
    file_date: date
    rows: int
    imported: bool  # False: the same file (by SHA-256) was imported before
    superseded: int  # ranges of older files of the same kind removed


async def import_registry(
    session: AsyncSession, parsed: RegistryFile, file_date: date, *, force: bool = False
) -> ImportResult:
    """Store one parsed registry file; it replaces the ranges of older files of the same kind.

    Idempotent by content (SHA-256). Refuses (ConflictError) to replace a newer file of the same kind
    unless `force`.
    """
    if parsed.kind in {"empty", "mixed"}:
        raise ConflictError(
            f"{parsed.name}: a registry file holds one kind of codes (DEF-9xx, ABC-3xx...); this one is {parsed.kind}"
        )
    same = await session.scalar(select(RegistryFileRow).where(RegistryFileRow.sha256 == parsed.sha256))
    if same is not None:
        return ImportResult(parsed.name, parsed.kind, file_date, same.row_count, False, 0)
    stamp = datetime(file_date.year, file_date.month, file_date.day, tzinfo=UTC)
    newer = await session.scalar(
        select(RegistryFileRow)
        .where(RegistryFileRow.kind == parsed.kind, RegistryFileRow.file_date > stamp)
        .where(exists().where(RegistryRange.file_id == RegistryFileRow.id))
        .order_by(RegistryFileRow.file_date.desc())
        .limit(1)
    )
    if newer is not None and not force:
        newer_date = newer.file_date.date().isoformat() if newer.file_date else "?"
        raise ConflictError(
            f"{parsed.name}: a newer {parsed.kind} registry is in use ({newer.name}, dated {newer_date}); "
            "use --force to replace it with this older one"
        )
    row = RegistryFileRow(
        name=parsed.name, kind=parsed.kind, file_date=stamp, sha256=parsed.sha256, row_count=len(parsed.rows)
    )
    session.add(row)
    await session.flush()
    removed = await session.execute(
        delete(RegistryRange).where(
            RegistryRange.file_id.in_(
                select(RegistryFileRow.id).where(RegistryFileRow.kind == parsed.kind, RegistryFileRow.id != row.id)
            )
        )
    )
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # psycopg.AsyncConnection, in this session's transaction
    async with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        for item in parsed.rows:
            await copy.write_row(
                (row.id, item.start, item.end, item.operator, item.region, item.territory, item.inn or None)
            )
    superseded = int(getattr(removed, "rowcount", 0) or 0)
    return ImportResult(parsed.name, parsed.kind, file_date, len(parsed.rows), True, superseded)


async def load_registry(session: AsyncSession) -> Registry | None:
    """The registry from the stored ranges (one file per kind), or None when nothing was imported."""
    result = await session.execute(
        select(
            RegistryRange.range_start,
            RegistryRange.range_end,
            RegistryRange.operator,
            RegistryRange.region,
            RegistryRange.territory,
            RegistryRange.inn,
        )
    )
    rows = [
        RegistryRow(start, end, operator or "", region or "", territory or "", inn or "")
        for start, end, operator, region, territory, inn in result
    ]
    return Registry.from_rows(rows) if rows else None


async def list_registry_files(session: AsyncSession) -> list[dict[str, Any]]:
    """Imported files, newest first, with the number of ranges still in use."""
    in_use = (
        select(func.count()).select_from(RegistryRange).where(RegistryRange.file_id == RegistryFileRow.id)
    ).scalar_subquery()
    result = await session.execute(
        select(RegistryFileRow, in_use).order_by(RegistryFileRow.kind, RegistryFileRow.file_date.desc())
    )
    return [
        {
            "name": file.name,
            "kind": file.kind,
            "file_date": file.file_date.date().isoformat() if file.file_date else None,
            "rows": file.row_count,
            "ranges_in_use": count,
            "sha256": file.sha256,
            "imported_at": file.imported_at.isoformat(),
        }
        for file, count in result
    ]


async def configured_registry(engine: AsyncEngine, paths: list[Path] | None = None) -> Registry | None:
    """The registry a process uses: the files named by settings (DIALER_REGISTRY), else the imported one."""
    if paths is None:
        from dialer.settings import get_settings

        paths = get_settings().registry_paths
    if paths:
        return await asyncio.to_thread(Registry.from_files, paths)
    async with session_scope(engine) as session:
        return await load_registry(session)
