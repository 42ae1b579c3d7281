"""/cdr/export: the CDRs as an Excel workbook or CSV, as `dialer cdr export` writes them (times in each
company's time zone, formula-looking text made inert)."""

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
from cdr.export import ExportFilter, ExportFormat, export_csv, export_xlsx
from dialer.api.app import Plane
from dialer.errors import InvalidValueError, NotFoundError
from dialer.lists.excel_safety import escape_formula, looks_like_formula

router = APIRouter(prefix="/cdr", tags=["cdr"])

_MEDIA_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}


_UNSAFE = re.compile(r"[^\w.-]+")  # in the download's file name


@router.get("/export", response_class=FileResponse)
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
    fd, name = tempfile.mkstemp(prefix="dialer-cdr-", suffix=f".{fmt.value}")
    os.close(fd)
    try:
        async with plane.tx() as session:
            conn = await session.connection()
            if fmt is ExportFormat.XLSX:
                await export_xlsx(conn, flt, Path(name), is_formula=looks_like_formula)
            else:
                # utf-8-sig: Excel opens a CSV with a BOM as UTF-8 (Cyrillic names stay readable).
                with open(name, "w", encoding="utf-8-sig", newline="") as out:  # noqa: ASYNC230 - a local temp file
                    await export_csv(conn, flt, out, escape=escape_formula)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(name)
        if isinstance(exc, CdrUnknownCampaignError):
            raise NotFoundError(f"campaign {exc.detail}") from exc
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = _UNSAFE.sub("_", campaign or "all")
    return FileResponse(name, media_type=_MEDIA_TYPES[fmt], filename=f"cdr-{label}-{stamp}.{fmt.value}",
                        background=BackgroundTask(os.unlink, name))
