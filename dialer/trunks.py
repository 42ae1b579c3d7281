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
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ami.client import redacted_url
from ami.errors import UnsafeFieldError
from ami.protocol import CONTROL_CHARACTERS, validate_value
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
    "validate_caller_id",
    "validate_dial_template",
    "validate_max_channels",
    "validate_trunk_name",
]

MAX_CPS = Decimal(1000)
MAX_CHANNELS_LIMIT = 100_000
AMI_DEFAULT_PORT = 5038
MAX_CALLER_ID_LENGTH = 100  # trunks.caller_id is varchar(100), as campaigns.caller_id
# manager.c action_originate() copies Channel into a 256-byte buffer: a longer one is cut short.
MAX_CHANNEL_LENGTH = 255
# The longest E.164 number (ITU-T E.164: 15 digits) as the worker passes it: dial strings are checked
# with it, so no stored number can make a channel the check did not see.
_SAMPLE_NUMBER = "+" + "9" * 15
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
        """The URL `parse_ami_url` reads back to this value (user and secret percent-encoded)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ami://{quote(self.user, safe='')}:{quote(self.secret, safe='')}@{host}:{self.port}"

    def redacted(self) -> str:
        """The URL without its secret, for listings and logs."""
        return f"ami://{self.user}:***@{self.server}"

    def __repr__(self) -> str:  # never print the secret by accident
        return f"AmiUrl({self.redacted()!r})"


def parse_ami_url(text: str, *, field_name: str = "ami") -> AmiUrl:
    """Validate `ami://user:secret@host:port`; the error names the missing part and never shows the
    secret. Characters such as `/ ? # @ :` in the user or secret are percent-encoded (`%2F`)."""
    example = "ami://user:secret@host:5038"
    shown = _shown(redacted_url(text), 200)
    raw = text.strip()
    # urlsplit() silently drops CR, LF and tab (WHATWG): refuse them rather than store another URL.
    if CONTROL_CHARACTERS.search(raw):
        raise InvalidValueError(field_name, f"{shown} must not contain control characters")
    rest = raw.partition("://")[2]
    userinfo = rest[:rest.rfind("@")] if "@" in rest else ""
    if any(ch in userinfo for ch in "/?#"):
        raise InvalidValueError(
            field_name, f"{shown}: percent-encode '/', '?' and '#' in the user or secret (%2F, %3F, %23)"
        )
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise InvalidValueError(field_name, f"{shown} is not a valid URL; expected {example}") from None
    try:
        port = parts.port
    except ValueError:
        # Not urlsplit's message: it quotes the "port", which is the secret in `ami://user:secret`.
        if "@" not in rest:
            shown = _shown(raw.rpartition(":")[0] + ":***", 200)
        raise InvalidValueError(
            field_name, f"{shown} is not a valid URL: the port must be a number from 1 to 65535"
        ) from None
    if parts.scheme != "ami":
        raise InvalidValueError(field_name, f"{shown}: the scheme must be ami:// (expected {example})")
    if not parts.username:
        raise InvalidValueError(field_name, f"{shown}: the AMI user is missing (expected {example})")
    if not parts.password:
        raise InvalidValueError(field_name, f"{shown}: the AMI secret is missing (expected {example})")
    if not parts.hostname:
        raise InvalidValueError(field_name, f"{shown}: the host is missing (expected {example})")
    if port is None:
        raise InvalidValueError(
            field_name, f"{shown}: the port is missing (expected {example}; AMI listens on {AMI_DEFAULT_PORT})"
        )
    if port == 0:
        raise InvalidValueError(field_name, f"{shown}: port 0 is not a port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidValueError(field_name, f"{shown}: unexpected path or query (expected {example})")
    user, secret = unquote(parts.username), unquote(parts.password)
    # They become the Username and Secret headers of Login: a CR/LF would end the header (AMI injection).
    for part, value in (("user", user), ("secret", secret)):
        if CONTROL_CHARACTERS.search(value):
            raise InvalidValueError(field_name, f"{shown}: the AMI {part} must not contain control characters")
    return AmiUrl(user, secret, parts.hostname, port)


def _shown(text: str, limit: int = 60) -> str:
    """`text` quoted for a message, cut short if long."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def dial_string(template: str, number: str) -> str:
    """The Originate `Channel` for an E.164 number: what the worker dials and the check formats."""
    return template.format(number=number)


