"""Shared setup of the control-plane tests: a trunk and a campaign through the public functions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.campaigns import CampaignConfig, CampaignSpec, create_campaign
from dialer.db.session import session_scope
from dialer.trunks import TrunkConfig, TrunkSpec, add_trunk

AMI = "ami://dialer:dialer@127.0.0.1:5038"
DIAL = "Local/{number}@pstn-sim"


async def make_trunk(engine: AsyncEngine, name: str = "sim", **kwargs: object) -> TrunkConfig:
    async with session_scope(engine) as session:
        return await add_trunk(session, TrunkSpec(name=name, ami=AMI, dial=DIAL, **kwargs))  # type: ignore[arg-type]


async def make_campaign(engine: AsyncEngine, name: str = "c1", **kwargs: object) -> CampaignConfig:
    trunks = kwargs.pop("trunks", ("sim",))
    async with session_scope(engine) as session:
        return await create_campaign(session, CampaignSpec(name=name, trunks=tuple(trunks), **kwargs))  # type: ignore[arg-type]
