"""/campaigns/{name}/lists: upload a call list (the same `import_call_list` as `dialer lists import`),
list the imports, download a reject report, withdraw a list from the campaign and restore it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy import select

from dialer.api.app import Plane
from dialer.call_lists import MAX_CALL_LIST_ID, list_call_lists, restore_call_list, withdraw_call_list
from dialer.campaigns import campaign_id_by_name
from dialer.db.models import CallList
from dialer.errors import NotFoundError
from dialer.lifecycle import after_contacts_added
from dialer.lists import ImportOptions, import_call_list

router = APIRouter(prefix="/campaigns", tags=["call lists"])

CallListId = Annotated[int, PathParam(ge=1, le=MAX_CALL_LIST_ID, description="The import's call_list_id")]


@router.post("/{name}/lists", status_code=201)
async def lists_upload(
    name: str,
    plane: Plane,
    file: Annotated[UploadFile, File(description="CSV, TSV, XLSX or XLS")],
    subscriber_column: Annotated[str | None, Form()] = None,
    sheet: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Import a call list into the campaign. Nothing is stored if the file fails as a whole."""
    options = ImportOptions(
        subscriber_column=subscriber_column or None,
        sheet=sheet or None,
        filename=Path(file.filename).name if file.filename else None,
        registry=await plane.registry(),
        reports_dir=plane.reports_dir,
    )
    # The upload is spooled to disk by Starlette; the importer streams it (constant memory).
    summary = await import_call_list(plane.engine, file.file, name, options)
    async with plane.tx() as session:
        await after_contacts_added(session, await campaign_id_by_name(session, summary.campaign))
    return summary.as_json() | {"call_list_id": summary.call_list_id, "campaign": summary.campaign,
                                "filename": summary.filename, "unread_sheets": list(summary.unread_sheets)}


@router.get("/{name}/lists")
async def lists_list(name: str, plane: Plane) -> list[dict[str, Any]]:
    async with plane.tx() as session:
        return [info.public() for info in await list_call_lists(session, name)]


@router.post("/{name}/lists/{call_list_id}/withdraw")
async def lists_withdraw(name: str, call_list_id: CallListId, plane: Plane) -> dict[str, Any]:
    """Take a call list out of the campaign (`dialer lists withdraw`): its waiting contacts are excluded,
    those in a call when they come up again; 409 if it is out already."""
    async with plane.tx() as session:
        return (await withdraw_call_list(session, name, call_list_id)).public()


@router.post("/{name}/lists/{call_list_id}/restore")
async def lists_restore(name: str, call_list_id: CallListId, plane: Plane) -> dict[str, Any]:
    """Put a withdrawn call list back (`dialer lists restore`); 409 if it is not withdrawn."""
    async with plane.tx() as session:
        return (await restore_call_list(session, name, call_list_id)).public()


@router.get("/{name}/lists/{call_list_id}/rejects")
async def lists_rejects(name: str, call_list_id: CallListId, plane: Plane) -> FileResponse:
    """The reject report (CSV: row, column, value, reason) of one import."""
    async with plane.tx() as session:
        campaign_id = await campaign_id_by_name(session, name)
        report = await session.scalar(
            select(CallList.reject_report).where(CallList.id == call_list_id, CallList.campaign_id == campaign_id)
        )
    if report is None or not await asyncio.to_thread(os.path.isfile, report):
        raise NotFoundError(f"no reject report for call list {call_list_id} of campaign {name!r}")
    return FileResponse(report, media_type="text/csv", filename=Path(report).name)
