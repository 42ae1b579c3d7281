"""Campaign lifecycle: the legal status transitions, written once, and the status change with NOTIFY.

draft -> running -> paused <-> running; draft/running/paused/finished -> stopped (final);
running -> finished when no contact is left; finished -> running when new contacts arrive or on start.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from dialer.db.models import Campaign, CampaignStatus, Contact, ContactState
from dialer.errors import ConflictError, NotFoundError

__all__ = [
    "CAMPAIGN_DIALABLE_SQL",
    "CONTACTS_CHANNEL",
    "NOTIFY_CHANNEL",
    "TRANSITIONS",
    "USER_ACTIONS",
    "Action",
    "IllegalTransitionError",
    "after_contacts_added",
    "apply_action",
    "campaign_dialable",
    "finish_if_exhausted",
    "notify_campaign",
    "reopen_if_finished",
    "transition",
]

# Every function takes the caller's session or connection, in the caller's transaction.
Db = AsyncSession | AsyncConnection

# Workers LISTEN on this channel; the payload is the campaign id. Sent inside the transaction that
# changes the status, so PostgreSQL delivers it only when the change is committed.
NOTIFY_CHANNEL = "dialer_campaigns"
# Workers also LISTEN here for "contacts became ready" (payload: campaign id), see dialer.leasing.
CONTACTS_CHANNEL = "dialer_contacts"


class Action(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    FINISH = "finish"  # by a worker: no ready or dialing contact left
    REOPEN = "reopen"  # by a list import: new contacts for a finished campaign


USER_ACTIONS = frozenset({Action.START, Action.PAUSE, Action.RESUME, Action.STOP})

_S = CampaignStatus
TRANSITIONS: Mapping[tuple[CampaignStatus, Action], CampaignStatus] = MappingProxyType({
    (_S.DRAFT, Action.START): _S.RUNNING,
    (_S.FINISHED, Action.START): _S.RUNNING,
    (_S.RUNNING, Action.PAUSE): _S.PAUSED,
    (_S.PAUSED, Action.RESUME): _S.RUNNING,
    (_S.DRAFT, Action.STOP): _S.STOPPED,
    (_S.RUNNING, Action.STOP): _S.STOPPED,
    (_S.PAUSED, Action.STOP): _S.STOPPED,
    (_S.FINISHED, Action.STOP): _S.STOPPED,
    (_S.RUNNING, Action.FINISH): _S.FINISHED,
    (_S.FINISHED, Action.REOPEN): _S.RUNNING,
})


class IllegalTransitionError(ConflictError):
    def __init__(self, campaign: str, status: CampaignStatus, action: Action) -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is status and a in USER_ACTIONS)
        hint = f"allowed now: {', '.join(allowed)}" if allowed else "a stopped campaign is final"
        super().__init__(f"campaign {campaign!r} is {status.value}: cannot {action.value} ({hint})")
        self.status = status
        self.action = action


def transition(status: CampaignStatus, action: Action, *, campaign: str = "?") -> CampaignStatus:
    """The status after `action`, or IllegalTransitionError."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise IllegalTransitionError(campaign, status, action)
    return target


async def notify_campaign(session: Db, campaign_id: int) -> None:
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": NOTIFY_CHANNEL, "payload": str(campaign_id)}
    )


async def apply_action(session: Db, campaign_id: int, action: Action) -> CampaignStatus:
    """Change the status under a row lock (concurrent changes serialize) and notify the workers."""
    row = (
        await session.execute(
            select(Campaign.name, Campaign.status).where(Campaign.id == campaign_id).with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"campaign id {campaign_id} does not exist")
    target = transition(CampaignStatus(row.status), action, campaign=row.name)
    await _set_status(session, campaign_id, target)
    return target


# `campaign_dialable` as one SQL statement for the hot path on a bare psycopg connection (the gate
# pipelines it with the subscriber lock and the history read, dialer.reservations): the same row lock.
CAMPAIGN_DIALABLE_SQL = "SELECT status = 'running' FROM campaigns WHERE id = %(campaign)s FOR KEY SHARE"


async def campaign_dialable(session: Db, campaign_id: int) -> bool:
    """Whether a new call may be originated for the campaign now; call it in the transaction that
    records the attempt, before originating.

    FOR KEY SHARE: concurrent originations do not block each other, but a status change (FOR UPDATE
    in `apply_action`) waits for them, and every origination after it sees the new status. So once
    `dialer campaigns pause` returns, no worker starts another call, whatever its NOTIFY latency.
    """
    status = await session.scalar(
        select(Campaign.status).where(Campaign.id == campaign_id).with_for_update(read=True, key_share=True)
    )
    return status == CampaignStatus.RUNNING.value


async def _locked_status(session: Db, campaign_id: int) -> CampaignStatus | None:
    status = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id).with_for_update())
    return None if status is None else CampaignStatus(status)


async def _has_open_contacts(session: Db, campaign_id: int) -> bool:
    # A separate statement after the row lock: under READ COMMITTED it sees every contact committed
    # by whoever held the lock before us (a list import that reopened, a worker that finished).
    query = select(
        exists().where(
            Contact.campaign_id == campaign_id,
            Contact.state.in_([ContactState.READY.value, ContactState.DIALING.value]),
        )
    )
    return bool(await session.scalar(query))


async def _set_status(session: Db, campaign_id: int, status: CampaignStatus) -> None:
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=status.value))
    await notify_campaign(session, campaign_id)


async def finish_if_exhausted(session: Db, campaign_id: int) -> bool:
    """running -> finished when no contact is ready or dialing; True if it finished now (workers call it)."""
    if await _locked_status(session, campaign_id) is not CampaignStatus.RUNNING:
        return False
    if await _has_open_contacts(session, campaign_id):
        return False
    await _set_status(session, campaign_id, CampaignStatus.FINISHED)
    return True


async def reopen_if_finished(session: Db, campaign_id: int) -> bool:
    """finished -> running when it has ready contacts again; True if it reopened.

    A list import calls it after inserting its contacts, in the same transaction, just before commit:
    the row lock orders it against `finish_if_exhausted`, so a campaign never stays finished with
    new contacts.
    """
    if await _locked_status(session, campaign_id) is not CampaignStatus.FINISHED:
        return False
    if not await _has_open_contacts(session, campaign_id):
        return False
    await _set_status(session, campaign_id, CampaignStatus.RUNNING)
    return True


async def after_contacts_added(session: Db, campaign_id: int) -> bool:
    """After new contacts were committed (a list import): reopen a finished campaign, wake workers.

    Call it after the import's commit (or at the end of its transaction): either order against a
    worker's `finish_if_exhausted` ends with the campaign running. True if it reopened.
    """
    reopened = await reopen_if_finished(session, campaign_id)
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": CONTACTS_CHANNEL, "payload": str(campaign_id)}
    )
    return reopened
