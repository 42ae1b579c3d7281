"""Rows the cdr tests need in the product's schema: a company, campaign, trunk, contacts, attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Tenant:
    company_id: int
    campaign_id: int
    trunk_id: int
    campaign: str
    trunk: str
    timezone: str


async def tenant(
    conn: AsyncConnection, *, company: str = "acme", campaign: str = "spring", trunk: str = "sbx",
    timezone: str = "Asia/Yekaterinburg",
) -> Tenant:
    company_id = (await conn.execute(
        text("INSERT INTO companies (name, timezone) VALUES (:n, :tz) RETURNING id"), {"n": company, "tz": timezone}
    )).scalar_one()
    campaign_id = (await conn.execute(
        text("INSERT INTO campaigns (company_id, name) VALUES (:c, :n) RETURNING id"), {"c": company_id, "n": campaign}
    )).scalar_one()
    trunk_id = (await conn.execute(
        text("INSERT INTO trunks (name, ami_url, dial_template) VALUES (:n, 'ami://dialer:dialer@127.0.0.1:5038', "
             "'Local/{number}@pstn-sim') ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"),
        {"n": trunk},
    )).scalar_one()
    return Tenant(company_id, campaign_id, trunk_id, campaign, trunk, timezone)


async def contact(conn: AsyncConnection, t: Tenant, phone: str, *, state: str = "ready",
                  subscriber_key: str | None = None) -> int:
    return int((await conn.execute(
        text("INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source, state) "
             "VALUES (:c, :p, :k, 'registry', :s) RETURNING id"),
        {"c": t.campaign_id, "p": phone, "k": subscriber_key or phone, "s": state},
    )).scalar_one())


async def attempt(conn: AsyncConnection, t: Tenant, contact_id: int, channel_id: str, *, created_at: datetime,
                  worker_id: str = "w1") -> int:
    return int((await conn.execute(
        text("INSERT INTO attempts (contact_id, campaign_id, trunk_id, worker_id, channel_id, created_at) "
             "VALUES (:ct, :c, :t, :w, :ch, :at) RETURNING id"),
        {"ct": contact_id, "c": t.campaign_id, "t": t.trunk_id, "w": worker_id, "ch": channel_id, "at": created_at},
    )).scalar_one())
