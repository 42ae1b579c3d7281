"""The worker process: campaigns, trunks, heartbeat, shares, reconciliation and graceful stop.

Task ownership (structured concurrency, nothing fire-and-forget):

    Worker.run
    └── services TaskGroup: CDR writer, AMI pool (clients + Asterisk CDR ingest), LISTEN,
        │                   heartbeat (leases, shares, clock check, reconcile), campaign sync, /metrics and
        │                   /healthz (cdr.MetricsServer), CDR reconciliation (cdr.Reconciler)
        └── calls TaskGroup: one task per call in progress
            └── runners TaskGroup: per campaign, a leaser and a dispatcher (each supervised)

Stop (SIGTERM/SIGINT, `--until-done`, or `request_stop()`): runners stop originating and hand back
their queued contacts; calls in progress get `shutdown_grace_seconds` to end; any still up are left
open for reconciliation; CDRs are flushed; the AMI links close; the worker row is marked stopped.

Shares: each heartbeat counts the live workers serving each trunk and campaign (`workers`), and
sets this worker's token-bucket rate and channel limit to its part, never more than what the others'
published shares and open calls leave (dialer.worker.shares): limits hold while workers come and go.
Each heartbeat also reads PostgreSQL's clock: a worker whose own clock is off holds its dialing
(dialer.worker.clock). Every fifth reads each Asterisk server's, which stamps the CDRs (reported only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Coroutine, Mapping
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ami import AmiError, AmiOptions
from cdr.errors import CdrError
from cdr.exporter import MetricsServer
from cdr.metrics import DialerMetrics
from cdr.reconcile import Reconciler as CdrReconciler
from cdr.writer import CdrWriter
from compliance import RuleSet
from dialer.campaigns import CampaignConfig, load_campaign_configs
from dialer.db.models import CampaignStatus
from dialer.db.session import APPLICATION_NAME, make_hot_pool, make_sessionmaker
from dialer.errors import DialerError, NotFoundError
from dialer.pacing import LoopClock, PacingClock
from dialer.reservations import installation_prefix
from dialer.trunks import TrunkConfig
from dialer.worker.campaign import CampaignRunner
from dialer.worker.clock import read_clock
from dialer.worker.context import WorkerContext
from dialer.worker.health import worker_health
from dialer.worker.lanes import AmiPool, TrunkLane
from dialer.worker.listener import Notifications
from dialer.worker.options import WorkerOptions
from dialer.worker.reconcile import Reconciler
from dialer.worker.registry import LiveWorker, begin_beat, end_beat, make_worker_id, mark_stopped, register_worker
from dialer.worker.shares import Allowance, PublishedShare, allowance, parse_shares, share_key
from dialer.worker.signals import STOP_SIGNALS, process_stop_signals
from dialer.worker.startup import StartupSteps, StartupStopped
from dialer.worker.supervisor import supervise

__all__ = ["Worker"]

log = logging.getLogger(__name__)

# A second SIGTERM/SIGINT: the operator (or an orchestrator) is in a hurry; calls in progress still
# get a moment to end before they are left to reconciliation.
_SECOND_SIGNAL_GRACE_S = 5.0

_DONE_STATUSES = (CampaignStatus.FINISHED, CampaignStatus.STOPPED)
_SERVED_STATUSES = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)


class Worker:
    """`await Worker(engine, url, options).run()` -> exit code (0 after a graceful stop)."""

    def __init__(
        self,
        engine: AsyncEngine,
        database_url: str,
        options: WorkerOptions,
        *,
        metrics: DialerMetrics | None = None,
        clock: PacingClock | None = None,
        worker_id: str | None = None,
        ami_options: AmiOptions | None = None,
        asterisk_timezone: str = "UTC",
    ) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.worker_id = worker_id or make_worker_id(self.host, self.pid)
        self.options = options
        self.database_url = database_url
        self.metrics = metrics or DialerMetrics()
        self.metrics.clock_skew_limit_seconds.set(options.max_clock_skew_seconds)
        self.pg: AsyncConnectionPool[Any] = make_hot_pool(database_url, name=f"worker-{self.worker_id}",
                                                          application_name=self.application_name)
        # CDR batches through the hot pool: a small batch is one round trip (no pre-ping, no BEGIN).
        self.cdr = CdrWriter(engine, metrics=self.metrics, pool=self.pg)
        self.ctx = WorkerContext(
            worker_id=self.worker_id, engine=engine, sessions=make_sessionmaker(engine), options=options,
            clock=clock or LoopClock(), metrics=self.metrics, cdr=self.cdr, pg=self.pg,
            spawn_call=self._spawn_call,
        )
        self.pool = AmiPool(engine, self.metrics, self.ctx.capacity, options=ami_options,
                            asterisk_timezone=asterisk_timezone, pg=self.pg)
        self.reconciler = Reconciler(self.ctx, self.pool, host=self.host)
        # Our CDR against Asterisk's, for `dialer_cdr_mismatch_total` (issue 8); our calls only
        # (this installation's ChannelId prefix, known once the database is reached: `run`).
        self.cdr_reconciler: CdrReconciler | None = None
        # /metrics and /healthz (issue 8), a service of this worker (0: none).
        self.metrics_server = (
            MetricsServer(self.metrics.registry, port=options.metrics_port, health=self.health)
            if options.metrics_port > 0 else None
        )
        self.runners: dict[int, CampaignRunner] = {}
        self.lanes: dict[int, TrunkLane] = {}
        self.selected: dict[int, CampaignStatus] = {}
        self.started = asyncio.Event()
        self._sync_needed = asyncio.Event()
        self._calls_tg: asyncio.TaskGroup | None = None
        self._runners_tg: asyncio.TaskGroup | None = None
        self._call_tasks: set[asyncio.Task[None]] = set()
        self._beats = 0
        self._asterisk_clock_off: dict[str, bool] = {}
        self._applied: dict[str, Allowance] = {}
        self._stop_signals = 0
        self._grace_cut_at: float | None = None  # loop time; set by a second stop signal
        self._startup = StartupSteps(self.ctx.stopping, deadline_s=options.startup_retry_seconds)

    # Control

    def request_stop(self) -> None:
        """Stop originating now; the run ends once calls in progress end (bounded by the grace)."""
        if not self.ctx.stopping.is_set():
            log.info("worker %s stopping", self.worker_id)
            self.ctx.stopping.set()
            for runner in self.runners.values():
                runner.stop()

    async def health(self) -> str | None:
        """None when healthy (database reachable, an AMI server connected, clocks agree), else why not."""
        return await worker_health(self.ctx.engine, self.pool, clock_problem=self.ctx.clock_guard.problem)

    @property
    def application_name(self) -> str:
        """This worker's sessions in `pg_stat_activity` (unless the URL names them)."""
        return f"{APPLICATION_NAME} {self.worker_id}"

    @property
    def calls_in_progress(self) -> int:
        return len(self._call_tasks)

    # Run

    async def run(self, *, handle_signals: bool = False) -> int:
        """Serve until stopped; 0 after a graceful stop. `handle_signals`: SIGTERM/SIGINT stop the
        worker (a second one cuts the grace for calls in progress short), and stay handled until the
        process exits, so that no stop signal kills it with its default action (dialer.worker.signals)."""
        loop = asyncio.get_running_loop()
        if handle_signals:
            # Before anything else: a SIGTERM during start-up is a stop request, not a kill.
            process_stop_signals.install()
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self._on_stop_signal, sig)
            if process_stop_signals.received:
                self._on_stop_signal(signal.SIGTERM)
        try:
            if self.ctx.stopping.is_set():
                log.info("worker %s stopped before it started", self.worker_id)
                return 0
            if self.options.campaigns:
                await self._startup.run("campaign check", self._check_selection)
            if self.metrics_server is not None:
                try:
                    await self.metrics_server.start()  # a port in use fails the start, naming it
                except CdrError as exc:
                    raise DialerError(f"{exc}; give each worker on a host its own port, or 0 for none") from None
            await self._startup.run("registration", self._register)
            log.info("worker %s started", self.worker_id)
            await self.pg.open(wait=True, timeout=30)
            try:
                await self._run_tasks()
            finally:
                await self.pg.close()
                with contextlib.suppress(Exception):
                    async with self.ctx.engine.begin() as conn:
                        await mark_stopped(conn, worker_id=self.worker_id)
                log.info("worker %s stopped", self.worker_id)
        except StartupStopped as stopped:
            log.info("worker %s stopped while its start-up (%s) waited for the database", self.worker_id, stopped)
        finally:
            if self.metrics_server is not None:
                await self.metrics_server.aclose()
            if handle_signals:
                for sig in STOP_SIGNALS:
                    loop.remove_signal_handler(sig)
                # remove_signal_handler restores the default action (death by SIGTERM): keep
                # absorbing stop signals until the process has exited.
                process_stop_signals.install()
        return 0

    async def _register(self) -> None:
        async with self.ctx.engine.begin() as conn:
            self.ctx.channel_prefix = await installation_prefix(conn)
            self.cdr_reconciler = CdrReconciler(
                self.ctx.engine, metrics=self.metrics, interval=self.options.cdr_reconcile_seconds,
                channel_prefix=self.ctx.channel_prefix)
            await register_worker(conn, worker_id=self.worker_id, host=self.host, pid=self.pid,
                                  campaign_ids=[], trunk_ids=[])

    def _on_stop_signal(self, signum: int) -> None:
        self._stop_signals += 1
        if self._stop_signals == 1:
            log.info("worker %s: %s received", self.worker_id, signal.Signals(signum).name)
            self.request_stop()
            return
        if self._grace_cut_at is None:
            log.warning("worker %s: %s received again; calls in progress get at most %.0fs more",
                        self.worker_id, signal.Signals(signum).name, _SECOND_SIGNAL_GRACE_S)
            self._grace_cut_at = asyncio.get_running_loop().time() + _SECOND_SIGNAL_GRACE_S
            self.request_stop()
            self.ctx.calls_done.fire()  # wake the drain so it sees the shorter deadline

    async def _run_tasks(self) -> None:
        listener = Notifications(self.database_url, application_name=f"{self.application_name} listen",
                                 on_contacts=self._on_contacts_notify,
                                 on_campaign=self._on_campaign_notify, on_resync=self._on_resync)
        stopping = self.ctx.stopping.is_set
        async with asyncio.TaskGroup() as services:
            service_tasks = [
                services.create_task(self.cdr.run(), name="cdr-writer"),
                services.create_task(self.pool.run(), name="ami-pool"),
                services.create_task(supervise("listen", listener.run, should_stop=stopping), name="listen"),
                services.create_task(supervise("heartbeat", self._heartbeat_loop, should_stop=stopping),
                                     name="heartbeat"),
                services.create_task(supervise("campaign-sync", self._sync_loop, should_stop=stopping),
                                     name="campaign-sync"),
            ]
            if self.metrics_server is not None:
                service_tasks.append(services.create_task(self.metrics_server.serve(), name="metrics"))
            if self.cdr_reconciler is not None and self.options.cdr_reconcile_seconds > 0:
                service_tasks.append(services.create_task(self.cdr_reconciler.run(), name="cdr-reconcile"))
            try:
                async with asyncio.TaskGroup() as calls:
                    self._calls_tg = calls
                    async with asyncio.TaskGroup() as runners:
                        self._runners_tg = runners
                        try:
                            await self._startup.run("campaign sync", self._sync_campaigns)
                            await self._startup.run("heartbeat", self._beat)
                        except StartupStopped:
                            log.info("worker %s stopped before its first heartbeat", self.worker_id)
                        else:
                            self.ctx.may_dial.set()
                            self.started.set()
                            if self.options.until_done:
                                self._check_done()
                        await self.ctx.stopping.wait()
                        for runner in self.runners.values():
                            runner.stop()
                    self._runners_tg = None
                    await self._drain_calls()
                self._calls_tg = None
            finally:
                self.request_stop()
                try:
                    async with asyncio.timeout(30):
                        await self.cdr.aclose()
                except TimeoutError:
                    log.error("CDR writer did not flush within 30 s; Asterisk's CDR keeps those calls")
                await self.pool.aclose()
                for task in service_tasks:
                    task.cancel()

    def _spawn_call(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._calls_tg is None:
            coro.close()
            raise RuntimeError("no call may start outside Worker.run")
        task = self._calls_tg.create_task(coro)
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)

    async def _drain_calls(self) -> None:
        grace = self.options.shutdown_grace_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self._call_tasks:
            log.info("waiting up to %.0fs for %d call(s) in progress", grace, len(self._call_tasks))
        while self._call_tasks and (left := self._drain_deadline(deadline) - loop.time()) > 0:
            await self.ctx.calls_done.wait(min(left, 1.0))
        if self._call_tasks:
            log.warning("%d call(s) still up after the grace period; left for reconciliation",
                        len(self._call_tasks))
            for task in list(self._call_tasks):
                task.cancel()

    def _drain_deadline(self, deadline: float) -> float:
        return deadline if self._grace_cut_at is None else min(deadline, self._grace_cut_at)

    # Campaigns

    def _on_contacts_notify(self, campaign_id: int) -> None:
        runner = self.runners.get(campaign_id)
        if runner is not None:
            runner.on_contacts()

    def _on_campaign_notify(self, campaign_id: int) -> None:
        self._sync_needed.set()

    def _on_resync(self) -> None:
        self._sync_needed.set()
        for runner in self.runners.values():
            runner.on_contacts()

    async def _sync_loop(self) -> None:
        while not self.ctx.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.idle_recheck_seconds * 3):
                    await self._sync_needed.wait()
            self._sync_needed.clear()
            if self.ctx.stopping.is_set() or self._runners_tg is None:
                continue
            await self._sync_campaigns()

    async def _load_configs(self) -> tuple[list[CampaignConfig], dict[int, dict[str, str]]]:
        async with self.ctx.sessions() as session:
            if self.options.campaigns:
                configs = await load_campaign_configs(session, names=list(self.options.campaigns))
            else:
                configs = await load_campaign_configs(session, statuses=list(_SERVED_STATUSES))
            rows = (
                await session.execute(
                    text("SELECT id, settings -> 'variables' AS v FROM campaigns WHERE id = ANY(:ids)"),
                    {"ids": [c.id for c in configs]},
                )
            ).all()
        variables = {r.id: {str(k): str(v) for k, v in (r.v or {}).items()} for r in rows}
        return configs, variables

    async def _check_selection(self) -> None:
        """Named campaigns must exist: a typo fails at start, naming the campaign."""
        configs, _ = await self._load_configs()
        missing = sorted(set(self.options.campaigns) - {c.name for c in configs})
        if missing:
            raise NotFoundError(f"campaign(s) {', '.join(map(repr, missing))} do not exist "
                                "(see `dialer campaigns list`)")

    async def _sync_campaigns(self) -> None:
        configs, variables = await self._load_configs()
        seen: set[int] = set()
        for config in configs:
            previous = self.selected.get(config.id)
            self.selected[config.id] = config.status
            if config.status not in _SERVED_STATUSES:
                if config.status is CampaignStatus.DRAFT and previous is not CampaignStatus.DRAFT:
                    log.warning("campaign %s is a draft: nothing is dialled until `dialer campaigns start %s`",
                                config.name, config.name)
                continue
            try:
                rules = self._rules(config)
            except DialerError as exc:
                log.error("campaign %s not served: its rules do not load: %s", config.name, exc)
                continue
            seen.add(config.id)
            lanes = [self._lane(trunk) for trunk in config.trunks]
            runner = self.runners.get(config.id)
            if runner is None:
                self._start_runner(CampaignRunner(self.ctx, config, rules, variables.get(config.id, {}), lanes))
            else:
                runner.update(config, rules, variables.get(config.id, {}), lanes)
        for campaign_id, runner in list(self.runners.items()):
            if campaign_id not in seen:
                runner.stop()
                self.runners.pop(campaign_id)
        if not self.options.campaigns:
            for campaign_id in list(self.selected):
                if campaign_id not in {c.id for c in configs}:
                    self.selected[campaign_id] = CampaignStatus.STOPPED  # no longer running or paused
        if self.options.until_done:
            self._check_done()

    def _rules(self, config: CampaignConfig) -> RuleSet:
        return config.rules.dialing_rule_set(self.options.dial_lead_seconds)

    def _lane(self, trunk: TrunkConfig) -> TrunkLane:
        lane = self.lanes.get(trunk.id)
        if lane is None:
            lane = self.lanes[trunk.id] = TrunkLane(trunk, self.ctx.clock, self.ctx.capacity, self.metrics)
            self.pool.attach(lane)
        else:
            lane.update(trunk)
        return lane

    def _start_runner(self, runner: CampaignRunner) -> None:
        assert self._runners_tg is not None
        self.runners[runner.id] = runner
        self._runners_tg.create_task(self._run_runner(runner), name=f"campaign-{runner.config.name}")
        log.info("serving campaign %s", runner.config.name)

    async def _run_runner(self, runner: CampaignRunner) -> None:
        stopped = lambda: runner.stopped  # noqa: E731
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(supervise(f"leaser {runner.config.name}", runner.lease_loop, should_stop=stopped))
                tg.create_task(supervise(f"dispatcher {runner.config.name}", runner.dispatch_loop,
                                         should_stop=stopped))
        finally:
            try:
                await asyncio.shield(runner.release_queue())
            except Exception:
                log.exception("queued contacts of %s not released; their leases will expire", runner.config.name)

    def _check_done(self) -> None:
        if self.selected and all(status in _DONE_STATUSES for status in self.selected.values()):
            log.info("every selected campaign is finished or stopped")
            self.request_stop()
        elif not self.selected and not self.options.campaigns:
            log.info("no running campaign")
            self.request_stop()

    # Heartbeat, shares, reconciliation

    async def _heartbeat_loop(self) -> None:
        while not self.ctx.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.heartbeat_seconds):
                    await self.ctx.stopping.wait()
            if self.ctx.stopping.is_set():
                # Keep leases of calls still up renewed while they drain.
                while self._call_tasks:
                    await self._beat()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.options.heartbeat_seconds):
                            await self.ctx.calls_done.wait()
                return
            await self._beat()
            try:
                await self.reconciler.once()
            except Exception:
                log.exception("reconciliation round failed")

    async def _beat(self) -> None:
        """Renew the heartbeat and leases; compute, publish and apply this worker's shares."""
        campaign_ids = sorted(self.runners)
        trunk_ids = sorted(self.lanes)
        # One transaction in two round trips on the hot-path pool (dialer.worker.registry).
        async with self.pg.connection() as conn:
            try:
                async with psycopg.AsyncClientCursor(conn) as cur:
                    view = await begin_beat(cur, stale_after_s=self.options.lease_seconds, trunk_ids=trunk_ids,
                                            campaign_ids=campaign_ids)
                    targets = self._allowances(view.peers, view.usage)
                    # Lower limits apply before they are published, higher ones after (dialer.worker.shares).
                    self._apply_allowances({k: a.lower(self._applied.get(k, a)) for k, a in targets.items()})
                    await end_beat(cur, worker_id=self.worker_id, campaign_ids=campaign_ids, trunk_ids=trunk_ids,
                                   shares={k: PublishedShare(a.channels, a.cps).as_json() for k, a in targets.items()},
                                   lease_seconds=self.options.lease_seconds)
            except BaseException:
                if not conn.closed and conn.pgconn.transaction_status in (TransactionStatus.INTRANS,
                                                                          TransactionStatus.INERROR):
                    await conn.rollback()
                raise
            clock = await read_clock(conn, self.ctx.wall)
        self.metrics.clock_offset_seconds.set(clock.offset_s)
        if self.ctx.clock_guard.update(clock):
            self.ctx.capacity.fire()  # dispatchers waiting for a usable trunk look again
        self._apply_allowances(targets)
        self._beats += 1
        if self._beats % 5 == 1:
            await self._update_ready_gauges()
        await self._read_asterisk_clocks(every=self._beats % 5 == 1)

    async def _read_asterisk_clocks(self, *, every: bool) -> None:
        """Asterisk stamps the CDRs (the record of when each call was placed) with its own clock: its
        offset is reported (`dialer_asterisk_clock_offset_seconds`), and said once when it goes beyond
        `max_clock_skew_seconds` (dialing goes on: decisions use this worker's clock). Every server
        when `every`, else those not read yet."""
        for server in self.pool.connected_servers():
            client = self.pool.client(server)
            if client is None or not (every or server not in self._asterisk_clock_off):
                continue
            try:
                sample = await client.server_clock()
            except AmiError as exc:
                log.debug("no clock reading from %s: %s", server, exc)
                continue
            self.metrics.asterisk_clock_offset_seconds.labels(server).set(sample.offset_s)
            off = sample.beyond(self.options.max_clock_skew_seconds)
            if off != self._asterisk_clock_off.get(server, False):
                if off:
                    log.warning("Asterisk %s's clock is %.1f s off this worker's: its CDR times are off too "
                                "(is NTP running there?)", server, sample.offset_s)
                else:
                    log.info("Asterisk %s's clock agrees with this worker's again", server)
            self._asterisk_clock_off[server] = off

    def _allowances(self, peers: list[LiveWorker], usage: Mapping[str, Mapping[str, int]]) -> dict[str, Allowance]:
        published = {w.id: parse_shares(w.shares) for w in peers if w.id != self.worker_id}
        out: dict[str, Allowance] = {}

        def compute(key: str, serving: list[str], channels: int | None, cps: float | None) -> Allowance:
            return allowance(
                me=self.worker_id, channel_limit=channels, cps_limit=cps, serving=serving,
                published={w: shares[key] for w, shares in published.items() if key in shares},
                open_calls=usage.get(key, {}),
            )

        for trunk_id, lane in self.lanes.items():
            key = share_key("trunk", trunk_id)
            serving = [w.id for w in peers if trunk_id in w.trunk_ids]
            out[key] = compute(key, serving, lane.config.max_channels, float(lane.config.cps_limit))
        for campaign_id, runner in self.runners.items():
            key = share_key("campaign", campaign_id)
            serving = [w.id for w in peers if campaign_id in w.campaign_ids]
            config = runner.config
            out[key] = compute(key, serving, config.max_channels,
                               None if config.cps_limit is None else float(config.cps_limit))
        return out

    def _apply_allowances(self, allowances: Mapping[str, Allowance]) -> None:
        for key, a in allowances.items():
            kind, _, ident = key.partition(":")
            if kind == "trunk" and (lane := self.lanes.get(int(ident))) is not None:
                lane.apply_share(a.cps or 0.0, a.channels)
            elif kind == "campaign" and (runner := self.runners.get(int(ident))) is not None:
                runner.apply_share(a.cps, a.channels if runner.config.max_channels is not None else None)
            self._applied[key] = a

    async def _update_ready_gauges(self) -> None:
        if not self.runners:
            return
        async with self.pg.connection() as conn:
            cur = await conn.execute(
                """SELECT campaign_id, count(*) AS n FROM contacts
                    WHERE campaign_id = ANY(%s::int4[]) AND state = 'ready' AND next_attempt_at <= now()
                    GROUP BY campaign_id""",
                (list(self.runners),),
            )
            counts: Mapping[int, int] = {campaign_id: n for campaign_id, n in await cur.fetchall()}
        for campaign_id, runner in self.runners.items():
            self.metrics.contacts_ready.labels(runner.config.name).set(counts.get(campaign_id, 0))
