"""Prometheus metrics of a dialer worker, on an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
            "dialer_compliance_blocked", "Contacts held back by compliance", ["campaign", "reason"],
            registry=r,
        )
        self.trunk_cps_limit = Gauge("dialer_trunk_cps_limit", "Configured CPS of a trunk", ["trunk"], registry=r)
        self.ami_connected = Gauge("dialer_ami_connected", "1 when the AMI link is up", ["server"], registry=r)
        self.contacts_ready = Gauge(
            "dialer_contacts_ready", "Contacts eligible to dial now", ["campaign"], registry=r
        )
        self.cdr_mismatch_total = Counter(
            "dialer_cdr_mismatch", "CDR rows that disagree with Asterisk's CDR", registry=r
        )
