"""/companies/{name}/dnc: a company's do-not-call list (`dialer dnc add`, `import` and `remove`), and
whether a number is on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from dialer.api.app import Plane
from dialer.api.schemas import DncNumbers
from dialer.dnc import (
    DncSummary,
    add_dnc_numbers,
    dnc_entries,
    import_dnc_file,
    remove_dnc_numbers,
)
from dialer.errors import InvalidValueError
from dialer.lifecycle import after_contacts_added
from dialer.lists.phones import PhoneError, normalize

router = APIRouter(prefix="/companies", tags=["do-not-call"])

def _summary(summary: DncSummary) -> dict[str, Any]:
    return summary.as_json() | {"invalid_examples": [
        {"row": r.row, "column": r.column, "value": r.value, "message": r.message} for r in summary.invalid_examples
    ]}


@router.post("/{name}/dnc")
async def dnc_add(name: str, body: DncNumbers, plane: Plane) -> dict[str, Any]:
    """Add numbers to the company's list; nothing is added if one of them is invalid."""
    return _summary(await add_dnc_numbers(plane.engine, body.phones, name, source="api",
                                          registry=await plane.registry()))


@router.get("/{name}/dnc")
async def dnc_check(
    name: str, plane: Plane, phone: Annotated[str, Query(description="The number to look up, in any usual spelling")],
) -> dict[str, Any]:
    """Whether a number is on the company's list, and since when."""
    number = normalize(phone, registry=await plane.registry())
    if isinstance(number, PhoneError):
        raise InvalidValueError("phone", f"{phone!r}: {number.message}")
    entries = [entry async for entry in dnc_entries(plane.engine, name, [number])]
    if not entries:
        return {"phone": number, "listed": False}
    return {**entries[0].as_json(), "listed": True}


@router.post("/{name}/dnc/remove")
async def dnc_remove(name: str, body: DncNumbers, plane: Plane) -> dict[str, Any]:
    """Take numbers off the company's list; nothing is removed if one of them is invalid. Contacts the
    list had excluded are dialed again."""
    removal = await remove_dnc_numbers(plane.engine, body.phones, name, registry=await plane.registry())
    async with plane.tx() as session:
        for campaign_id in removal.campaign_ids:
            await after_contacts_added(session, campaign_id)
    return removal.as_json()


@router.post("/{name}/dnc/file")
async def dnc_import(
    name: str,
    plane: Plane,
    file: Annotated[UploadFile, File(description="CSV/XLSX with a phone column, or one number per line")],
    sheet: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Add every number of a file to the company's list; invalid rows are counted and shown, not fatal."""
    summary = await import_dnc_file(plane.engine, file.file, name, sheet=sheet or None,
                                    filename=Path(file.filename).name if file.filename else None,
                                    registry=await plane.registry())
    return _summary(summary)
