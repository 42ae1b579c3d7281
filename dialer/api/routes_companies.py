"""/companies: add and list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dialer.api.app import Plane
from dialer.api.schemas import CompanyIn
from dialer.companies import add_company, get_company, list_companies
from dialer.errors import InvalidValueError

router = APIRouter(prefix="/companies", tags=["companies"])


@router.get("")
async def companies_list(plane: Plane) -> list[dict[str, Any]]:
    async with plane.tx() as session:
        return [c.public() for c in await list_companies(session)]


@router.post("", status_code=201)
async def companies_add(body: CompanyIn, plane: Plane) -> dict[str, Any]:
    if body.rules is not None and body.rules.lower().endswith(".toml") and body.rules_toml is None:
        raise InvalidValueError("rules", "over the API send the file's text in rules_toml (rules is its name)")
    async with plane.tx() as session:
        company = await add_company(
            session, body.name, timezone=body.timezone, rules=body.rules, rules_toml=body.rules_toml,
            parent=body.parent,
        )
        return company.public()


@router.get("/{name}")
async def companies_show(name: str, plane: Plane) -> dict[str, Any]:
    async with plane.tx() as session:
        return (await get_company(session, name)).public()
