"""What one worker process does and how long it waits for things (from settings and `dialer run`)."""

from __future__ import annotations

from dataclasses import dataclass

from dialer.settings import DEFAULT_DIAL_LEAD_SECONDS, Settings

__all__ = ["WorkerOptions"]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """`campaigns` empty: every running campaign, and those that start later."""

    campaigns: tuple[str, ...] = ()
    until_done: bool = False
    lease_seconds: float = 60.0
    ready_queue: int = 32
    shutdown_grace_seconds: float = 120.0
    metrics_port: int = 0  # 0: no exporter
    # Safety net for a missed NOTIFY (e.g. contacts added by a tool that does not send one): a leaser
    # with nothing to do still looks again after this long. Not polling: one index probe per campaign.
    idle_recheck_seconds: float = 10.0
    # A dead worker's call whose channel is gone: how long to wait for Asterisk's CDR before `lost`.
    reconcile_grace_seconds: float = 10.0
    # Our CDR against Asterisk's (cdr.Reconciler, `dialer_cdr_mismatch_total`): a pass per interval.
    cdr_reconcile_seconds: float = 60.0
    # PostgreSQL restarting (or sessions terminated) while the worker starts: how long its start-up
    # steps are retried (dialer.worker.startup). A server never reached fails at once.
    startup_retry_seconds: float = 60.0
    # The worker's clock against PostgreSQL's (dialer.worker.clock): no dialing while they disagree more.
    max_clock_skew_seconds: float = 2.0
    # The calling window must stay open this long after a decision (the campaign's rules' end margin
    # when theirs is shorter): the call starts a moment later, on Asterisk's clock.
    dial_lead_seconds: int = DEFAULT_DIAL_LEAD_SECONDS

    @property
    def heartbeat_seconds(self) -> float:
        """Leases and shares are renewed several times per lease, and at least every 2 s so that
        pacing shares follow workers coming and going quickly."""
        return min(2.0, self.lease_seconds / 4)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, campaigns: tuple[str, ...] = (), until_done: bool = False,
        metrics_port: int | None = None,
    ) -> WorkerOptions:
        worker = settings.worker
        return cls(
            campaigns=campaigns,
            until_done=until_done,
            lease_seconds=float(worker.lease_seconds),
            ready_queue=worker.ready_queue,
            shutdown_grace_seconds=float(worker.shutdown_grace_seconds),
            metrics_port=worker.metrics_port if metrics_port is None else metrics_port,
            max_clock_skew_seconds=worker.max_clock_skew_seconds,
            dial_lead_seconds=worker.dial_lead_seconds,
        )
