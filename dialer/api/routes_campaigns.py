"""/campaigns: CRUD, lifecycle actions, live stats, call list upload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from dialer.api.app import Plane
from dialer.api.schemas import CampaignIn, CampaignPatch
from dialer.campaign_stats import campaign_stats
from dialer.campaigns import (
    change_status,
    create_campaign,
    delete_campaign,
    get_campaign,
    list_campaigns,
    update_campaign,
)
from dialer.lifecycle import USER_ACTIONS, Action

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.get("")
async def campaigns_list(plane: Plane) -> list[dict[str, Any]]:
    async with plane.tx() as session:
        return [c.public() for c in await list_campaigns(session)]


@router.post("", status_code=201)
async def campaigns_create(body: CampaignIn, plane: Plane) -> dict[str, Any]:
    spec = body.spec()
    async with plane.tx() as session:
        return (await create_campaign(session, spec)).public()


@router.get("/{name}")
async def campaigns_show(name: str, plane: Plane) -> dict[str, Any]:
    async with plane.tx() as session:
        config = await get_campaign(session, name)
        stats = await campaign_stats(session, config.id, plane.clock())
        return config.public() | {"stats": stats.public()}


@router.patch("/{name}")
async def campaigns_update(name: str, body: CampaignPatch, plane: Plane) -> dict[str, Any]:
    changes = body.changes()
    async with plane.tx() as session:
        return (await update_campaign(session, name, changes)).public()


@router.delete("/{name}", status_code=204)
async def campaigns_delete(name: str, plane: Plane) -> Response:
    async with plane.tx() as session:
        await delete_campaign(session, name)
    return Response(status_code=204)


@router.get("/{name}/stats")
async def campaigns_stats(name: str, plane: Plane) -> dict[str, Any]:
    async with plane.tx() as session:
        config = await get_campaign(session, name)
        return (await campaign_stats(session, config.id, plane.clock())).public()


def _action_route(action: Action) -> None:
    async def act(name: str, plane: Plane) -> dict[str, Any]:
        async with plane.tx() as session:
            status = await change_status(session, name, action)
        return {"name": name, "status": status.value}

    act.__name__ = f"campaigns_{action.value}"
    router.add_api_route(f"/{{name}}/{action.value}", act, methods=["POST"], name=act.__name__,
                         summary=f"{action.value.capitalize()} the campaign")


for _action in sorted(USER_ACTIONS):
    _action_route(_action)
