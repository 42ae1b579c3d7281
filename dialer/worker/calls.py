"""One call's life in a worker: Originate with the attempt's ChannelId, follow it, record its end.

The attempt row (with the ChannelId) is already committed when this starts (dialer.reservations),
so whatever happens here, the call can be found again:

- Asterisk refused the Originate (`OriginateRejected`): nothing was dialled; the attempt ends
  `failed` and the retry policy applies (a bad dial string must not loop).
- The originate never left us (no AMI session; the client did not track it): the attempt is
  deleted and the contact goes back to `ready` untouched: nothing happened.
- The AMI link dropped while the Originate was in flight: the client keeps tracking the ChannelId
  and settles the call on resync (real outcome, or `lost`), so we wait for that result.
- This worker is cancelled past its shutdown grace: the attempt stays open and the reconciler (of
  another worker, or of this one restarted) settles it from Asterisk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

from ami import (
    AmiClosed,
    AmiConnectionLost,
    AmiTimeout,
    CallResult,
    CheckedVariables,
    OriginateRejected,
    OriginateRequest,
    Outcome,
)
from cdr.errors import CdrError
from cdr.from_ami import record_from_result
from dialer.answered import AnsweredLeg, leg_variables
from dialer.campaigns import CampaignConfig
from dialer.leasing import LeasedContact
from dialer.pacing import ChannelLimiter
from dialer.reservations import Admitted, AttemptRef, ClosedAttempt, close_attempt, undo_attempt
from dialer.retries import MachineAction, ReachedAction
from dialer.worker.context import WorkerContext
from dialer.worker.lanes import TrunkLane
from dialer.worker.reconcile import asterisk_cdr_row, merge_with_asterisk_cdr

__all__ = ["CallPlan", "call_variables", "failed_result", "originate_request", "run_call"]

log = logging.getLogger(__name__)

_VAR_NAME = re.compile(r"[^A-Za-z0-9_]")
_MAX_EXTRA_VARS = 20
_MAX_VALUE = 200


@dataclass(frozen=True, slots=True)
class CallPlan:
    campaign: CampaignConfig
    variables: Mapping[str, str]  # campaign channel variables (campaigns.settings.variables)
    lane: TrunkLane
    contact: LeasedContact
    admitted: Admitted
    limiters: tuple[ChannelLimiter, ...]  # released as soon as the call is over

    @property
    def ref(self) -> AttemptRef:
        return AttemptRef(
            attempt_id=self.admitted.attempt_id, contact_id=self.contact.id, campaign_id=self.campaign.id,
            company_id=self.campaign.company.id, subscriber_key=self.contact.subscriber_key,
            phone=self.contact.phone, attempt_number=self.admitted.attempt_number,
        )


def call_variables(
    campaign: CampaignConfig, campaign_vars: Mapping[str, str], contact: LeasedContact, admitted: Admitted
) -> CheckedVariables:
    """Channel variables: the campaign's own (`settings.variables`), then its answered-leg settings
    (`DIALER_AMD`, `DIALER_AMD_PARAMS`, `DIALER_ROUTE`, `DIALER_MACHINE`, `DIALER_NOTSURE`; these win
    over a raw variable of the same name), the contact's extra list columns as `CONTACT_<NAME>` (for
    routing, bots and recorded messages), and our ids so that the dialplan, AMD events and Asterisk's
    CDR all name the call (`DIALER_CALL_ID`). Values Asterisk could misread are skipped.

    The campaign's part is the same for every call: it is checked once per set of values
    (`_campaign_part`); only the contact's and the attempt's values are checked on each call."""
    part = _campaign_part(campaign, campaign_vars)
    skipped: list[str] = list(part.head_skipped)
    extras = [(f"CONTACT_{_VAR_NAME.sub('_', str(k)).upper()}", _text(v))
              for k, v in list(contact.extra.items())[:_MAX_EXTRA_VARS]]
    extras.append(("DIALER_CALL_ID", _text(admitted.channel_id)))
    first = CheckedVariables.keep_safe(extras, skipped)
    skipped += part.tail_skipped
    ids = CheckedVariables.keep_safe(
        [("DIALER_CONTACT", _text(contact.id)), ("DIALER_ATTEMPT", _text(admitted.attempt_id))], skipped)
    for name in skipped:
        log.warning("channel variable %s of contact %s skipped: unsafe value", name, contact.id)
    return part.head.merged(first, part.tail, ids)


def _text(value: object) -> str:
    return "" if value is None else str(value)[:_MAX_VALUE]


@dataclass(frozen=True, slots=True)
class _CampaignPart:
    head: CheckedVariables  # settings.variables, then the answered-leg settings
    head_skipped: tuple[str, ...]
    tail: CheckedVariables  # DIALER_CAMPAIGN (after the contact's, where the Originate lists it)
    tail_skipped: tuple[str, ...]


def _campaign_part(campaign: CampaignConfig, campaign_vars: Mapping[str, str]) -> _CampaignPart:
    try:
        return _checked_campaign_part(campaign.name, tuple(campaign_vars.items()), campaign.answered,
                                      campaign.machine)
    except TypeError:  # a value that cannot be a cache key: check it on every call
        return _checked_campaign_part.__wrapped__(campaign.name, tuple(campaign_vars.items()), campaign.answered,
                                                  campaign.machine)


# Keyed by the values themselves, so a changed campaign is checked again; bounded (a worker runs a few
# campaigns, each changing now and then).
@functools.lru_cache(maxsize=128)
def _checked_campaign_part(
    name: str, campaign_vars: tuple[tuple[str, Any], ...], answered: AnsweredLeg, machine: MachineAction
) -> _CampaignPart:
    head_skipped: list[str] = []
    tail_skipped: list[str] = []
    pairs = [(key, _text(value)) for key, value in campaign_vars]
    pairs += leg_variables(answered, machine).items()
    head = CheckedVariables.keep_safe(pairs, head_skipped)
    tail = CheckedVariables.keep_safe([("DIALER_CAMPAIGN", _text(name))], tail_skipped)
    return _CampaignPart(head, tuple(head_skipped), tail, tuple(tail_skipped))


def originate_request(plan: CallPlan) -> OriginateRequest:
    trunk = plan.lane.config
    return OriginateRequest(
        channel=trunk.dial_string(plan.contact.phone),
        context=plan.campaign.answered_context,
        exten="s",
        caller_id=plan.campaign.caller_id_for(trunk),
        timeout_s=plan.campaign.dial_timeout_s,
        variables=call_variables(plan.campaign, plan.variables, plan.contact, plan.admitted),
        channel_id=plan.admitted.channel_id,
    )


def failed_result(plan: CallPlan, reason: str, now: Any) -> CallResult:
    """The result of a call Asterisk refused to place (nothing rang)."""
    return CallResult(
        outcome=Outcome.FAILED, hangup_cause=None, hangup_cause_text=reason,
        channel_id=plan.admitted.channel_id, linked_id=None, started_at=plan.admitted.decided_at,
        answered_at=None, ended_at=now, ring_seconds=None, billsec=0, amd_status=None, amd_cause=None,
        originate_reason=None,
    )


async def run_call(ctx: WorkerContext, plan: CallPlan, on_closed: Callable[[ClosedAttempt | None], None]) -> None:
    """The whole call; never raises except CancelledError (a call's failure is not the worker's)."""
    channel_id = plan.admitted.channel_id
    campaign, trunk = plan.campaign.name, plan.lane.name
    result: CallResult | None = None
    started = False
    try:
        try:
            request = originate_request(plan)
        except ValueError as exc:  # the dial template or a value cannot be sent safely
            result = failed_result(plan, f"invalid originate: {exc}", ctx.wall())
        else:
            client = plan.lane.client
            if client is None:
                await _undo(ctx, plan)
                return
            try:
                handle = await client.originate(request)
            except OriginateRejected as exc:
                log.warning("originate %s refused by Asterisk: %s", channel_id, exc.reason)
                result = failed_result(plan, exc.reason, ctx.wall())
            except (AmiConnectionLost, AmiTimeout):
                tracked = client.call(channel_id)
                if tracked is None:  # never sent: nothing to follow
                    await _undo(ctx, plan)
                    return
                handle = tracked
            except AmiClosed:
                await _undo(ctx, plan)
                return
            if result is None:
                started = True
                ctx.metrics.call_started(campaign=campaign, trunk=trunk)
                ctx.live_handles[channel_id] = handle
                result = await handle.result()
                if not result.complete:
                    result = await _complete_from_asterisk_cdr(ctx, result)
    except Exception:
        # A bug must not lose the call: the attempt stays open and the reconciler settles it.
        log.exception("call %s failed in the worker; left to reconciliation", channel_id)
        ctx.live_contacts.discard(plan.contact.id)
        return
    finally:
        ctx.live_handles.pop(channel_id, None)
        for limiter in plan.limiters:
            limiter.release()
        if started and result is None:  # cancelled mid-call
            ctx.metrics.active_calls.labels(trunk).dec()
    await _finish(ctx, plan, result, counted=started, on_closed=on_closed)


async def _complete_from_asterisk_cdr(ctx: WorkerContext, result: CallResult) -> CallResult:
    """The AMI link dropped before this call's end was seen (the AMI layer says `lost`, or answered
    without billsec). Asterisk's CDR, ingested by any worker connected meanwhile, may know: look for
    it a little while before settling for what the AMI layer saw."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.options.reconcile_grace_seconds
    while True:
        try:
            async with ctx.engine.connect() as conn:
                row = await asterisk_cdr_row(conn, result.channel_id)
        except DBAPIError:
            row = None
        if row is not None:
            log.info("call %s completed from Asterisk's CDR after the AMI link dropped", result.channel_id)
            return merge_with_asterisk_cdr(result, row)
        if loop.time() >= deadline or ctx.stopping.is_set():
            return result
        await asyncio.sleep(0.5)


