"""Trunks: an Asterisk server reached over AMI plus a dial string template, with its pace limits.

The worker reads trunks through `TrunkConfig` (frozen); the CLI and API add, list and remove them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.db.models import Campaign, CampaignTrunk, Trunk
from dialer.errors import ConflictError, InvalidValueError, NotFoundError
from dialer.lifecycle import notify_campaign

__all__ = [
    "MAX_CHANNELS_LIMIT",
    "MAX_CPS",
    "AmiUrl",
    "TrunkConfig",
    "TrunkSpec",
    "add_trunk",
    "get_trunk",
    "list_trunks",
    "load_trunks",
    "parse_ami_url",
    "parse_cps",
    "remove_trunk",
    "update_trunk",
    "validate_dial_template",
    "validate_max_channels",
    "validate_trunk_name",
]

MAX_CPS = Decimal(1000)
MAX_CHANNELS_LIMIT = 100_000
AMI_DEFAULT_PORT = 5038
_TRUNK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True, slots=True)
class AmiUrl:
    """`ami://user:secret@host:port`: where a trunk's Asterisk listens for AMI."""

    user: str
    secret: str
    host: str
    port: int

    @property
    def server(self) -> str:
        """`host:port`: trunks on one server share one AMI connection."""
        return f"{self.host}:{self.port}"

    def url(self) -> str:
        return f"ami://{self.user}:{self.secret}@{self.server}"

    def redacted(self) -> str:
        """The URL without its secret, for listings and logs."""
        return f"ami://{self.user}:***@{self.server}"

    def __repr__(self) -> str:  # never print the secret by accident
        return f"AmiUrl({self.redacted()!r})"


