"""The CDR record: one per call attempt, as the dialer hands it to the writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CdrRecord:
    channel_id: str
    phone: str
    created_at: datetime
    outcome: str
    linked_id: str | None = None
    attempt_id: int | None = None
    campaign_id: int | None = None
    company_id: int | None = None
    contact_id: int | None = None
    subscriber_key: str | None = None
    trunk: str | None = None
    worker_id: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_seconds: Decimal | None = None
    billsec: int = 0
    disposition: str | None = None
    hangup_cause: int | None = None
    amd_status: str | None = None
