"""A campaign's call lists: the imports, and taking one out of its campaign (withdraw) or back (restore).

A withdrawn list's waiting contacts (due, waiting for a retry or a window, or queued in a worker) are
excluded at once, last outcome `withdrawn`. Those in a call then finish it; the compliance gate
excludes them when they come up again (the campaign's settings name the withdrawn lists, and workers
reload them on the NOTIFY sent here). A restore gives back the contacts the withdrawal excluded, with
their attempts, due times and last outcomes as they were.

Every function takes the caller's AsyncSession and leaves commit to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cdr.results import RESULT_COUNTS_SQL, ContactResult
from dialer.campaigns import campaign_id_by_name
from dialer.db.models import LAST_ATTEMPT_OUTCOME_SQL, CallList, ExcludedBy
from dialer.errors import ConflictError, NotFoundError
from dialer.lifecycle import after_contacts_added, notify_campaign

__all__ = ["MAX_CALL_LIST_ID", "CallListInfo", "ListRestore", "ListWithdrawal", "list_call_lists",
           "restore_call_list", "withdraw_call_list"]

# call_lists.id is a PostgreSQL integer: a larger id names no list.
MAX_CALL_LIST_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class CallListInfo:
    """One import into a campaign, as its summary counted it."""

    id: int
    filename: str
    sha256: str
    imported_at: datetime
    total: int
    imported: int
    duplicates: int
    invalid: int
    dnc: int
    timezone_unknown: int
    reject_report: str | None
    withdrawn_at: datetime | None
    # Its contacts by cdr.results.ContactResult (every result present), as `campaigns show` counts them.
    results: Mapping[str, int]

    @classmethod
    def of(cls, row: CallList, results: Mapping[str, int]) -> CallListInfo:
        return cls(row.id, row.filename, row.sha256, row.imported_at, row.total, row.imported, row.duplicates,
                   row.invalid, row.dnc, row.timezone_unknown, row.reject_report, row.withdrawn_at,
                   MappingProxyType(dict(results)))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "sha256": self.sha256,
            "imported_at": self.imported_at.isoformat(),
            "total": self.total,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "dnc": self.dnc,
            "timezone_unknown": self.timezone_unknown,
            "reject_report": self.reject_report,
            "withdrawn_at": None if self.withdrawn_at is None else self.withdrawn_at.isoformat(),
            "results": dict(self.results),
        }


@dataclass(frozen=True, slots=True)
class ListWithdrawal:
    """`excluded`: waiting contacts excluded now; `in_call`: contacts in a call now, excluded when they
    come up again."""

    campaign: str
    call_list_id: int
    excluded: int
    in_call: int

    def public(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "call_list_id": self.call_list_id, "excluded": self.excluded,
                "in_call": self.in_call}


@dataclass(frozen=True, slots=True)
class ListRestore:
    """`restored`: contacts the withdrawal had excluded, waiting to be dialled again."""

    campaign: str
    call_list_id: int
    restored: int

    def public(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "call_list_id": self.call_list_id, "restored": self.restored}


async def list_call_lists(session: AsyncSession, campaign: str) -> list[CallListInfo]:
    """The campaign's imports, oldest first, each with its contacts counted by result."""
    campaign_id = await campaign_id_by_name(session, campaign)
    rows = list(await session.scalars(
        select(CallList).where(CallList.campaign_id == campaign_id).order_by(CallList.id)))
    results = {row.id: dict.fromkeys((r.value for r in ContactResult), 0) for row in rows}
    for count in await session.execute(text(RESULT_COUNTS_SQL), {"campaign": campaign_id}):
        if count.call_list_id in results:  # None: contacts whose list was deleted
            results[count.call_list_id][count.result] = count.n
    return [CallListInfo.of(row, results[row.id]) for row in rows]


async def _locked_list(session: AsyncSession, campaign: str, call_list_id: int) -> tuple[int, CallList]:
    campaign_id = await campaign_id_by_name(session, campaign)
    row = None
    if 1 <= call_list_id <= MAX_CALL_LIST_ID:
        row = await session.scalar(
            select(CallList).where(CallList.id == call_list_id, CallList.campaign_id == campaign_id).with_for_update()
        )
    if row is None:
        raise NotFoundError(f"call list {call_list_id} is not a list of campaign {campaign!r} "
                            f"(see `dialer lists list --campaign {campaign}`)")
    return campaign_id, row


async def withdraw_call_list(session: AsyncSession, campaign: str, call_list_id: int) -> ListWithdrawal:
    """Take a call list out of its campaign (ConflictError if it is out already)."""
    campaign_id, row = await _locked_list(session, campaign, call_list_id)
    if row.withdrawn_at is not None:
        raise ConflictError(f"call list {call_list_id} of campaign {campaign!r} was withdrawn already, at "
                            f"{row.withdrawn_at.isoformat(timespec='seconds')}")
    await session.execute(text("UPDATE call_lists SET withdrawn_at = now() WHERE id = :id"), {"id": call_list_id})
    params = {"campaign": campaign_id, "list": call_list_id, "withdrawn": ExcludedBy.WITHDRAWN.value}
    excluded = await session.execute(text("""
        UPDATE contacts c SET state = 'excluded', last_outcome = :withdrawn, lease_owner = NULL,
               lease_expires_at = NULL, updated_at = now()
         WHERE c.campaign_id = :campaign AND c.call_list_id = :list
           AND (c.state = 'ready'
                OR (c.state = 'dialing' AND NOT EXISTS (SELECT 1 FROM attempts a
                                                         WHERE a.contact_id = c.id AND a.ended_at IS NULL)))
        """), params)
    # From the open attempts (few, ix_attempts_open), not a second pass over the campaign's contacts.
    in_call = await session.scalar(text(
        """SELECT count(DISTINCT a.contact_id) FROM attempts a JOIN contacts c ON c.id = a.contact_id
            WHERE a.ended_at IS NULL AND a.campaign_id = :campaign AND c.call_list_id = :list"""), params)
    await notify_campaign(session, campaign_id)
    return ListWithdrawal(campaign, call_list_id, int(getattr(excluded, "rowcount", 0) or 0), int(in_call or 0))


async def restore_call_list(session: AsyncSession, campaign: str, call_list_id: int) -> ListRestore:
    """Put a withdrawn call list back into its campaign (ConflictError if it is not withdrawn)."""
    campaign_id, row = await _locked_list(session, campaign, call_list_id)
    if row.withdrawn_at is None:
        raise ConflictError(f"call list {call_list_id} of campaign {campaign!r} is not withdrawn")
    await session.execute(text("UPDATE call_lists SET withdrawn_at = NULL WHERE id = :id"), {"id": call_list_id})
    restored = await session.execute(text(f"""
        UPDATE contacts c SET state = 'ready', last_outcome = {LAST_ATTEMPT_OUTCOME_SQL}, updated_at = now()
         WHERE c.campaign_id = :campaign AND c.call_list_id = :list AND c.state = 'excluded'
           AND c.last_outcome = :withdrawn
        """), {"campaign": campaign_id, "list": call_list_id, "withdrawn": ExcludedBy.WITHDRAWN.value})
    await notify_campaign(session, campaign_id)
    await after_contacts_added(session, campaign_id)
    return ListRestore(campaign, call_list_id, int(getattr(restored, "rowcount", 0) or 0))
