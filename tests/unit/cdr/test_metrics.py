"""The metrics contract the dashboards and alert rules read: names, labels, buckets, series at zero."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ami.outcomes import Outcome
from cdr.metrics import DialerMetrics
from compliance import ReasonCode

LABELS = {
    "dialer_originations_total": {"campaign", "trunk"},
    "dialer_calls_total": {"campaign", "trunk", "outcome"},
    "dialer_active_calls": {"trunk"},
    "dialer_call_billsec_seconds_bucket": {"campaign", "le"},
    "dialer_call_ring_seconds_bucket": {"trunk", "le"},
    "dialer_compliance_blocked_total": {"campaign", "reason"},
    "dialer_trunk_cps_limit": {"trunk"},
    "dialer_ami_connected": {"server"},
    "dialer_contacts_ready": {"campaign"},
    "dialer_cdr_mismatch_total": set(),
}


def _samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    text = generate_latest(registry).decode()
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def test_names_labels_and_buckets() -> None:
    metrics = DialerMetrics(CollectorRegistry())
    metrics.init_labels(campaign="c", trunk="t")
    metrics.call_started(campaign="c", trunk="t")
    metrics.call_ended(campaign="c", trunk="t", outcome="answered", answered=True, billsec=42, ring_seconds=3.5)
    metrics.compliance_blocked_total.labels("c", "cap-day").inc()
    metrics.trunk_cps_limit.labels("t").set(20)
    metrics.ami_connected.labels("127.0.0.1:5038").set(1)
    metrics.contacts_ready.labels("c").set(7)
    metrics.cdr_mismatch_total.inc()
    seen: dict[str, set[str]] = {}
    for name, labels, _ in _samples(metrics.registry):
        seen.setdefault(name, set()).update(labels)
    for name, labels in LABELS.items():
        assert seen.get(name) == labels, (name, seen.get(name))
    buckets = sorted(float(labels["le"]) for name, labels, _ in _samples(metrics.registry)
                     if name == "dialer_call_billsec_seconds_bucket")
    assert buckets[0] == 5 and buckets[-2] == 3600 and buckets[-1] == float("inf")


def test_series_exist_at_zero_before_the_first_event() -> None:
    metrics = DialerMetrics(CollectorRegistry())
    metrics.init_labels(campaign="c", trunk="t")
    zero = {(name, tuple(sorted(labels.items()))) for name, labels, value in _samples(metrics.registry) if value == 0}
    for outcome in Outcome:
        assert ("dialer_calls_total", (("campaign", "c"), ("outcome", outcome.value), ("trunk", "t"))) in zero
    for reason in ReasonCode:
        assert ("dialer_compliance_blocked_total", (("campaign", "c"), ("reason", reason.value))) in zero
    assert ("dialer_originations_total", (("campaign", "c"), ("trunk", "t"))) in zero
