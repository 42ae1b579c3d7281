"""Trunks as the worker dials through them, and one AMI connection per Asterisk server.

A `TrunkLane` is one trunk's pacing state in this worker: its token bucket (this worker's share of
the trunk's CPS, lowered by congestion back-off), its channel limiter (this worker's share of the
trunk's max channels) and the AMI client of its server. Campaigns that share a trunk share its lane,
so the trunk's limits hold whatever the number of campaigns.

`AmiPool` opens one `AmiClient` per server (`host:port`), keeps retrying servers that are down
(a worker starts even when one Asterisk is away; its trunks are just not usable), ingests that
server's `Cdr` events into `asterisk_cdr` (what reconciliation reads after a crash), and reports
the connection state to the metric `dialer_ami_connected{server}` and to waiting dispatchers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from ami import AmiClient, AmiError, AmiOptions, ConnectionState, Outcome
from cdr.asterisk_cdr import AsteriskCdrIngester, message_fields
from cdr.metrics import DialerMetrics
from dialer.pacing import ChannelLimiter, CongestionControl, PacingClock, Signal, TokenBucket
from dialer.trunks import AmiUrl, TrunkConfig

__all__ = ["CONGESTION_CAUSES", "AmiPool", "TrunkLane", "is_congested"]

log = logging.getLogger(__name__)

# Q.850 34 no circuit/channel available, 38 network out of order: the carrier is saturated.
CONGESTION_CAUSES = frozenset({34, 38})


def is_congested(outcome: Outcome, hangup_cause: int | None) -> bool:
    return outcome is Outcome.CONGESTION or hangup_cause in CONGESTION_CAUSES


class TrunkLane:
    """One trunk's pace in this worker: bucket (CPS share), limiter (channel share), AIMD back-off."""

    def __init__(self, config: TrunkConfig, clock: PacingClock, capacity: Signal, metrics: DialerMetrics) -> None:
        self.config = config
        self._metrics = metrics
        self.cps_share = float(config.cps_limit)
        self.bucket = TokenBucket(self.cps_share, clock)
        # Nothing until the first heartbeat gives this worker its share (dialer.worker.shares).
        self.channels = ChannelLimiter(0, capacity)
        self.congestion = CongestionControl(self.cps_share, clock)
        self.client: AmiClient | None = None
        self.share_paused = True  # this worker's CPS share is zero for now (or not computed yet)
        metrics.trunk_cps_limit.labels(config.name).set(float(config.cps_limit))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def usable(self) -> bool:
        return (
            self.config.enabled and not self.share_paused and self.client is not None and self.client.connected
        )

    def update(self, config: TrunkConfig) -> None:
        self.config = config
        self._metrics.trunk_cps_limit.labels(config.name).set(float(config.cps_limit))

    def apply_share(self, cps: float, channels: int) -> None:
        """This worker's part of the trunk (dialer.worker.shares); a CPS of 0 pauses the lane."""
        self.share_paused = cps <= 0
        if not self.share_paused and abs(cps - self.cps_share) > 1e-9:
            self.cps_share = cps
            self.congestion.set_ceiling(cps)
        self.channels.set_limit(channels)

    @property
    def cps_allowed(self) -> float:
        return 0.0 if self.share_paused else self.cps_share

    def sync_rate(self) -> float:
        """The bucket follows the congestion controller (which recovers with time)."""
        rate = self.congestion.rate()
        if abs(rate - self.bucket.rate) > 1e-9:
            self.bucket.set_rate(rate)
        return rate

    def record_end(self, outcome: Outcome, hangup_cause: int | None) -> None:
        if self.congestion.on_call_end(is_congested(outcome, hangup_cause)):
            log.warning("trunk %s: carrier congestion burst, backing off to %.2f CPS",
                        self.name, self.congestion.rate())


@dataclass(slots=True)
class _Server:
    ami: AmiUrl
    client: AmiClient | None = None
    failures: int = 0
    lanes: list[TrunkLane] = field(default_factory=list)