async def _undo(ctx: WorkerContext, plan: CallPlan) -> None:
    try:
        async with ctx.pg.connection() as conn:
            await undo_attempt(conn, attempt_id=plan.admitted.attempt_id, contact_id=plan.contact.id,
                               worker_id=ctx.worker_id)
    except (DBAPIError, psycopg.Error):
        log.exception("could not undo attempt %s; left to reconciliation", plan.admitted.attempt_id)
    finally:
        ctx.live_contacts.discard(plan.contact.id)
        ctx.calls_done.fire()


async def _finish(
    ctx: WorkerContext, plan: CallPlan, result: CallResult, *, counted: bool,
    on_closed: Callable[[ClosedAttempt | None], None],
) -> None:
    closed = await _close(ctx, plan, result)
    try:
        ctx.cdr.submit(record_from_result(
            result, phone=plan.contact.phone, attempt_id=plan.admitted.attempt_id, campaign_id=plan.campaign.id,
            company_id=plan.campaign.company.id, contact_id=plan.contact.id,
            subscriber_key=plan.contact.subscriber_key, trunk=plan.lane.name, worker_id=ctx.worker_id,
        ))
    except (CdrError, ValueError) as exc:  # the attempt row keeps the truth; reconcile reports the gap
        log.error("CDR of %s not queued: %s", result.channel_id, exc)
    if counted:
        ctx.metrics.call_ended(
            campaign=plan.campaign.name, trunk=plan.lane.name, outcome=result.outcome.value,
            answered=result.outcome is Outcome.ANSWERED, billsec=result.billsec, ring_seconds=result.ring_seconds,
        )
    plan.lane.record_end(result.outcome, result.hangup_cause)
    ctx.live_contacts.discard(plan.contact.id)
    ctx.calls_done.fire()
    on_closed(closed)


async def _close(ctx: WorkerContext, plan: CallPlan, result: CallResult) -> ClosedAttempt | None:
    """Close the attempt, retrying through a database hiccup (the result is only in memory here)."""
    delay = 0.2
    for attempt in range(8):
        try:
            async with ctx.pg.connection() as conn:
                return await close_attempt(conn, ref=plan.ref, result=result, policy=plan.campaign.retry,
                                           now=ctx.wall(),
                                           complete_reached=plan.campaign.reached is ReachedAction.COMPLETE)
        except (DBAPIError, psycopg.Error) as exc:
            if attempt == 7:
                log.error("attempt %s not closed (%s); left to reconciliation", plan.admitted.attempt_id, exc)
                return None
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
    return None
