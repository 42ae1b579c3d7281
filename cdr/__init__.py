"""CDRs of the dialer: batched writer, Asterisk's own CDR, reconciliation, metrics, reports, export."""

from cdr.errors import (
    CdrError,
    CdrEventError,
    CdrExportError,
    CdrFlushTimeout,
    CdrQueryError,
    CdrQueueFull,
    CdrWriterClosed,
)
from cdr.metrics import DURATION_BUCKETS, DialerMetrics
from cdr.records import (
    AsteriskCdrRecord,
    CdrRecord,
    Disposition,
    disposition_for_outcome,
    outcome_for_disposition,
)
from cdr._batching import RetryPolicy
from cdr.writer import CdrWriter

__all__ = [
    "DURATION_BUCKETS",
    "AsteriskCdrRecord",
    "CdrError",
    "CdrEventError",
    "CdrExportError",
    "CdrFlushTimeout",
    "CdrQueryError",
    "CdrQueueFull",
    "CdrRecord",
    "CdrWriter",
    "CdrWriterClosed",
    "DialerMetrics",
    "Disposition",
    "RetryPolicy",
    "disposition_for_outcome",
    "outcome_for_disposition",
]
