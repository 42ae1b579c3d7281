"""CDRs of the dialer: batched writer, Asterisk's own CDR, reconciliation, metrics, reports, export."""

from cdr._batching import RetryPolicy, WriterStats
from cdr.errors import (
    CdrError,
    CdrEventError,
    CdrExportError,
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
from cdr.writer import CdrWriter

__all__ = [
    "DURATION_BUCKETS",
    "AsteriskCdrRecord",
    "CdrError",
    "CdrEventError",
    "CdrExportError",
    "CdrQueryError",
    "CdrQueueFull",
    "CdrRecord",
    "CdrWriter",
    "CdrWriterClosed",
    "DialerMetrics",
    "Disposition",
    "RetryPolicy",
    "WriterStats",
    "disposition_for_outcome",
    "outcome_for_disposition",
]
