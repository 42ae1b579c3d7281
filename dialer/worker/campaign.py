"""One campaign in one worker: a small ready queue kept full by a leaser, drained by a dispatcher.

Leaser: keeps between half and all of `ready_queue` contacts leased, so a free channel never waits
for a database round trip (the "empty hopper" of peer dialers). With nothing due, it sleeps until
the earliest `next_attempt_at`, a NOTIFY, a call of this campaign ending, or `idle_recheck_seconds`.

Contacts whose calling window is closed when they are leased go back at once, in the lease's
transaction, to wait for its opening: the queue holds contacts that may be dialled now.

Dispatcher, for each contact: a free channel (campaign share, then the first usable trunk by
priority), the pace (campaign bucket, then trunk bucket), then the compliance gate at that instant
(dialer.reservations), then the call as a task of the worker. A held-back contact gives its pacing
slot back. Pause (or a closed campaign schedule) stops new originations at once; queued contacts
are handed back; calls in progress finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime

from compliance import RuleSet
from dialer.campaigns import CampaignConfig
from dialer.db.models import CampaignStatus, ContactState
from dialer.leasing import LeasedContact, campaign_progress, earliest_ready_at, lease_contacts, release_leases
from dialer.lifecycle import finish_if_exhausted
from dialer.pacing import ChannelLimiter, Signal, TokenBucket
from dialer.reservations import (
    Admitted,
    CampaignNotDialable,
    ClosedAttempt,
    HeldBack,
    admit_attempt,
    closed_windows,
    hold_closed_windows,
)
from dialer.retries import ReachedAction
from dialer.worker.calls import CallPlan, run_call
from dialer.worker.context import WorkerContext
from dialer.worker.lanes import TrunkLane

__all__ = ["CampaignRunner", "CampaignStats"]

log = logging.getLogger(__name__)


class CampaignStats:
    """Counters of this worker for one campaign (status displays, tests)."""

    def __init__(self) -> None:
        self.admitted = 0
        self.held_window = 0
        self.held_caps = 0
        self.held_other = 0
        self.held_on_lease = 0  # of the hold-backs, those decided when leased (window closed)
        self.lease_lost = 0


class CampaignRunner:
    def __init__(
        self,
        ctx: WorkerContext,
        config: CampaignConfig,
        rules: RuleSet,
        variables: Mapping[str, str],
        lanes: Sequence[TrunkLane],
    ) -> None:
        self.ctx = ctx
        self.config = config
        self._gate_closed = False
        self.rules = rules
        self.variables = dict(variables)
        self.lanes = list(lanes)
        self.queue: deque[LeasedContact] = deque()
        self.capacity = max(1, ctx.options.ready_queue)
        self.wake = Signal()  # contacts may be due, config changed, stop
        self._queue_changed = Signal()
        self._queue_low = Signal()
        self.in_flight = 0
        self.stats = CampaignStats()
        self._stopped = False
        self.finished = False
        cps = None if config.cps_limit is None else float(config.cps_limit)
        self.bucket = TokenBucket(cps, ctx.clock) if cps else None
        self.cps_share = cps
        # No own limits until the next heartbeat computes this worker's share (dialer.worker.shares).
        self.share_paused = self.bucket is not None
        self.channels = ChannelLimiter(0, ctx.capacity) if config.max_channels is not None else None
        for lane in self.lanes:
            ctx.metrics.init_labels(campaign=config.name, trunk=lane.name)

    @property
    def id(self) -> int:
        return self.config.id

    @property
    def active(self) -> bool:
        """Originations allowed now: running, and inside the campaign's own schedule."""
        return (
            not self._stopped
            and not self._gate_closed
            and not self.ctx.stopping.is_set()
            and self.config.status is CampaignStatus.RUNNING
            and self.config.schedule_open(self.ctx.wall())
        )

    def update(self, config: CampaignConfig, rules: RuleSet, variables: Mapping[str, str],
               lanes: Sequence[TrunkLane]) -> None:
        self.config = config
        self._gate_closed = False
        self.rules = rules
        self.variables = dict(variables)
        self.lanes = list(lanes)
        if config.cps_limit is None:
            self.bucket = None
            self.share_paused = False
        elif self.bucket is None:
            self.bucket = TokenBucket(float(config.cps_limit), self.ctx.clock)
            self.share_paused = True  # until the next heartbeat
        if config.max_channels is None:
            self.channels = None
        elif self.channels is None:
            self.channels = ChannelLimiter(0, self.ctx.capacity)
        self.wake.fire()
        self.ctx.capacity.fire()

    def apply_share(self, cps: float | None, channels: int | None) -> None:
        """This worker's part of the campaign's limits (dialer.worker.shares); CPS 0 pauses dialing."""
        if self.bucket is not None and cps is not None:
            self.share_paused = cps <= 0
            if cps > 0:
                self.cps_share = cps
                self.bucket.set_rate(cps)
        if self.channels is not None and channels is not None:
            self.channels.set_limit(channels)
        self.ctx.capacity.fire()

    def stop(self) -> None:
        self._stopped = True
        self.wake.fire()
        self._queue_changed.fire()
        self._queue_low.fire()
        self.ctx.capacity.fire()

    @property
    def stopped(self) -> bool:
        return self._stopped or self.ctx.stopping.is_set()

    def on_contacts(self) -> None:
        """NOTIFY dialer_contacts for this campaign."""
        self.wake.fire()

    # Leaser

    async def lease_loop(self) -> None:
        while not self.stopped:
            # A wake (new contacts, a stop) during the awaits below must end the idle wait they lead to.
            woken = self.wake.mark()
            if not self.active:
                await self._wait_until_active(woken)
                continue
            room = self.capacity - len(self.queue)
            if self.queue and room < self.capacity // 2 + 1:
                await self._queue_low.wait(self.ctx.options.idle_recheck_seconds)
                continue
            async with self.ctx.pg.connection() as conn, conn.transaction():
                leased = await lease_contacts(conn, campaign_id=self.id, worker_id=self.ctx.worker_id,
                                              limit=room, lease_seconds=self.ctx.options.lease_seconds)
                # Those whose window is closed go straight back (dialer.reservations.hold_closed_windows);
                # not while this worker's clock is in doubt.
                closed = [] if self.ctx.clock_held else closed_windows(leased, self.ctx.wall(), self.rules)
                held = await hold_closed_windows(conn, worker_id=self.ctx.worker_id, held=closed)
            for contact, hold in closed:
                if contact.id in held:
                    self._count_hold_back(hold)
            self.stats.held_on_lease += len(held)
            ready = [contact for contact in leased if contact.id not in held]
            if self.stopped or not self.active:
                await self._release(ready)
                continue
            if ready:
                self.queue.extend(ready)
                self._queue_changed.fire()
            if leased:
                continue
            await self._idle(woken)

    async def _idle(self, woken: asyncio.Event) -> None:
        """Nothing due now: maybe finished; else sleep until the earliest due contact or a wake-up."""
        if not self.queue and self.in_flight == 0 and await self._finish_if_done(woken):
            return
        async with self.ctx.engine.connect() as conn:
            earliest = await earliest_ready_at(conn, campaign_id=self.id)
        wait = self.ctx.options.idle_recheck_seconds
        if earliest is not None:
            wait = min(wait, max(0.05, (earliest - self.ctx.wall()).total_seconds() + 0.01))
        await self.wake.wait(wait, since=woken)

    async def _finish_if_done(self, woken: asyncio.Event) -> bool:
        async with self.ctx.engine.connect() as conn:
            progress = await campaign_progress(conn, campaign_id=self.id)
        if not progress.finished:
            return False
        async with self.ctx.sessions() as session, session.begin():
            if await finish_if_exhausted(session, self.id):
                log.info("campaign %s finished: no contact left to dial", self.config.name)
        self.finished = True
        await self.wake.wait(self.ctx.options.idle_recheck_seconds, since=woken)
        return True

    async def _wait_until_active(self, woken: asyncio.Event) -> None:
        if self.queue:
            await self._release(list(self.queue))
            self.queue.clear()
        wait: float | None = self.ctx.options.idle_recheck_seconds
        if self.config.status is CampaignStatus.RUNNING and self.config.schedule is not None:
            now = self.ctx.wall()
            opens: datetime = self.config.schedule.next_open(now, self.config.zone)
            wait = min(wait or 3600.0, max(0.05, (opens - now).total_seconds()))
        await self.wake.wait(wait, since=woken)

    async def _release(self, contacts: Sequence[LeasedContact]) -> None:
        if not contacts:
            return
        async with self.ctx.engine.begin() as conn:
            await release_leases(conn, worker_id=self.ctx.worker_id, contact_ids=[c.id for c in contacts])

    async def release_queue(self) -> None:
        """Hand back every queued (not dialled) contact, e.g. at shutdown."""
        queued = list(self.queue)
        self.queue.clear()
        await self._release(queued)

    # Dispatcher

    async def dispatch_loop(self) -> None:
        await self.ctx.may_dial.wait()
        while not self.stopped:
            if not self.active:
                await self.wake.wait(self.ctx.options.idle_recheck_seconds)
                continue
            if not self.queue:
                self._queue_low.fire()
                await self._queue_changed.wait(self.ctx.options.idle_recheck_seconds)
                continue
            held = await self._acquire_channel()
            if held is None:
                continue
            await self._dial_next(*held)

    async def _acquire_channel(self) -> tuple[TrunkLane, tuple[ChannelLimiter, ...]] | None:
        """A channel on the campaign's share and on the first usable trunk (priority order), with the
        limiters to release when the call is over."""
        while self.active and self.queue:
            campaign = self.channels
            if not self.share_paused and not self.ctx.clock_held and (campaign is None or campaign.available > 0):
                for lane in self.lanes:
                    if lane.usable and lane.channels.try_acquire():
                        if campaign is None:
                            return lane, (lane.channels,)
                        campaign.try_acquire()
                        return lane, (lane.channels, campaign)
            await self.ctx.capacity.wait(self.ctx.options.idle_recheck_seconds)
        return None

    async def _dial_next(self, lane: TrunkLane, limiters: tuple[ChannelLimiter, ...]) -> None:
        clock = self.ctx.clock
        campaign_slot = self.bucket.reserve() if self.bucket is not None else None
        if campaign_slot is not None and campaign_slot > clock.monotonic():
            await clock.sleep_until(campaign_slot)
        lane.sync_rate()
        trunk_slot = lane.bucket.reserve()
        if trunk_slot > clock.monotonic():
            await clock.sleep_until(trunk_slot)

        def refund() -> None:
            lane.bucket.refund(trunk_slot)
            if self.bucket is not None and campaign_slot is not None:
                self.bucket.refund(campaign_slot)

        def release() -> None:
            for limiter in limiters:
                limiter.release()

        if not self.active or not self.queue or not lane.usable or self.ctx.clock_held:
            refund()
            release()
            return
        contact = self.queue.popleft()
        if len(self.queue) <= self.capacity // 2:
            self._queue_low.fire()
        if contact.id in self.ctx.live_contacts:
            # Leased again while this process dials it (a peer took us for dead and handed our queue
            # back): its call decides what comes next, and its mark stays for the reconciler.
            refund()
            release()
            self.stats.lease_lost += 1
            return
        self.ctx.live_contacts.add(contact.id)
        try:
            # The gate is its own transaction on an autocommit connection (dialer.reservations).
            async with self.ctx.pg.connection() as conn:
                gate = await admit_attempt(
                    conn, contact=contact, company_id=self.config.company.id, rules=self.rules,
                    trunk_id=lane.config.id, worker_id=self.ctx.worker_id,
                    lease_seconds=self.ctx.options.lease_seconds, now=self.ctx.wall,
                    channel_prefix=self.ctx.channel_prefix,
                    complete_reached=self.config.reached is ReachedAction.COMPLETE,
                    withdrawn=contact.call_list_id in self.config.withdrawn_lists,
                )
        except BaseException:
            self.ctx.live_contacts.discard(contact.id)
            refund()
            release()
            self.queue.appendleft(contact)
            raise
        if isinstance(gate, Admitted):
            self.stats.admitted += 1
            self.in_flight += 1
            plan = CallPlan(self.config, self.variables, lane, contact, gate, limiters)
            self.ctx.spawn_call(run_call(self.ctx, plan, self._on_closed))
            return
        self.ctx.live_contacts.discard(contact.id)
        refund()
        release()
        if isinstance(gate, CampaignNotDialable):
            # Paused or stopped under us (its NOTIFY may still be on the way): dial nothing more
            # until the campaign's status is read again (`update`).
            self.queue.appendleft(contact)
            self._gate_closed = True
            log.info("campaign %s is not dialable any more (paused or stopped)", self.config.name)
            return
        if isinstance(gate, HeldBack):
            self._count_hold_back(gate)
        else:
            self.stats.lease_lost += 1

    def _count_hold_back(self, held: HeldBack) -> None:
        codes = held.codes
        for code in codes:
            self.ctx.metrics.compliance_blocked_total.labels(self.config.name, code).inc()
        if "outside-window" in codes:
            self.stats.held_window += 1
        elif any(code.startswith(("cap-", "attempt-cap-")) for code in codes):
            self.stats.held_caps += 1
        else:
            self.stats.held_other += 1

    def _on_closed(self, closed: ClosedAttempt | None) -> None:
        self.in_flight -= 1
        if closed is not None and closed.step.state is ContactState.READY:
            self.wake.fire()  # a retry is scheduled: the leaser recomputes its earliest due time
        elif self.in_flight == 0 and not self.queue:
            self.wake.fire()  # maybe the campaign is finished
