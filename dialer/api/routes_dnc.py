"""/companies/{name}/dnc: a company's do-not-call list (`dialer dnc add` and `dialer dnc import`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from dialer.api.app import Plane
from dialer.api.schemas import DncNumbers
from dialer.dnc import DncSummary, add_dnc_numbers, import_dnc_file, invalid_numbers
from dialer.errors import InvalidValueError

router = APIRouter(prefix="/companies", tags=["do-not-call"])

def _summary(summary: DncSummary) -> dict[str, Any]:
    return summary.as_json() | {"invalid_examples": [
        {"row": r.row, "column": r.column, "value": r.value, "message": r.message} for r in summary.invalid_examples
    ]}


@router.post("/{name}/dnc")
async def dnc_add(name: str, body: DncNumbers, plane: Plane) -> dict[str, Any]:
    """Add numbers to the company's list; nothing is added if one of them is invalid."""
    registry = await plane.registry()
    if bad := invalid_numbers(body.phones, registry):
        index, raw, error = bad[0]
        raise InvalidValueError(f"phones.{index}", f"{raw!r}: {error.message}; nothing added")
    return _summary(await add_dnc_numbers(plane.engine, body.phones, name, source="api", registry=registry))


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
