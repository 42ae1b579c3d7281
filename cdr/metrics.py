"""Prometheus metrics of a dialer worker, on an injected registry."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ami.outcomes import Outcome
from compliance import ReasonCode

# 5 s ... 60 min: short rings and robocalls up to long conversations.
DURATION_BUCKETS = (5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600)


class DialerMetrics:
    """Every metric the dashboards and alert rules read. One instance per process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.originations_total = Counter(
            "dialer_originations", "Originate actions sent", ["campaign", "trunk"], registry=r
        )
        self.calls_total = Counter(
            "dialer_calls", "Calls ended, by outcome", ["campaign", "trunk", "outcome"], registry=r
        )
        self.active_calls = Gauge("dialer_active_calls", "Calls in progress", ["trunk"], registry=r)
        self.call_billsec_seconds = Histogram(
            "dialer_call_billsec_seconds", "Billed seconds of answered calls", ["campaign"],
            buckets=DURATION_BUCKETS, registry=r,
        )
        self.call_ring_seconds = Histogram(
            "dialer_call_ring_seconds", "Seconds from origination to answer or failure", ["trunk"],
            buckets=DURATION_BUCKETS, registry=r,
        )
        self.compliance_blocked_total = Counter(
            "dialer_compliance_blocked",
            "Contacts held back at the instant of dialing (compliance, do-not-call, a subscriber already reached)",
            ["campaign", "reason"],
            registry=r,
        )
        self.trunk_cps_limit = Gauge("dialer_trunk_cps_limit", "Configured CPS of a trunk", ["trunk"], registry=r)
        self.ami_connected = Gauge("dialer_ami_connected", "1 when the AMI link is up", ["server"], registry=r)
        self.clock_offset_seconds = Gauge(
            "dialer_clock_offset_seconds", "PostgreSQL's clock minus this worker's, at the last heartbeat", registry=r
        )
        self.asterisk_clock_offset_seconds = Gauge(
            "dialer_asterisk_clock_offset_seconds", "An Asterisk server's clock (its CDR times) minus this worker's",
            ["server"], registry=r,
        )
        self.clock_skew_limit_seconds = Gauge(
            "dialer_clock_skew_limit_seconds",
            "This worker's max_clock_skew_seconds: the clock offsets the alert rules compare with it", registry=r,
        )
        self.contacts_ready = Gauge(
            "dialer_contacts_ready", "Contacts eligible to dial now", ["campaign"], registry=r
        )
        self.cdr_mismatch_total = Counter(
            "dialer_cdr_mismatch", "CDR rows that disagree with Asterisk's CDR", registry=r
        )
        # The CDR pipeline itself (cdr/writer, cdr/asterisk_cdr): `table` is cdr or asterisk_cdr.
        self.cdr_rows_written_total = Counter(
            "dialer_cdr_rows_written", "Rows written by the CDR batch writers", ["table"], registry=r
        )
        self.cdr_rows_rejected_total = Counter(
            "dialer_cdr_rows_rejected", "Rows PostgreSQL refused (bad data), logged and skipped", ["table"],
            registry=r,
        )
        self.cdr_write_retries_total = Counter(
            "dialer_cdr_write_retries", "Batch writes retried after a transient database error", ["table"],
            registry=r,
        )
        self.cdr_queue_rows = Gauge(
            "dialer_cdr_queue_rows", "Rows queued in memory, not yet written", ["table"], registry=r
        )
        self.asterisk_cdr_events_total = Counter(
            "dialer_asterisk_cdr_events", "Cdr events received from Asterisk", ["server"], registry=r
        )
        # Labelled children of the per-call metrics, looked up once per label set (`labels()` checks
        # and joins its values and takes a lock each time: ten times a call).
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, name: str, *values: str) -> Any:
        key = (name, *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def init_labels(self, *, campaign: str, trunk: str) -> None:
        """Create the series of one campaign on one trunk at zero.

        `rate()` ignores the increase up to a series' first sample; a series born at zero is counted
        from its first call, so CPS and AHT are right from the start of a campaign.
        """
        self.originations_total.labels(campaign, trunk)
        for outcome in Outcome:
            self.calls_total.labels(campaign, trunk, outcome.value)
        for reason in ReasonCode:
            self.compliance_blocked_total.labels(campaign, reason.value)
        self.call_billsec_seconds.labels(campaign)
        self.call_ring_seconds.labels(trunk)
        self.active_calls.labels(trunk)

    def call_started(self, *, campaign: str, trunk: str) -> None:
        """An Originate was sent."""
        self._child(self.originations_total, "originations", campaign, trunk).inc()
        self._child(self.active_calls, "active", trunk).inc()

    def call_ended(
        self, *, campaign: str, trunk: str, outcome: str, answered: bool, billsec: float,
        ring_seconds: float | None,
    ) -> None:
        """A call started with `call_started` ended.

        Billsec is observed for answered calls only (`answered`: outcome answered), the same calls the
        CDR panels count for AHT (cdr.queries.aht_from_cdr), so Prometheus and the CDR agree.
        """
        self._child(self.active_calls, "active", trunk).dec()
        self._child(self.calls_total, "calls", campaign, trunk, outcome).inc()
        if ring_seconds is not None:
            self._child(self.call_ring_seconds, "ring", trunk).observe(ring_seconds)
        if answered:
            self._child(self.call_billsec_seconds, "billsec", campaign).observe(billsec)
