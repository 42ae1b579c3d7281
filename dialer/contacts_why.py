"""Why a contact was (not) dialed: every attempt, every hold-back with its reasons, the next dial.

Backs `dialer contacts why PHONE` and `GET /contacts/{phone}/why`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ami.outcomes import cause_text
from compliance import AnsweredHistory, ReasonCode, RuleSet, Subscriber, decide
from compliance.errors import InvalidPhoneError
from compliance.phones import normalize_phone
from dialer.campaign_stats import reason_code
from dialer.db.models import (
    Attempt,
    Campaign,
    CampaignStatus,
    Company,
    Contact,
    ContactState,
    DecisionLog,
    ExcludedBy,
    Trunk,
)
from dialer.errors import InvalidValueError, NotFoundError
from dialer.leasing import driver_connection
from dialer.reservations import make_subscriber, subscriber_history
from dialer.rules import StoredRules
from dialer.schedule import Schedule, parse_schedule
from dialer.settings import DEFAULT_DIAL_LEAD_SECONDS

__all__ = [
    "AttemptLine",
    "ContactWhy",
    "DecisionLine",
    "Judged",
    "NextDial",
    "Reason",
    "contact_why",
    "explain_next_dial",
]


@dataclass(frozen=True, slots=True)
class AttemptLine:
    at: datetime
    trunk: str | None
    worker: str
    channel_id: str
    state: str
    outcome: str | None
    hangup_cause: int | None
    hangup_text: str | None
    amd_status: str | None
    amd_cause: str | None
    billsec: int | None
    ring_seconds: Decimal | None
    answered_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DecisionLine:
    at: datetime
    worker: str | None
    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None


@dataclass(frozen=True, slots=True)
class NextDial:
    """When the contact will next be dialed; `at` None means never or not until a user acts."""

    at: datetime | None
    at_local: datetime | None
    explanation: str


@dataclass(frozen=True, slots=True)
class ContactWhy:
    contact_id: int
    campaign: str
    campaign_status: CampaignStatus
    phone: str
    subscriber_key: str
    name: str | None
    timezone: str | None
    tz_source: str
    tz_candidates: tuple[str, ...]
    subscriber_zones: tuple[str, ...]  # the window must be open in each (the subscriber's numbers span them)
    state: ContactState
    attempts_made: int
    last_outcome: str | None
    next_attempt_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: tuple[AttemptLine, ...]
    decisions: tuple[DecisionLine, ...]
    next_dial: NextDial

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "contact_id": self.contact_id,
            "campaign": self.campaign,
            "campaign_status": self.campaign_status.value,
            "phone": self.phone,
            "subscriber_key": self.subscriber_key,
            "name": self.name,
            "timezone": self.timezone,
            "tz_source": self.tz_source,
            "tz_candidates": list(self.tz_candidates),
            "subscriber_zones": list(self.subscriber_zones),
            "state": self.state.value,
            "attempts_made": self.attempts_made,
            "last_outcome": self.last_outcome,
            "next_attempt_at": iso(self.next_attempt_at),
            "lease_owner": self.lease_owner,
            "lease_expires_at": iso(self.lease_expires_at),
            "next_dial": {
                "at": iso(self.next_dial.at),
                "at_local": iso(self.next_dial.at_local),
                "explanation": self.next_dial.explanation,
            },
            "attempts": [
                {
                    "at": iso(a.at),
                    "trunk": a.trunk,
                    "worker": a.worker,
                    "channel_id": a.channel_id,
                    "state": a.state,
                    "outcome": a.outcome,
                    "hangup_cause": a.hangup_cause,
                    "hangup_text": a.hangup_text,
                    "amd_status": a.amd_status,
                    "amd_cause": a.amd_cause,
                    "billsec": a.billsec,
                    "ring_seconds": None if a.ring_seconds is None else float(a.ring_seconds),
                    "answered_at": iso(a.answered_at),
                    "ended_at": iso(a.ended_at),
                }
                for a in self.attempts
            ],
            "decisions": [
                {
                    "at": iso(d.at),
                    "worker": d.worker,
                    "allowed": d.allowed,
                    "reasons": [dict(r.detail) | {"code": r.code, "message": r.message} for r in d.reasons],
                    "next_allowed_at": iso(d.next_allowed_at),
                }
                for d in self.decisions
            ],
        }


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


_EXCLUDED: dict[str, str] = {
    ExcludedBy.DO_NOT_CALL: "never: excluded, on the company's do-not-call list (`dialer dnc remove` dials it again)",
    ExcludedBy.BLOCKED: "never: excluded, no calling window opens for it (see its hold-backs)",
    ExcludedBy.WITHDRAWN: "never: excluded, its call list was withdrawn (`dialer lists restore` dials it again)",
}


@dataclass(frozen=True, slots=True)
class Judged:
    """What the compliance gate will judge the contact by when it is due: its subscriber (zones), the
    subscriber's caps history and the campaign's rules (with the workers' dial lead)."""

    subscriber: Subscriber
    history: AnsweredHistory
    rules: RuleSet


# The schedule and the rules may each move the instant past the other's opening: a few rounds settle it.
_ROUNDS = 8


def _first_dial(
    due: datetime, schedule: Schedule | None, company_zone: ZoneInfo | None, judged: Judged | None
) -> tuple[datetime | None, str]:
    """The first instant from `due` the campaign's schedule and the subscriber's rules both allow, and
    what moved it there (None: the rules never allow it)."""
    at, note = due, ""
    for _ in range(_ROUNDS):
        if schedule is not None and company_zone is not None:
            opens = schedule.next_open(at, company_zone)
            if opens > at:
                at, note = opens, f", when the campaign's schedule ({schedule.spec()}) opens"
        if judged is None:
            break
        decision = decide(judged.subscriber, at, judged.history, judged.rules)
        if decision.allowed:
            break
        if decision.next_allowed_at is None:
            return None, "never: " + "; ".join(r.message for r in decision.reasons)
        codes = {r.code for r in decision.reasons}
        waits = (["the subscriber's calling window opens"] if ReasonCode.OUTSIDE_WINDOW in codes else []) + (
            ["the subscriber's caps allow another call"] if codes - {ReasonCode.OUTSIDE_WINDOW} else [])
        at, note = decision.next_allowed_at, f", when {' and '.join(waits)}"
    return at, note


def explain_next_dial(
    *,
    state: ContactState,
    campaign_status: CampaignStatus,
    next_attempt_at: datetime,
    last_outcome: str | None,
    lease_owner: str | None,
    timezone: str | None,
    now: datetime,
    schedule: Schedule | None = None,
    company_zone: ZoneInfo | None = None,
    judged: Judged | None = None,
) -> NextDial:
    """Pure: when and whether the contact will be dialed next, in words and instants. From its due time,
    the campaign's schedule (in the company's zone) and, given `judged`, the subscriber's calling window
    and caps move it to the first instant a worker may dial it."""
    if state is ContactState.DONE:
        if last_outcome == ReasonCode.SUBSCRIBER_REACHED:
            return NextDial(None, None, "never: completed, a person answered another of the subscriber's numbers "
                                        "in this campaign")
        return NextDial(None, None, f"never: completed ({last_outcome or 'done'})")
    if state is ContactState.FAILED:
        return NextDial(None, None, f"never: failed ({last_outcome or 'attempts exhausted'})")
    if state is ContactState.EXCLUDED:
        return NextDial(None, None, _EXCLUDED.get(last_outcome or "", "never: excluded (do-not-call or removed)"))
    if state is ContactState.DIALING:
        return NextDial(None, None, f"a call is in progress now (worker {lease_owner or '?'})")
    if campaign_status is CampaignStatus.STOPPED:
        return NextDial(None, None, "never: the campaign is stopped")
    zone = _zone(timezone)
    due = max(next_attempt_at, now)
    first, wait_note = _first_dial(due, schedule, company_zone, judged)
    at = first if first is not None and first > due else next_attempt_at
    local = None if zone is None else at.astimezone(zone)
    if campaign_status in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
        verb = "started" if campaign_status is CampaignStatus.DRAFT else "resumed"
        return NextDial(at, local, f"not before the campaign is {verb} (it is {campaign_status.value})")
    if first is None:
        return NextDial(None, None, wait_note)
    zone_text = "subscriber's time zone unknown" if zone is None else f"{timezone}"
    if at <= now:
        return NextDial(at, local, f"due now: the next free worker dials it ({zone_text})")
    return NextDial(at, local, f"at {at.isoformat()}{wait_note} ({zone_text})")


def _reasons(raw: Any) -> tuple[Reason, ...]:
    items = raw if isinstance(raw, list) else []
    reasons: list[Reason] = []
    for item in items:
        detail = item if isinstance(item, dict) else {"value": item}
        message = detail.get("message") or detail.get("detail") or detail.get("text") or ""
        reasons.append(Reason(reason_code(detail), str(message), detail))
    return tuple(reasons)


def normalize_query_phone(phone: str, *, field_name: str = "phone") -> str:
    try:
        return normalize_phone(phone, strict=False)  # a lookup: the number may be stored from a registry range
    except InvalidPhoneError as exc:
        raise InvalidValueError(field_name, str(exc)) from None


async def contact_why(
    session: AsyncSession, phone: str, now: datetime, *, campaign: str | None = None,
    dial_lead_seconds: int = DEFAULT_DIAL_LEAD_SECONDS,
) -> list[ContactWhy]:
    """One report per campaign the number is in (or the named campaign only), oldest campaign first.
    The next dial is judged as a worker would judge it (its `dial_lead_seconds` included)."""
    e164 = normalize_query_phone(phone)
    query = (
        select(Contact, Campaign.name, Campaign.status, Campaign.schedule, Company.timezone, Campaign.company_id,
               Campaign.rules, Campaign.rules_toml)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .join(Company, Company.id == Campaign.company_id)
        .where(Contact.phone == e164)
        .order_by(Campaign.created_at, Campaign.id)
    )
    if campaign is not None:
        if await session.scalar(select(Campaign.id).where(Campaign.name == campaign)) is None:
            raise NotFoundError(f"campaign {campaign!r} does not exist (see `dialer campaigns list`)")
        query = query.where(Campaign.name == campaign)
    rows = (await session.execute(query)).all()
    if not rows:
        where = f" in campaign {campaign!r}" if campaign else ""
        raise NotFoundError(f"no contact with phone {e164}{where}")
    ids = [row[0].id for row in rows]
    attempts = await _attempts(session, ids)
    decisions = await _decisions(session, ids)
    conn = await driver_connection(await session.connection())  # the caps history, as the gate reads it
    reports: list[ContactWhy] = []
    for contact, campaign_name, status, schedule, company_zone, company_id, rules, rules_toml in rows:
        state = ContactState(contact.state)
        schedule_spec = (schedule or {}).get("spec")
        campaign_status = CampaignStatus(status)
        judged = None
        if state is ContactState.READY and campaign_status is not CampaignStatus.STOPPED:
            judged = Judged(
                make_subscriber(contact.phone, contact.subscriber_key, contact.timezone, contact.tz_candidates or (),
                                contact.subscriber_zones or ()),
                await subscriber_history(conn, company_id, contact.subscriber_key, now),
                StoredRules(rules, rules_toml).dialing_rule_set(dial_lead_seconds),
            )
        reports.append(
            ContactWhy(
                contact_id=contact.id,
                campaign=campaign_name,
                campaign_status=campaign_status,
                phone=contact.phone,
                subscriber_key=contact.subscriber_key,
                name=contact.name,
                timezone=contact.timezone,
                tz_source=contact.tz_source,
                tz_candidates=tuple(contact.tz_candidates or ()),
                subscriber_zones=tuple(contact.subscriber_zones or ()),
                state=state,
                attempts_made=contact.attempts,
                last_outcome=contact.last_outcome,
                next_attempt_at=contact.next_attempt_at,
                lease_owner=contact.lease_owner,
                lease_expires_at=contact.lease_expires_at,
                attempts=tuple(attempts.get(contact.id, ())),
                decisions=tuple(decisions.get(contact.id, ())),
                next_dial=explain_next_dial(
                    state=state,
                    campaign_status=campaign_status,
                    next_attempt_at=contact.next_attempt_at,
                    last_outcome=contact.last_outcome,
                    lease_owner=contact.lease_owner,
                    timezone=contact.timezone,
                    now=now,
                    schedule=parse_schedule(schedule_spec) if schedule_spec else None,
                    company_zone=_zone(company_zone),
                    judged=judged,
                ),
            )
        )
    return reports


async def _attempts(session: AsyncSession, contact_ids: Sequence[int]) -> dict[int, list[AttemptLine]]:
    rows = await session.execute(
        select(Attempt, Trunk.name)
        .outerjoin(Trunk, Trunk.id == Attempt.trunk_id)
        .where(Attempt.contact_id.in_(contact_ids))
        .order_by(Attempt.created_at, Attempt.id)
    )
    result: dict[int, list[AttemptLine]] = {}
    for attempt, trunk in rows.all():
        result.setdefault(attempt.contact_id, []).append(
            AttemptLine(
                at=attempt.created_at,
                trunk=trunk,
                worker=attempt.worker_id,
                channel_id=attempt.channel_id,
                state=attempt.state,
                outcome=attempt.outcome,
                hangup_cause=attempt.hangup_cause,
                hangup_text=cause_text(attempt.hangup_cause),
                amd_status=attempt.amd_status,
                amd_cause=attempt.amd_cause,
                billsec=attempt.billsec,
                ring_seconds=attempt.ring_seconds,
                answered_at=attempt.answered_at,
                ended_at=attempt.ended_at,
            )
        )
    return result


async def _decisions(session: AsyncSession, contact_ids: Sequence[int]) -> dict[int, list[DecisionLine]]:
    rows = await session.scalars(
        select(DecisionLog).where(DecisionLog.contact_id.in_(contact_ids)).order_by(DecisionLog.at, DecisionLog.id)
    )
    result: dict[int, list[DecisionLine]] = {}
    for row in rows:
        result.setdefault(row.contact_id, []).append(
            DecisionLine(row.at, row.worker_id, row.allowed, _reasons(row.reasons), row.next_allowed_at)
        )
    return result
