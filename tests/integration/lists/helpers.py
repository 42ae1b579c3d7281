"""Rows and queries the call-list tests share: a company and campaign, counts, DNC entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.db.models import Campaign, Company
from dialer.db.session import session_scope


@dataclass(frozen=True)
class Tenant:
    company_id: int
    campaign_id: int
    company: str
    campaign: str


async def make_tenant(
    engine: AsyncEngine, company: str = "acme", campaign: str = "spring", subscriber_column: str | None = None
) -> Tenant:
    """A company and one campaign of it, created with the ORM models."""
    async with session_scope(engine) as session:
        owner = Company(name=company)
        session.add(owner)
        await session.flush()
        fields: dict[str, Any] = {"company_id": owner.id, "name": campaign}
        if subscriber_column is not None:
            fields["subscriber_column"] = subscriber_column
        target = Campaign(**fields)
        session.add(target)
        await session.flush()
        return Tenant(owner.id, target.id, company, campaign)


def query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def count(url: str, table: str) -> int:
    return int(query(url, f"SELECT count(*) FROM {table}")[0][0])


def add_dnc(url: str, company_id: int, *phones: str) -> None:
    with psycopg.connect(url) as conn:
        for phone in phones:
            conn.execute("INSERT INTO dnc (company_id, phone) VALUES (%s, %s)", (company_id, phone))