def validate_dial_template(text: str, *, field_name: str = "dial") -> str:
    """A dial string with `{number}` (e.g. `Local/{number}@pstn-sim`, `PJSIP/{number}@carrier`) that
    gives an Originate `Channel` Asterisk accepts for any E.164 number."""
    template = text.strip()
    shown = _shown(text)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidValueError(field_name, f"{shown} is not a valid template ({exc})") from None
    fields = [name for _, name, _, _ in parsed if name is not None]
    if "number" not in fields:
        raise InvalidValueError(
            field_name, f"{shown} must contain {{number}}, e.g. 'PJSIP/{{number}}@carrier'"
        )
    unknown = sorted(set(fields) - {"number"})
    if unknown:
        raise InvalidValueError(
            field_name, f"{shown} has unknown placeholder(s) {', '.join(unknown)}; only {{number}} is known"
        )
    if "/" not in template:
        raise InvalidValueError(
            field_name, f"{shown} must name a channel technology, e.g. 'PJSIP/{{number}}@carrier'"
        )
    if len(template) > MAX_CHANNEL_LENGTH:
        raise InvalidValueError(field_name, f"{shown} is longer than {MAX_CHANNEL_LENGTH} characters")
    for _, _, spec, _ in parsed:
        # Checked before formatting: `{number:>99999999999}` would build the string (MemoryError).
        if spec and ("{" in spec or any(int(width) > MAX_CHANNEL_LENGTH for width in re.findall(r"\d+", spec))):
            raise InvalidValueError(
                field_name, f"{shown}: the format spec {spec!r} of {{number}} is too wide or nested"
            )
    try:
        channel = dial_string(template, _SAMPLE_NUMBER)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InvalidValueError(field_name, f"{shown} cannot be formatted with a number ({exc})") from None
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise InvalidValueError(
            field_name, f"{shown} gives channels longer than {MAX_CHANNEL_LENGTH} characters (e.g. {_shown(channel)})"
        )
    try:
        validate_value("Channel", channel)
    except UnsafeFieldError as exc:
        raise InvalidValueError(field_name, f"{shown} cannot be sent to Asterisk ({exc})") from None
    return template


def validate_caller_id(value: str | None, *, field_name: str = "caller_id") -> str | None:
    """The trunk's default CallerID (None or '' for none): at most 100 characters, sendable over AMI."""
    if not value:
        return None
    shown = _shown(value)
    if not value.strip():
        raise InvalidValueError(field_name, f"{shown} is blank (give '' to clear it)")
    if len(value) > MAX_CALLER_ID_LENGTH:
        raise InvalidValueError(field_name, f"{shown} is longer than {MAX_CALLER_ID_LENGTH} characters")
    try:
        validate_value("CallerID", value)
    except UnsafeFieldError as exc:
        raise InvalidValueError(field_name, f"{shown} cannot be sent to Asterisk ({exc})") from None
    return value


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
    if not cps.is_finite():
        raise InvalidValueError(field_name, f"{value!r} is not a finite number")
    if cps <= 0:
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
        return dial_string(self.dial_template, number)

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
    caller_id = validate_caller_id(spec.caller_id)
    if await session.scalar(select(Trunk.id).where(Trunk.name == name)) is not None:
        raise ConflictError(f"trunk {name!r} already exists")
    row = Trunk(
        name=name, ami_url=ami.url(), dial_template=dial, cps_limit=cps, max_channels=channels,
        caller_id=caller_id,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise ConflictError(f"trunk {name!r} already exists") from None
    await session.refresh(row)
    return trunk_config(row)


def _storable(name: str) -> bool:
    """False for a name PostgreSQL text cannot hold (NUL): no stored trunk has it."""
    return "\x00" not in name


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(f"trunk {name!r} does not exist (see `dialer trunks list`)")


async def get_trunk(session: AsyncSession, name: str) -> TrunkConfig:
    row = await session.scalar(select(Trunk).where(Trunk.name == name)) if _storable(name) else None
    if row is None:
        raise _not_found(name)
    return trunk_config(row)


async def list_trunks(session: AsyncSession) -> list[TrunkConfig]:
    rows = await session.scalars(select(Trunk).order_by(Trunk.name))
    return [trunk_config(row) for row in rows]


async def load_trunks(session: AsyncSession, names: Sequence[str], *, field_name: str = "trunk") -> list[int]:
    """Ids of the named trunks, in the order given; InvalidValueError naming any unknown one."""
    if not names:
        raise InvalidValueError(field_name, "at least one trunk is required (see `dialer trunks list`)")
    # A name PostgreSQL cannot store (NUL) names no trunk: left out of the query, reported unknown.
    result = await session.execute(
        select(Trunk.name, Trunk.id).where(Trunk.name.in_([n for n in names if _storable(n)]))
    )
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
    if not _storable(name):
        raise _not_found(name)
    row = await session.scalar(select(Trunk).where(Trunk.name == name).with_for_update())
    if row is None:
        raise _not_found(name)
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
        row.caller_id = validate_caller_id(changes["caller_id"])
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
    if not _storable(name):
        raise _not_found(name)
    trunk_id = await session.scalar(select(Trunk.id).where(Trunk.name == name).with_for_update())
    if trunk_id is None:
        raise _not_found(name)
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
