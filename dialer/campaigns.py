"""Campaigns: create, configure, list and change status; `CampaignConfig` is what workers dial by.

Every function takes the caller's AsyncSession and leaves commit to the caller.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ami.protocol import CONTROL_CHARACTERS
from dialer.answered import AnsweredLeg
from dialer.companies import DEFAULT_COMPANY, CompanyConfig, company_config, ensure_company
from dialer.db.models import CallList, Campaign, CampaignStatus, CampaignTrunk, Company, Trunk
from dialer.errors import ConflictError, InvalidValueError, NotFoundError, parse_choice
from dialer.lifecycle import USER_ACTIONS, Action, apply_action, notify_campaign
from dialer.names import validate_name
from dialer.retries import DEFAULT_MAX_ATTEMPTS, MachineAction, ReachedAction, RetryPolicy
from dialer.rules import StoredRules, resolve_rules
from dialer.schedule import Schedule, parse_schedule
from dialer.trunks import TrunkConfig, load_trunks, parse_cps, trunk_config, validate_max_channels

__all__ = [
    "CampaignConfig",
    "CampaignSpec",
    "CampaignSummary",
    "campaign_id_by_name",
    "change_status",
    "create_campaign",
    "delete_campaign",
    "get_campaign",
    "list_campaigns",
    "load_campaign_config",
    "load_campaign_configs",
    "update_campaign",
]

DEFAULT_SUBSCRIBER_COLUMN = "additional"
DEFAULT_ANSWERED_CONTEXT = "dialer-answered"
DEFAULT_DIAL_TIMEOUT_S = 30
DIAL_TIMEOUT_RANGE = (5, 300)
_CONTEXT = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_EDITABLE_STATUSES = (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.FINISHED)


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign as the user gives it (CLI options or API body), before validation.

    `rules` None inherits the company's rules; `rules` may be a preset name or a `.toml` path, or a
    label with the TOML text in `rules_toml` (API uploads). `cps`/`max_channels` None: only the
    trunks' limits apply.
    """

    name: str
    trunks: tuple[str, ...]
    company: str = DEFAULT_COMPANY
    rules: str | None = None
    rules_toml: str | None = None
    cps: Decimal | float | str | None = None
    max_channels: int | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry: str | None = None
    machine: str = MachineAction.RETRY.value
    reached: str = ReachedAction.CONTINUE.value
    subscriber_column: str = DEFAULT_SUBSCRIBER_COLUMN
    answered_context: str = DEFAULT_ANSWERED_CONTEXT
    caller_id: str | None = None
    dial_timeout: int = DEFAULT_DIAL_TIMEOUT_S
    schedule: str | None = None
    # The answered leg (dialer.answered): AMD, the person's route, the machine's message, NOTSURE.
    amd: bool = True
    amd_params: str | None = None
    route: str | None = None
    machine_message: str | None = None
    notsure_as_machine: bool = False


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    """Everything a worker needs to dial a campaign, read in one go (`load_campaign_config`)."""

    id: int
    name: str
    status: CampaignStatus
    company: CompanyConfig
    rules: StoredRules
    trunks: tuple[TrunkConfig, ...]  # in priority order
    retry: RetryPolicy  # per-outcome delays, max attempts, answering-machine action
    cps_limit: Decimal | None  # None: only the trunks' CPS apply
    max_channels: int | None  # None: only the trunks' channels apply
    subscriber_column: str
    answered_context: str
    caller_id: str | None
    dial_timeout_s: int
    schedule: Schedule | None  # in the company's time zone, on top of the subscriber windows
    created_at: datetime
    updated_at: datetime
    answered: AnsweredLeg = field(default_factory=AnsweredLeg)  # AMD and routing after AMD (dialer.answered)
    reached: ReachedAction = ReachedAction.CONTINUE  # the subscriber's other numbers once a person answered
    withdrawn_lists: frozenset[int] = frozenset()  # call lists taken out of the campaign (`dialer lists withdraw`)

    @property
    def max_attempts(self) -> int:
        return self.retry.max_attempts

    @property
    def machine(self) -> MachineAction:
        return self.retry.machine

    @property
    def zone(self) -> ZoneInfo:
        """Time zone of the campaign schedule (the company's)."""
        return self.company.zone

    @property
    def dialing(self) -> bool:
        """Whether workers may originate calls for it now (only `running`)."""
        return self.status is CampaignStatus.RUNNING

    def caller_id_for(self, trunk: TrunkConfig) -> str | None:
        return self.caller_id or trunk.caller_id

    def schedule_open(self, at: datetime) -> bool:
        return self.schedule is None or self.schedule.is_open(at, self.zone)

    def public(self) -> dict[str, Any]:
        """JSON-ready settings (no AMI secrets)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "company": self.company.name,
            "timezone": self.company.timezone,
            "rules": self.rules.name,
            "trunks": [t.name for t in self.trunks],
            "cps": None if self.cps_limit is None else float(self.cps_limit),
            "max_channels": self.max_channels,
            "max_attempts": self.retry.max_attempts,
            "retry": self.retry.spec(),
            "machine": self.retry.machine.value,
            "reached": self.reached.value,
            "subscriber_column": self.subscriber_column,
            "answered_context": self.answered_context,
            "caller_id": self.caller_id,
            "dial_timeout": self.dial_timeout_s,
            "schedule": None if self.schedule is None else self.schedule.spec(),
            **self.answered.stored(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    id: int
    name: str
    status: CampaignStatus
    company: str
    trunks: tuple[str, ...]
    created_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "company": self.company,
            "trunks": list(self.trunks),
            "created_at": self.created_at.isoformat(),
        }


def _text(value: str, field_name: str, pattern: re.Pattern[str] | None = None, max_len: int = 100) -> str:
    if not value or not value.strip():
        raise InvalidValueError(field_name, "must not be empty")
    if len(value) > max_len:
        raise InvalidValueError(field_name, f"longer than {max_len} characters")
    if pattern is not None and not pattern.match(value):
        raise InvalidValueError(field_name, f"{value!r} must be letters, digits, '_' or '-'")
    if CONTROL_CHARACTERS.search(value):  # the AMI layer refuses them in any header
        raise InvalidValueError(field_name, "must not contain control characters")
    return value


def _limits_and_settings(spec: CampaignSpec) -> dict[str, Any]:
    """Column values of everything in `spec` that needs no database look-up."""
    policy = RetryPolicy.build(spec.retry, spec.max_attempts, spec.machine)
    reached = parse_choice(ReachedAction, spec.reached, "reached")
    low, high = DIAL_TIMEOUT_RANGE
    if not low <= spec.dial_timeout <= high:
        raise InvalidValueError("dial_timeout", f"{spec.dial_timeout} s must be between {low} and {high} s")
    schedule = parse_schedule(spec.schedule) if spec.schedule else None
    answered = AnsweredLeg.build(
        amd=spec.amd, amd_params=spec.amd_params, route=spec.route, machine=policy.machine,
        machine_message=spec.machine_message, notsure_as_machine=spec.notsure_as_machine,
    )
    return {
        "cps_limit": None if spec.cps is None else parse_cps(spec.cps),
        "max_channels": None if spec.max_channels is None else validate_max_channels(spec.max_channels),
        "max_attempts": policy.max_attempts,
        "retry_delays": policy.delays_json(),
        "settings": {"machine": policy.machine.value, "reached": reached.value, **answered.stored()},
        "subscriber_column": _text(spec.subscriber_column, "subscriber_column"),
        "answered_context": _text(spec.answered_context, "answered_context", _CONTEXT, 80),
        "caller_id": _text(spec.caller_id, "caller_id") if spec.caller_id else None,
        "dial_timeout_s": spec.dial_timeout,
        "schedule": None if schedule is None else {"spec": schedule.spec()},
    }


async def _set_trunks(session: AsyncSession, campaign_id: int, trunk_ids: Sequence[int]) -> None:
    await session.execute(delete(CampaignTrunk).where(CampaignTrunk.campaign_id == campaign_id))
    session.add_all(
        CampaignTrunk(campaign_id=campaign_id, trunk_id=tid, priority=i) for i, tid in enumerate(trunk_ids)
    )
    await session.flush()


async def create_campaign(session: AsyncSession, spec: CampaignSpec) -> CampaignConfig:
    """Validate everything first, then store the campaign (draft) with its trunks; nothing on error."""
    name = validate_name(spec.name)
    values = _limits_and_settings(spec)
    trunk_ids = await load_trunks(session, list(spec.trunks))
    validate_name(spec.company, field_name="company")
    if await session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise ConflictError(f"campaign {name!r} already exists")
    explicit_rules = spec.rules is not None or spec.rules_toml is not None
    rules = resolve_rules(spec.rules, spec.rules_toml) if explicit_rules else None
    try:
        async with session.begin_nested():
            company = await ensure_company(session, spec.company)
            rules = rules or company.rules
            row = Campaign(
                name=name, company_id=company.id, rules=rules.name, rules_toml=rules.toml, **values
            )
            session.add(row)
            await session.flush()
            await _set_trunks(session, row.id, trunk_ids)
    except IntegrityError:
        raise ConflictError(f"campaign {name!r} already exists") from None
    return await load_campaign_config(session, row.id)


def _spec_of(config: CampaignConfig) -> CampaignSpec:
    return CampaignSpec(
        name=config.name,
        trunks=tuple(t.name for t in config.trunks),
        company=config.company.name,
        rules=config.rules.name,
        rules_toml=config.rules.toml,
        cps=config.cps_limit,
        max_channels=config.max_channels,
        max_attempts=config.retry.max_attempts,
        retry=config.retry.spec(),
        machine=config.retry.machine.value,
        reached=config.reached.value,
        subscriber_column=config.subscriber_column,
        answered_context=config.answered_context,
        caller_id=config.caller_id,
        dial_timeout=config.dial_timeout_s,
        schedule=None if config.schedule is None else config.schedule.spec(),
        amd=config.answered.amd,
        amd_params=config.answered.amd_params,
        route=None if config.answered.route is None else config.answered.route.value,
        machine_message=config.answered.machine_message,
        notsure_as_machine=config.answered.notsure_as_machine,
    )


_UPDATABLE = frozenset(
    f.name for f in dataclasses.fields(CampaignSpec) if f.name not in ("name", "company")
)


async def update_campaign(session: AsyncSession, name: str, changes: Mapping[str, Any]) -> CampaignConfig:
    """Change settings of a campaign that is not stopped; workers are notified to reload it.

    `changes` holds CampaignSpec field names; a value of None clears an optional setting.
    """
    unknown = sorted(set(changes) - _UPDATABLE)
    if unknown:
        raise InvalidValueError(unknown[0], "cannot be changed (or is not a campaign setting)")
    campaign_id = await campaign_id_by_name(session, name, lock=True)
    current = await load_campaign_config(session, campaign_id)
    if current.status not in _EDITABLE_STATUSES:
        raise ConflictError(f"campaign {name!r} is {current.status.value}: its settings are final")
    rules_changed = "rules" in changes or "rules_toml" in changes
    merged = dict(changes)
    if "rules" in changes and "rules_toml" not in changes:
        merged["rules_toml"] = None
    spec = dataclasses.replace(_spec_of(current), **merged)
    for required in ("max_attempts", "machine", "reached", "dial_timeout", "subscriber_column", "answered_context",
                     "amd", "notsure_as_machine"):
        if getattr(spec, required) is None:
            raise InvalidValueError(required, "cannot be cleared")
    values = _limits_and_settings(spec)
    if rules_changed:
        rules = (
            resolve_rules(spec.rules, spec.rules_toml)
            if spec.rules is not None or spec.rules_toml is not None
            else current.company.rules
        )
        values |= {"rules": rules.name, "rules_toml": rules.toml}
    trunk_ids = await load_trunks(session, list(spec.trunks)) if "trunks" in changes else None
    row = await session.get_one(Campaign, campaign_id)
    # settings also holds keys no option edits (e.g. `variables`): keep them.
    values["settings"] = {**(row.settings or {}), **values["settings"]}
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    if trunk_ids is not None:
        await _set_trunks(session, campaign_id, trunk_ids)
    await notify_campaign(session, campaign_id)
    session.expire(row)
    return await load_campaign_config(session, campaign_id)


async def delete_campaign(session: AsyncSession, name: str) -> None:
    """Delete a campaign that is not dialing (draft, stopped, finished) with its contacts and attempts.

    The compliance ledger keeps its rows (campaign_id set NULL): caps still count those calls.
    """
    campaign_id = await campaign_id_by_name(session, name, lock=True)
    status = CampaignStatus(
        await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) or ""
    )
    if status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        raise ConflictError(f"campaign {name!r} is {status.value}: stop it before deleting it")
    await session.execute(delete(Campaign).where(Campaign.id == campaign_id))
    await notify_campaign(session, campaign_id)


async def campaign_id_by_name(session: AsyncSession, name: str, *, lock: bool = False) -> int:
    query = select(Campaign.id).where(Campaign.name == name)
    if lock:
        query = query.with_for_update()
    campaign_id = await session.scalar(query)
    if campaign_id is None:
        raise NotFoundError(f"campaign {name!r} does not exist (see `dialer campaigns list`)")
    return campaign_id


async def load_campaign_configs(
    session: AsyncSession, campaign_ids: Sequence[int] | None = None, *, names: Sequence[str] | None = None,
    statuses: Sequence[CampaignStatus] | None = None,
) -> list[CampaignConfig]:
    """Configs of the campaigns selected by ids, names and/or statuses (all when none given), by name."""
    query = select(Campaign, Company).join(Company, Company.id == Campaign.company_id).order_by(Campaign.name)
    if campaign_ids is not None:
        query = query.where(Campaign.id.in_(campaign_ids))
    if names is not None:
        query = query.where(Campaign.name.in_(names))
    if statuses is not None:
        query = query.where(Campaign.status.in_([s.value for s in statuses]))
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    trunk_rows = (
        await session.execute(
            select(CampaignTrunk.campaign_id, Trunk)
            .join(Trunk, Trunk.id == CampaignTrunk.trunk_id)
            .where(CampaignTrunk.campaign_id.in_([c.id for c, _ in rows]))
            .order_by(CampaignTrunk.campaign_id, CampaignTrunk.priority, Trunk.name)
        )
    ).all()
    trunks: dict[int, list[TrunkConfig]] = {}
    for campaign_id, trunk in trunk_rows:
        trunks.setdefault(campaign_id, []).append(trunk_config(trunk))
    withdrawn: dict[int, set[int]] = {}
    for campaign_id, call_list_id in (await session.execute(
            select(CallList.campaign_id, CallList.id)
            .where(CallList.campaign_id.in_([c.id for c, _ in rows]), CallList.withdrawn_at.is_not(None)))).all():
        withdrawn.setdefault(campaign_id, set()).add(call_list_id)
    return [_config(campaign, company, trunks.get(campaign.id, []), frozenset(withdrawn.get(campaign.id, ())))
            for campaign, company in rows]


def _config(
    row: Campaign, company: Company, trunks: Sequence[TrunkConfig], withdrawn_lists: frozenset[int]
) -> CampaignConfig:
    schedule_spec = (row.schedule or {}).get("spec")
    answered = AnsweredLeg.from_stored(row.settings or {})
    return CampaignConfig(
        id=row.id,
        name=row.name,
        status=CampaignStatus(row.status),
        company=company_config(company),
        rules=StoredRules(row.rules, row.rules_toml),
        trunks=tuple(trunks),
        retry=RetryPolicy.from_stored(row.retry_delays, row.max_attempts, row.settings.get("machine"),
                                     answered.notsure_as_machine),
        cps_limit=None if row.cps_limit is None else Decimal(row.cps_limit),
        max_channels=row.max_channels,
        subscriber_column=row.subscriber_column,
        answered_context=row.answered_context,
        caller_id=row.caller_id,
        dial_timeout_s=row.dial_timeout_s,
        schedule=parse_schedule(schedule_spec) if schedule_spec else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        answered=answered,
        reached=ReachedAction((row.settings or {}).get("reached", ReachedAction.CONTINUE.value)),
        withdrawn_lists=withdrawn_lists,
    )


async def load_campaign_config(session: AsyncSession, campaign_id: int) -> CampaignConfig:
    """The campaign with its company, trunks (priority order), rules, retry policy and limits."""
    configs = await load_campaign_configs(session, [campaign_id])
    if not configs:
        raise NotFoundError(f"campaign id {campaign_id} does not exist")
    return configs[0]


async def get_campaign(session: AsyncSession, name: str) -> CampaignConfig:
    configs = await load_campaign_configs(session, names=[name])
    if not configs:
        raise NotFoundError(f"campaign {name!r} does not exist (see `dialer campaigns list`)")
    return configs[0]


async def list_campaigns(session: AsyncSession) -> list[CampaignSummary]:
    return [
        CampaignSummary(c.id, c.name, c.status, c.company.name, tuple(t.name for t in c.trunks), c.created_at)
        for c in await load_campaign_configs(session)
    ]


async def change_status(session: AsyncSession, name: str, action: Action | str) -> CampaignStatus:
    """start/pause/resume/stop by name; IllegalTransitionError (a ConflictError) when not allowed now."""
    try:
        verb = Action(action)
    except ValueError:
        raise InvalidValueError("action", f"{action!r} is not one of start, pause, resume, stop") from None
    if verb not in USER_ACTIONS:
        raise InvalidValueError("action", f"{verb.value!r} is decided by the engine, not by a user")
    return await apply_action(session, await campaign_id_by_name(session, name), verb)
