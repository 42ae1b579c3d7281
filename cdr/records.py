"""The CDR records: the dialer's row per call attempt and Asterisk's own CDR, as values."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any


class Disposition(enum.StrEnum):
    """Asterisk's CDR dispositions (cdr.c `ast_cdr_disp2str`), the vocabulary of `cdr.disposition`."""

    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO ANSWER"
    BUSY = "BUSY"
    FAILED = "FAILED"
    CONGESTION = "CONGESTION"


# The disposition Asterisk writes for each dialer outcome (ami.Outcome values). Outcomes that Asterisk
# cannot tell apart collapse: an unallocated number (Q.850 cause 1) or a rejected call end the
# originated leg before answer, which Asterisk records as NO ANSWER unless the cause was busy or
# congestion (cdr.c maps only AST_CAUSE_BUSY and AST_CAUSE_CONGESTION to their own dispositions).
_OUTCOME_DISPOSITION: dict[str, Disposition] = {
    "answered": Disposition.ANSWERED,
    "busy": Disposition.BUSY,
    "no_answer": Disposition.NO_ANSWER,
    "congestion": Disposition.CONGESTION,
    "invalid_number": Disposition.NO_ANSWER,
    "rejected": Disposition.NO_ANSWER,
    "failed": Disposition.FAILED,
}

OUTCOME_DISPOSITIONS: Mapping[str, Disposition] = MappingProxyType(_OUTCOME_DISPOSITION)

# The dialer outcome a row rebuilt from Asterisk's CDR gets (reconcile): the coarsest honest one.
_DISPOSITION_OUTCOME: dict[Disposition, str] = {
    Disposition.ANSWERED: "answered",
    Disposition.BUSY: "busy",
    Disposition.NO_ANSWER: "no_answer",
    Disposition.CONGESTION: "congestion",
    Disposition.FAILED: "failed",
}


def disposition_for_outcome(outcome: str) -> Disposition | None:
    """The Asterisk disposition matching a dialer outcome; None for `lost` (nothing was observed)."""
    return _OUTCOME_DISPOSITION.get(outcome)


def outcome_for_disposition(disposition: str | None) -> str:
    """The dialer outcome of a call known only from Asterisk's CDR."""
    try:
        return _DISPOSITION_OUTCOME[Disposition(disposition or "")]
    except ValueError:
        return "failed"


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC instants), got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class CdrRecord:
    """One call attempt as the dialer saw it. Instants are timezone-aware; `channel_id` is the key."""

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

    def __post_init__(self) -> None:
        # A naive datetime would be read in the session's zone by PostgreSQL: refuse it here.
        _require_aware("created_at", self.created_at)
        _require_aware("answered_at", self.answered_at)
        _require_aware("ended_at", self.ended_at)
        if not self.channel_id:
            raise ValueError("channel_id must not be empty")


@dataclass(frozen=True, slots=True)
class AsteriskCdrRecord:
    """One `Cdr` event of Asterisk's cdr_manager, with its instants converted to UTC-aware datetimes."""

    unique_id: str
    linked_id: str | None
    server: str | None
    disposition: str | None
    start_at: datetime | None
    answer_at: datetime | None
    end_at: datetime | None
    duration: int | None
    billsec: int | None
    channel: str | None = None
    destination: str | None = None
    amd_status: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