def parse_ami_url(text: str, *, field_name: str = "ami") -> AmiUrl:
    """Validate `ami://user:secret@host:port`; the error names the missing part."""
    example = "ami://user:secret@host:5038"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidValueError(field_name, f"{text!r} is not a valid URL ({exc}); expected {example}") from None
    if parts.scheme != "ami":
        raise InvalidValueError(field_name, f"{text!r}: the scheme must be ami:// (expected {example})")
    if not parts.username:
        raise InvalidValueError(field_name, f"{text!r}: the AMI user is missing (expected {example})")
    if not parts.password:
        raise InvalidValueError(field_name, f"{text!r}: the AMI secret is missing (expected {example})")
    if not parts.hostname:
        raise InvalidValueError(field_name, f"{text!r}: the host is missing (expected {example})")
    if port is None:
        raise InvalidValueError(
            field_name, f"{text!r}: the port is missing (expected {example}; AMI listens on {AMI_DEFAULT_PORT})"
        )
    if port == 0:
        raise InvalidValueError(field_name, f"{text!r}: port 0 is not a port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidValueError(field_name, f"{text!r}: unexpected path or query (expected {example})")
    return AmiUrl(unquote(parts.username), unquote(parts.password), parts.hostname, port)


def validate_dial_template(text: str, *, field_name: str = "dial") -> str:
    """A dial string with `{number}` (e.g. `Local/{number}@pstn-sim`, `PJSIP/{number}@carrier`)."""
    template = text.strip()
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise InvalidValueError(field_name, f"{text!r} is not a valid template ({exc})") from None
    if "number" not in fields:
        raise InvalidValueError(
            field_name, f"{text!r} must contain {{number}}, e.g. 'PJSIP/{{number}}@carrier'"
        )
    unknown = sorted(set(fields) - {"number"})
    if unknown:
        raise InvalidValueError(
            field_name, f"{text!r} has unknown placeholder(s) {', '.join(unknown)}; only {{number}} is known"
        )
    if "/" not in template:
        raise InvalidValueError(
            field_name, f"{text!r} must name a channel technology, e.g. 'PJSIP/{{number}}@carrier'"
        )
    return template


def validate_trunk_name(name: str) -> str:
    if not _TRUNK_NAME.match(name):
        raise InvalidValueError(
            "name", f"{name!r}: a trunk name is 1-100 letters, digits, '_', '.', '-' (it labels metrics)"
        )
    return name


def parse_cps(value: float | str | Decimal, *, field_name: str = "cps") -> Decimal:
    """Calls per second, > 0 and <= 1000, at most three decimals (0.5 = one call every 2 s)."""
    try:
        cps = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValueError(field_name, f"{value!r} is not a number") from None
    if not cps.is_finite() or cps <= 0:
        raise InvalidValueError(field_name, f"{value!r} must be greater than zero")
    if cps > MAX_CPS:
        raise InvalidValueError(field_name, f"{value!r} is above the limit of {MAX_CPS}")
    if cps != cps.quantize(Decimal("0.001")):
        raise InvalidValueError(field_name, f"{value!r} has more than three decimals")
    return cps


def validate_max_channels(value: int, *, field_name: str = "max_channels") -> int:
    if not 1 <= value <= MAX_CHANNELS_LIMIT:
        raise InvalidValueError(field_name, f"{value} must be between 1 and {MAX_CHANNELS_LIMIT}")
    return value


@dataclass(frozen=True, slots=True)
class TrunkSpec:
    """A trunk as the user gives it (CLI options or API body), before validation."""

    name: str
    ami: str
    dial: str
    cps: float | str | Decimal = Decimal(10)
    max_channels: int = 30
    caller_id: str | None = None


@dataclass(frozen=True, slots=True)
class TrunkConfig:
    """A stored trunk, as the worker paces and dials through it."""

    id: int
    name: str
    ami: AmiUrl
    dial_template: str
    cps_limit: Decimal
    max_channels: int
    caller_id: str | None
    enabled: bool

    def dial_string(self, number: str) -> str:
        """The Originate `Channel` for an E.164 number."""
        return self.dial_template.format(number=number)

    def public(self) -> dict[str, object]:
        """JSON-ready view without the AMI secret."""
        return {
            "id": self.id,
            "name": self.name,
            "ami": self.ami.redacted(),
            "dial": self.dial_template,
            "cps": float(self.cps_limit),
            "max_channels": self.max_channels,
            "caller_id": self.caller_id,
            "enabled": self.enabled,
        }


def trunk_config(row: Trunk) -> TrunkConfig:
    return TrunkConfig(
        id=row.id,
        name=row.name,
        ami=parse_ami_url(row.ami_url),
        dial_template=row.dial_template,
        cps_limit=Decimal(row.cps_limit),
        max_channels=row.max_channels,
        caller_id=row.caller_id,
        enabled=row.enabled,
    )


async def add_trunk(session: AsyncSession, spec: TrunkSpec) -> TrunkConfig:
    """Validate and store a trunk; ConflictError if the name is taken."""
    name = validate_trunk_name(spec.name)
    ami = parse_ami_url(spec.ami)
    dial = validate_dial_template(spec.dial)
    cps = parse_cps(spec.cps)
    channels = validate_max_channels(spec.max_channels)
    if await session.scalar(select(Trunk.id).where(Trunk.name == name)) is not None:
        raise ConflictError(f"trunk {name!r} already exists")
    row = Trunk(
        name=name, ami_url=ami.url(), dial_template=dial, cps_limit=cps, max_channels=channels,
        caller_id=spec.caller_id or None,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise ConflictError(f"trunk {name!r} already exists") from None
    await session.refresh(row)
    return trunk_config(row)


async def get_trunk(session: AsyncSession, name: str) -> TrunkConfig:
    row = await session.scalar(select(Trunk).where(Trunk.name == name))
    if row is None:
        raise NotFoundError(f"trunk {name!r} does not exist (see `dialer trunks list`)")
    return trunk_config(row)


async def list_trunks(session: AsyncSession) -> list[TrunkConfig]:
    rows = await session.scalars(select(Trunk).order_by(Trunk.name))
    return [trunk_config(row) for row in rows]


async def load_trunks(session: AsyncSession, names: Sequence[str], *, field_name: str = "trunk") -> list[int]:
    """Ids of the named trunks, in the order given; InvalidValueError naming any unknown one."""
    if not names:
        raise InvalidValueError(field_name, "at least one trunk is required (see `dialer trunks list`)")
    result = await session.execute(select(Trunk.name, Trunk.id).where(Trunk.name.in_(names)))
    found = {name: trunk_id for name, trunk_id in result.all()}
    missing = [n for n in names if n not in found]
    if missing:
        raise InvalidValueError(
            field_name, f"unknown trunk(s) {', '.join(map(repr, missing))} (add with `dialer trunks add`)"
        )
    if len(set(names)) != len(names):
        raise InvalidValueError(field_name, "a trunk is named twice")
    return [found[n] for n in names]


_TRUNK_CHANGES = frozenset({"ami", "dial", "cps", "max_channels", "caller_id", "enabled"})


async def update_trunk(session: AsyncSession, name: str, changes: Mapping[str, Any]) -> TrunkConfig:
    """Change a trunk (e.g. its CPS after the carrier raised it); workers of its campaigns reload it."""
    unknown = sorted(set(changes) - _TRUNK_CHANGES)
    if unknown:
        raise InvalidValueError(unknown[0], "cannot be changed (or is not a trunk setting)")
    row = await session.scalar(select(Trunk).where(Trunk.name == name).with_for_update())
    if row is None:
        raise NotFoundError(f"trunk {name!r} does not exist (see `dialer trunks list`)")
    for key in ("ami", "dial", "cps", "max_channels", "enabled"):
        if key in changes and changes[key] is None:
            raise InvalidValueError(key, "cannot be cleared")
    if "ami" in changes:
        row.ami_url = parse_ami_url(changes["ami"]).url()
    if "dial" in changes:
        row.dial_template = validate_dial_template(changes["dial"])
    if "cps" in changes:
        row.cps_limit = parse_cps(changes["cps"])
    if "max_channels" in changes:
        row.max_channels = validate_max_channels(changes["max_channels"])
    if "caller_id" in changes:
        row.caller_id = changes["caller_id"] or None
    if "enabled" in changes:
        row.enabled = bool(changes["enabled"])
    await session.flush()
    campaign_ids = await session.scalars(select(CampaignTrunk.campaign_id).where(CampaignTrunk.trunk_id == row.id))
    for campaign_id in campaign_ids.all():
        await notify_campaign(session, campaign_id)
    await session.refresh(row)
    return trunk_config(row)


async def remove_trunk(session: AsyncSession, name: str) -> None:
    """Remove a trunk no campaign uses; ConflictError naming the campaigns otherwise."""
    trunk_id = await session.scalar(select(Trunk.id).where(Trunk.name == name).with_for_update())
    if trunk_id is None:
        raise NotFoundError(f"trunk {name!r} does not exist (see `dialer trunks list`)")
    users = list(
        await session.scalars(
            select(Campaign.name)
            .join(CampaignTrunk, CampaignTrunk.campaign_id == Campaign.id)
            .where(CampaignTrunk.trunk_id == trunk_id)
            .order_by(Campaign.name)
        )
    )
    if users:
        raise ConflictError(f"trunk {name!r} is used by campaign(s) {', '.join(map(repr, users))}")
    await session.execute(delete(Trunk).where(Trunk.id == trunk_id))
