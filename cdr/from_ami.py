"""The CDR record of a call the AMI layer followed to its end (`ami.CallResult`)."""

from __future__ import annotations

from decimal import Decimal

from ami import CallResult
from cdr.records import CdrRecord, disposition_for_outcome

__all__ = ["record_from_result"]


def record_from_result(
    result: CallResult,
    *,
    phone: str,
    attempt_id: int | None = None,
    campaign_id: int | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    subscriber_key: str | None = None,
    trunk: str | None = None,
    worker_id: str | None = None,
) -> CdrRecord:
    """One CdrRecord from a CallResult; the disposition is the one Asterisk's CDR should agree with."""
    disposition = disposition_for_outcome(result.outcome.value)
    return CdrRecord(
        channel_id=result.channel_id,
        linked_id=result.linked_id,
        phone=phone,
        created_at=result.started_at,
        answered_at=result.answered_at,
        ended_at=result.ended_at,
        outcome=result.outcome.value,
        attempt_id=attempt_id,
        campaign_id=campaign_id,
        company_id=company_id,
        contact_id=contact_id,
        subscriber_key=subscriber_key,
        trunk=trunk,
        worker_id=worker_id,
        ring_seconds=None if result.ring_seconds is None else Decimal(f"{result.ring_seconds:.3f}"),
        billsec=result.billsec,
        disposition=disposition.value if disposition is not None else None,
        hangup_cause=result.hangup_cause,
        amd_status=result.amd_status,
    )
