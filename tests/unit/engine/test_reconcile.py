"""Results rebuilt from Asterisk's CDR (reconciliation of dead workers' calls and dropped AMI links)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ami.calls import CallResult
from ami.outcomes import Outcome
from dialer.worker.reconcile import (
    AsteriskCdrRow,
    OpenAttempt,
    lost_result,
    merge_with_asterisk_cdr,
    result_from_asterisk_cdr,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
ATTEMPT = OpenAttempt(7, "dlr-3-abc", 3, 1, 1, "host:1:aa", "+79131112233", "k", "sim",
                      "ami://u:s@127.0.0.1:5038", T0, 1)


def test_answered_cdr_gives_outcome_billsec_and_amd() -> None:
    row = AsteriskCdrRow("ANSWERED", T0 + timedelta(seconds=4), T0 + timedelta(seconds=12), 8,
                         {"AMDStatus": "HUMAN", "Event": "Cdr"})
    result = result_from_asterisk_cdr(ATTEMPT, row)
    assert result.outcome is Outcome.ANSWERED and result.billsec == 8 and result.amd_status == "HUMAN"
    assert result.ring_seconds == 4 and result.answered_at == T0 + timedelta(seconds=4)
    assert result.channel_id == "dlr-3-abc" and result.complete


def test_unanswered_dispositions_map_to_outcomes() -> None:
    for disposition, outcome in (("BUSY", Outcome.BUSY), ("NO ANSWER", Outcome.NO_ANSWER),
                                 ("CONGESTION", Outcome.CONGESTION), ("FAILED", Outcome.FAILED),
                                 (None, Outcome.FAILED)):
        result = result_from_asterisk_cdr(ATTEMPT, AsteriskCdrRow(disposition, None, T0, 0, {}))
        assert result.outcome is outcome and result.answered_at is None


def test_lost_result_is_incomplete() -> None:
    result = lost_result(ATTEMPT, T0 + timedelta(minutes=1))
    assert result.outcome is Outcome.LOST and not result.complete and result.started_at == T0


def test_incomplete_ami_result_is_completed_by_the_cdr() -> None:
    seen = CallResult(
        outcome=Outcome.LOST, hangup_cause=None, hangup_cause_text=None, channel_id="dlr-3-abc", linked_id="L",
        started_at=T0, answered_at=T0 + timedelta(seconds=3), ended_at=None, ring_seconds=3.0, billsec=0,
        amd_status="HUMAN", amd_cause="HUMAN-1-2", originate_reason=4, complete=False,
    )
    merged = merge_with_asterisk_cdr(seen, AsteriskCdrRow("ANSWERED", None, T0 + timedelta(seconds=9), 6, {}))
    assert merged.outcome is Outcome.ANSWERED and merged.billsec == 6 and merged.complete
    assert merged.amd_status == "HUMAN" and merged.linked_id == "L"  # what the AMI layer saw is kept
    assert merged.answered_at == T0 + timedelta(seconds=3)
