"""/trunks: add, list, show, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from dialer.api.app import Plane
from dialer.api.schemas import TrunkIn, TrunkPatch
from dialer.trunks import add_trunk, get_trunk, list_trunks, remove_trunk, update_trunk

router = APIRouter(prefix="/trunks", tags=["trunks"])


@router.get("")
async def trunks_list(plane: Plane) -> list[dict[str, Any]]:
    async with plane.tx() as session:
        return [t.public() for t in await list_trunks(session)]


@router.post("", status_code=201)
async def trunks_add(body: TrunkIn, plane: Plane) -> dict[str, Any]:
    async with plane.tx() as session:
        return (await add_trunk(session, body.spec())).public()


@router.get("/{name}")
async def trunks_show(name: str, plane: Plane) -> dict[str, Any]:
    async with plane.tx() as session:
        return (await get_trunk(session, name)).public()


@router.patch("/{name}")
async def trunks_update(name: str, body: TrunkPatch, plane: Plane) -> dict[str, Any]:
    changes = body.changes()
    async with plane.tx() as session:
        return (await update_trunk(session, name, changes)).public()


@router.delete("/{name}", status_code=204)
async def trunks_remove(name: str, plane: Plane) -> Response:
    async with plane.tx() as session:
        await remove_trunk(session, name)
    return Response(status_code=204)
