"""/contacts/{phone}/why: the decision log of a number."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dialer.api.app import Plane
from dialer.contacts_why import contact_why

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get("/{phone}/why")
async def contacts_why(phone: str, plane: Plane, campaign: str | None = None) -> list[dict[str, Any]]:
    async with plane.tx() as session:
        reports = await contact_why(session, phone, plane.clock(), campaign=campaign,
                                    dial_lead_seconds=plane.dial_lead_seconds)
        return [r.to_json() for r in reports]
