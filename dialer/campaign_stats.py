"""Live counts of a campaign (`dialer campaigns show`, API stats): contacts, attempts, held back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cdr.results import RESULT_COUNTS_SQL, ContactResult
from dialer.db.models import ContactState

__all__ = ["IN_FLIGHT", "CampaignStats", "campaign_stats", "reason_code", "reason_kind"]

IN_FLIGHT = "in_flight"  # attempts without an outcome yet

# decision_log.reasons is a list of objects; the code of a reason is its first key found here.
_CODE_KEYS = ("code", "kind", "reason", "rule")


def reason_code(reason: Mapping[str, Any]) -> str:
    for key in _CODE_KEYS:
        value = reason.get(key)
        if isinstance(value, str) and value:
            return value
    return "unspecified"


def reason_kind(code: str) -> str:
    """window / caps / timezone / schedule / do-not-call / other: the columns of the live table
    (compliance ReasonCode)."""
    if code in ("outside-window", "no-window"):
        return "window"
    if code.startswith(("cap-", "attempt-cap-")):
        return "caps"
    if code.startswith("timezone"):
        return "timezone"
    if code.startswith("schedule"):
        return "schedule"
    if code == "do-not-call":
        return "do-not-call"
    return "other"


@dataclass(frozen=True, slots=True)
class CampaignStats:
    campaign_id: int
    contacts: Mapping[str, int]  # by ContactState, every state present
    ready_now: int  # ready and due
    ready_later: int  # ready, waiting for next_attempt_at
    attempts: Mapping[str, int]  # by outcome; IN_FLIGHT for open attempts
    held_back: Mapping[str, int]  # waiting contacts whose latest decision held them back, by reason code
    held_back_by_kind: Mapping[str, int]  # the same by window / caps / timezone / schedule / do-not-call / other
    results: Mapping[str, int]  # contacts by cdr.results.ContactResult, every result present

    @property
    def total_contacts(self) -> int:
        return sum(self.contacts.values())

    @property
    def total_attempts(self) -> int:
        return sum(self.attempts.values())

    def public(self) -> dict[str, Any]:
        return {
            "contacts": dict(self.contacts),
            "contacts_total": self.total_contacts,
            "ready_now": self.ready_now,
            "ready_later": self.ready_later,
            "attempts": dict(self.attempts),
            "attempts_total": self.total_attempts,
            "held_back": dict(self.held_back),
            "held_back_by_kind": dict(self.held_back_by_kind),
            "results": dict(self.results),
        }


_CONTACTS = text(
    """SELECT state, count(*) AS n,
              count(*) FILTER (WHERE state = 'ready' AND next_attempt_at <= :now) AS due
         FROM contacts WHERE campaign_id = :campaign GROUP BY state"""
)
_ATTEMPTS = text(
    """SELECT coalesce(outcome, :in_flight) AS outcome, count(*) AS n
         FROM attempts WHERE campaign_id = :campaign GROUP BY 1 ORDER BY 1"""
)
_RESULTS = text(RESULT_COUNTS_SQL)
# For each waiting contact, its latest decision (index ix_decision_log_contact), grouped by the set
# of reason codes it gave: few distinct sets, and exact counts both by code and by kind.
_HELD_BACK = text(
    f"""SELECT r.codes, count(*) AS n
          FROM contacts c
          JOIN LATERAL (SELECT d.allowed, d.reasons FROM decision_log d WHERE d.contact_id = c.id
                         ORDER BY d.at DESC, d.id DESC LIMIT 1) last ON NOT last.allowed
          CROSS JOIN LATERAL (
                SELECT array_agg(DISTINCT coalesce({", ".join(f"x->>'{k}'" for k in _CODE_KEYS)}, 'unspecified')
                                 ORDER BY coalesce({", ".join(f"x->>'{k}'" for k in _CODE_KEYS)}, 'unspecified'))
                       AS codes
                  FROM jsonb_array_elements(
                       CASE WHEN jsonb_typeof(last.reasons) = 'array' AND jsonb_array_length(last.reasons) > 0
                            THEN last.reasons ELSE '[{{}}]'::jsonb END) x) r
         WHERE c.campaign_id = :campaign AND c.state = 'ready' AND c.next_attempt_at > :now
         GROUP BY r.codes"""
)


async def campaign_stats(session: AsyncSession, campaign_id: int, now: datetime) -> CampaignStats:
    contacts = dict.fromkeys((s.value for s in ContactState), 0)
    ready_now = 0
    for row in await session.execute(_CONTACTS, {"campaign": campaign_id, "now": now}):
        contacts[row.state] = row.n
        ready_now += row.due
    attempts = {
        row.outcome: row.n
        for row in await session.execute(_ATTEMPTS, {"campaign": campaign_id, "in_flight": IN_FLIGHT})
    }
    results = dict.fromkeys((r.value for r in ContactResult), 0)
    for row in await session.execute(_RESULTS, {"campaign": campaign_id}):
        results[row.result] += row.n
    held_back: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for row in await session.execute(_HELD_BACK, {"campaign": campaign_id, "now": now}):
        for code in row.codes:
            held_back[code] = held_back.get(code, 0) + row.n
        for kind in {reason_kind(code) for code in row.codes}:
            by_kind[kind] = by_kind.get(kind, 0) + row.n
    return CampaignStats(
        campaign_id=campaign_id,
        contacts=MappingProxyType(contacts),
        ready_now=ready_now,
        ready_later=contacts[ContactState.READY.value] - ready_now,
        attempts=MappingProxyType(attempts),
        held_back=MappingProxyType(dict(sorted(held_back.items()))),
        held_back_by_kind=MappingProxyType(dict(sorted(by_kind.items()))),
        results=MappingProxyType(results),
    )