class AmiPool:
    """One AmiClient per Asterisk server, opened and kept by `run()` (a task of the worker)."""

    def __init__(
        self,
        engine: AsyncEngine,
        metrics: DialerMetrics,
        capacity: Signal,
        *,
        options: AmiOptions | None = None,
        asterisk_timezone: str = "UTC",
        on_state: Callable[[str, ConnectionState], None] | None = None,
        pg: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        self._engine = engine
        self._pg = pg  # the worker's hot-path pool: Asterisk CDR batches written through it
        self._metrics = metrics
        self._capacity = capacity
        self._options = options or AmiOptions(first_connect_timeout=5.0)
        self._tz = asterisk_timezone
        self._on_state = on_state
        self._servers: dict[str, _Server] = {}
        self._changed = Signal()
        self._closing = False

    def attach(self, lane: TrunkLane) -> None:
        """Give the lane its server's client (now, or once the server is reached)."""
        server = self._servers.get(lane.config.ami.server)
        if server is None:
            server = self._servers[lane.config.ami.server] = _Server(lane.config.ami)
            self._changed.fire()
        if lane not in server.lanes:
            server.lanes.append(lane)
        lane.client = server.client

    def want(self, ami: AmiUrl) -> None:
        """Connect to a server even with no lane on it (e.g. to reconcile a dead worker's calls)."""
        if ami.server not in self._servers:
            self._servers[ami.server] = _Server(ami)
            self._changed.fire()

    def client(self, server: str) -> AmiClient | None:
        """The connected client of a server, or None."""
        entry = self._servers.get(server)
        if entry is None or entry.client is None or not entry.client.connected:
            return None
        return entry.client

    def servers(self) -> list[str]:
        """Every server this worker wants a link to (host:port)."""
        return sorted(self._servers)

    def connected_servers(self) -> list[str]:
        return sorted(name for name, s in self._servers.items() if s.client is not None and s.client.connected)

    def clients(self) -> list[AmiClient]:
        return [s.client for s in self._servers.values() if s.client is not None]

    async def run(self) -> None:
        """Open a client for every wanted server, each in its own task that retries until it connects
        (a server that is down delays no other), until cancelled."""
        async with asyncio.TaskGroup() as tg:
            opening: set[str] = set()
            while True:
                changed = self._changed.mark()
                for name, server in self._servers.items():
                    if server.client is None and name not in opening:
                        opening.add(name)
                        tg.create_task(self._keep_opening(server, tg), name=f"ami-open-{name}")
                await self._changed.wait(since=changed)

    async def _keep_opening(self, server: _Server, tg: asyncio.TaskGroup) -> None:
        while True:
            if await self._open(server, tg):
                return
            await asyncio.sleep(min(30.0, 0.5 * 2 ** min(server.failures, 6)))

    async def _open(self, server: _Server, tg: asyncio.TaskGroup) -> bool:
        ami = server.ami
        client = AmiClient(ami.host, ami.port, ami.user, ami.secret, options=self._options,
                           name=f"ami-{ami.server}")
        try:
            await client.open()
        except (AmiError, OSError) as exc:
            server.failures += 1
            self._metrics.ami_connected.labels(ami.server).set(0)
            log.warning("AMI %s unreachable (%s); retrying", ami.server, exc)
            return False
        server.client = client
        server.failures = 0
        client.add_state_listener(functools.partial(self._state_changed, ami.server))
        for lane in server.lanes:
            lane.client = client
        ingester = AsteriskCdrIngester(self._engine, server=ami.server, server_tz=self._tz, metrics=self._metrics,
                                       pool=self._pg)
        tg.create_task(ingester.run(), name=f"asterisk-cdr-{ami.server}")
        tg.create_task(self._ingest(ingester, client), name=f"asterisk-cdr-events-{ami.server}")
        self._capacity.fire()
        # The banner gives the AMI protocol version (e.g. 11.0.0 on Asterisk 22), not Asterisk's.
        log.info("AMI %s connected (AMI protocol %s)", ami.server, client.asterisk_version)
        return True

    async def _ingest(self, ingester: AsteriskCdrIngester, client: AmiClient) -> None:
        try:
            await ingester.consume(message_fields(client.events({"Cdr"})))
        finally:
            # The stream ends when the client closes: write what is queued, within bounds.
            async with asyncio.timeout(10):
                await ingester.aclose()

    def _state_changed(self, server: str, state: ConnectionState) -> None:
        self._metrics.ami_connected.labels(server).set(1 if state is ConnectionState.CONNECTED else 0)
        self._capacity.fire()
        if self._on_state is not None:
            self._on_state(server, state)

    async def aclose(self) -> None:
        """Close every client (their event streams end, so the ingesters flush and stop)."""
        for server in self._servers.values():
            if server.client is not None:
                await server.client.close()
