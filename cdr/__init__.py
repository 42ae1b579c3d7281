"""CDRs of the dialer: batched writer, Asterisk's own CDR, reconciliation, metrics, reports, export.

    writer = CdrWriter(engine, batch_size=500, flush_interval=1.0, metrics=metrics)
    ingester = AsteriskCdrIngester(engine, server="pbx1", server_tz="Europe/Moscow", metrics=metrics)
    async with MetricsServer(metrics.registry, port=9108), asyncio.TaskGroup() as tg:
        tg.create_task(writer.run())
        tg.create_task(ingester.run())
        tg.create_task(ingester.consume(message_fields(ami_client.events({"Cdr"}))))
        writer.submit(record_from_result(call_result, phone=..., campaign_id=..., ...))
        ...
        await writer.aclose(); await ingester.aclose()

`cdr.api` (FastAPI router) and `cdr.dashboard` (Grafana JSON generator) are imported on their own.
"""

from cdr._batching import RetryPolicy, WriterStats
from cdr.asterisk_cdr import AsteriskCdrIngester, CdrEventSource, message_fields, parse_cdr_event
from cdr.errors import (
    CdrError,
    CdrEventError,
    CdrExportError,
    CdrQueryError,
    CdrQueueFull,
    CdrUnknownCampaignError,
    CdrWriterClosed,
)
from cdr.export import ExportFilter, ExportFormat, export_csv, export_xlsx
from cdr.exporter import DEFAULT_METRICS_PORT, MetricsServer
from cdr.from_ami import record_from_result
from cdr.metrics import DURATION_BUCKETS, DialerMetrics
from cdr.queries import (
    PanelQuery,
    Period,
    aht_from_cdr,
    calls_by_duration,
    calls_by_status,
    contacts_by_state,
    cps_from_cdr,
    dashboard_queries,
    run_query,
)
from cdr.reconcile import Mismatch, MismatchKind, Reconciler, ReconcileReport, reconcile
from cdr.records import (
    AsteriskCdrRecord,
    CdrRecord,
    Disposition,
    disposition_for_outcome,
    outcome_for_disposition,
)
from cdr.writer import CdrWriter

__all__ = [
    "DEFAULT_METRICS_PORT",
    "DURATION_BUCKETS",
    "AsteriskCdrIngester",
    "AsteriskCdrRecord",
    "CdrError",
    "CdrEventError",
    "CdrEventSource",
    "CdrExportError",
    "CdrQueryError",
    "CdrQueueFull",
    "CdrRecord",
    "CdrUnknownCampaignError",
    "CdrWriter",
    "CdrWriterClosed",
    "DialerMetrics",
    "Disposition",
    "ExportFilter",
    "ExportFormat",
    "MetricsServer",
    "Mismatch",
    "MismatchKind",
    "PanelQuery",
    "Period",
    "ReconcileReport",
    "Reconciler",
    "RetryPolicy",
    "WriterStats",
    "aht_from_cdr",
    "calls_by_duration",
    "calls_by_status",
    "contacts_by_state",
    "cps_from_cdr",
    "dashboard_queries",
    "disposition_for_outcome",
    "export_csv",
    "export_xlsx",
    "message_fields",
    "outcome_for_disposition",
    "parse_cdr_event",
    "reconcile",
    "record_from_result",
    "run_query",
]
