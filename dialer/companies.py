"""Companies: who a campaign calls for, its time zone (campaign schedules) and its default rules.

Caps are counted per company (FZ-230 counts interactions per creditor), so a campaign always
belongs to one; `default` (Europe/Moscow) is created on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.db.models import Company
from dialer.errors import ConflictError, InvalidValueError, NotFoundError
from dialer.names import validate_name
from dialer.rules import StoredRules, resolve_rules

__all__ = [
    "DEFAULT_COMPANY",
    "DEFAULT_TIMEZONE",
    "CompanyConfig",
    "add_company",
    "company_config",
    "ensure_company",
    "get_company",
    "list_companies",
    "validate_timezone",
]

DEFAULT_COMPANY = "default"
DEFAULT_TIMEZONE = "Europe/Moscow"


@dataclass(frozen=True, slots=True)
class CompanyConfig:
    id: int
    name: str
    timezone: str
    rules: StoredRules
    parent_id: int | None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "timezone": self.timezone,
            "rules": self.rules.name,
            "parent_id": self.parent_id,
        }


# Keys the tz database has that name no place.
_NOT_PLACES = frozenset({"Factory", "localtime", "posixrules"})


def validate_timezone(value: str, *, field_name: str = "timezone") -> str:
    """An IANA zone name (never a fixed offset: local time follows the zone's own rules)."""
    try:
        if value in _NOT_PLACES:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tzdata folder (`Europe`)
        raise InvalidValueError(
            field_name, f"{value!r} is not an IANA time zone (e.g. Europe/Moscow, Asia/Novosibirsk)"
        ) from None
    return value


def company_config(row: Company) -> CompanyConfig:
    return CompanyConfig(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        rules=StoredRules(row.rules, row.rules_toml),
        parent_id=row.parent_id,
    )


async def get_company(session: AsyncSession, name: str) -> CompanyConfig:
    # PostgreSQL text holds no NUL: such a name names no company (and would fail the query).
    row = None if "\x00" in name else await session.scalar(select(Company).where(Company.name == name))
    if row is None:
        raise NotFoundError(f"company {name!r} does not exist (see `dialer companies list`)")
    return company_config(row)


async def ensure_company(session: AsyncSession, name: str = DEFAULT_COMPANY) -> CompanyConfig:
    """The named company, created with the defaults (Europe/Moscow, fz230-twin) on first use."""
    name = validate_name(name, field_name="company")
    await session.execute(
        insert(Company).values(name=name, timezone=DEFAULT_TIMEZONE).on_conflict_do_nothing(
            index_elements=[Company.name]
        )
    )
    row = await session.scalar(select(Company).where(Company.name == name))
    assert row is not None  # inserted above or already there; companies are never deleted here
    return company_config(row)


async def add_company(
    session: AsyncSession,
    name: str,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    rules: str | None = None,
    rules_toml: str | None = None,
    parent: str | None = None,
) -> CompanyConfig:
    """Create a company; ConflictError if the name is taken."""
    name = validate_name(name, field_name="name")
    zone = validate_timezone(timezone)
    stored = resolve_rules(rules, rules_toml) if (rules or rules_toml) else StoredRules.default()
    parent_id: int | None = None
    if parent is not None:
        parent_id = (await get_company(session, parent)).id
    result = await session.execute(
        insert(Company)
        .values(name=name, timezone=zone, rules=stored.name, rules_toml=stored.toml, parent_id=parent_id)
        .on_conflict_do_nothing(index_elements=[Company.name])
        .returning(Company.id)
    )
    if result.scalar_one_or_none() is None:
        raise ConflictError(f"company {name!r} already exists")
    return await get_company(session, name)


async def list_companies(session: AsyncSession) -> list[CompanyConfig]:
    return [company_config(row) for row in await session.scalars(select(Company).order_by(Company.name))]
