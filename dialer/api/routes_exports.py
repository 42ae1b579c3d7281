"""Downloads as an Excel workbook or CSV: /cdr/export, the CDRs as `dialer cdr export` writes them, and
/campaigns/{name}/contacts/export, a campaign's results as `dialer contacts export` writes them (times
in the company's time zone, formula-looking text made inert)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from cdr.errors import CdrExportError, CdrUnknownCampaignError
from cdr.export import ExportFilter, ExportFormat, WriteCsv, WriteXlsx, export_csv, export_to_file, export_xlsx
from cdr.results import ContactResult, export_results_csv, export_results_xlsx
from dialer.api.app import Plane
from dialer.errors import InvalidValueError, NotFoundError
from dialer.lists.excel_safety import escape_formula, looks_like_formula

router = APIRouter(tags=["exports"])

_MEDIA_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}


_UNSAFE = re.compile(r"[^\w.-]+")  # in the download's file name


@router.get("/cdr/export", response_class=FileResponse)
async def cdr_export(
    plane: Plane,
    fmt: Annotated[ExportFormat, Query(alias="format", description="xlsx or csv")] = ExportFormat.XLSX,
    campaign: Annotated[str | None, Query(description="Only this campaign (by name)")] = None,
    since: Annotated[datetime | None, Query(description="Calls started from here (with an offset)")] = None,
    until: Annotated[datetime | None, Query(description="Calls started before this (with an offset)")] = None,
) -> FileResponse:
    """Download the CDRs; the file is written first (constant memory), then sent and deleted."""
    try:
        flt = ExportFilter(campaign=campaign, since=since, until=until)
    except CdrExportError as exc:
        raise InvalidValueError(exc.field, exc.detail) from exc
    return await _download(plane, fmt, f"cdr-{campaign or 'all'}",
                           lambda conn, out: export_csv(conn, flt, out, escape=escape_formula),
                           lambda conn, path: export_xlsx(conn, flt, path, is_formula=looks_like_formula))


@router.get("/campaigns/{name}/contacts/export", response_class=FileResponse)
async def contacts_export(
    name: str, plane: Plane,
    fmt: Annotated[ExportFormat, Query(alias="format", description="xlsx or csv")] = ExportFormat.XLSX,
    result: Annotated[list[ContactResult] | None, Query(description="Only contacts with these results")] = None,
) -> FileResponse:
    """Download the campaign's results, one row per contact, as `dialer contacts export` writes them."""
    only = set(result) if result else None
    return await _download(plane, fmt, f"contacts-{name}",
                           lambda conn, out: export_results_csv(conn, name, out, escape=escape_formula, only=only),
                           lambda conn, path: export_results_xlsx(conn, name, path, is_formula=looks_like_formula,
                                                                  only=only))


async def _download(plane: Plane, fmt: ExportFormat, label: str, write_csv: WriteCsv,
                    write_xlsx: WriteXlsx) -> FileResponse:
    """The export written to a temporary file first (constant memory), then sent and deleted."""
    fd, name = tempfile.mkstemp(prefix="dialer-export-", suffix=f".{fmt.value}")
    os.close(fd)
    try:
        async with plane.tx() as session:
            await export_to_file(await session.connection(), fmt, Path(name), write_csv, write_xlsx)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(name)
        if isinstance(exc, CdrUnknownCampaignError):
            raise NotFoundError(f"campaign {exc.detail}") from exc
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return FileResponse(name, media_type=_MEDIA_TYPES[fmt], filename=f"{_UNSAFE.sub('_', label)}-{stamp}.{fmt.value}",
                        background=BackgroundTask(os.unlink, name))
