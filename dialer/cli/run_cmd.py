"""`dialer run`: a worker. Several may run at once, on one or many hosts, against one PostgreSQL.

Exit codes: 0 after a graceful stop (SIGTERM/SIGINT, or `--until-done` once every selected campaign
is finished or stopped); 1 on a bad setting, a campaign that does not exist or a database it cannot
reach at all (a session dropped during start-up, once the server has answered, is retried:
dialer.worker.startup).
The Asterisk servers' clock zone (for their CDR timestamps) is `DIALER_ASTERISK_TZ` (default UTC).
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from cdr.metrics import DialerMetrics
from dialer.cli.common import db_url, fail, settings
from dialer.db.session import make_engine
from dialer.errors import DialerError
from dialer.runtime import freeze_heap
from dialer.runtime import run as run_loop
from dialer.worker import Worker, WorkerOptions
from dialer.worker.signals import process_stop_signals

__all__ = ["run", "start_metrics_exporter"]

log = logging.getLogger(__name__)


def start_metrics_exporter(metrics: DialerMetrics, port: int) -> None:
    """Serve /metrics on `port` (0: none) from a thread, for a process whose Worker has no exporter
    (the demo). `dialer run`'s worker serves /metrics and /healthz itself (`Worker.metrics_server`).
    A port in use is an error naming the option."""
    if port <= 0:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port, registry=metrics.registry)
    except OSError as exc:
        raise DialerError(
            f"--metrics-port {port}: cannot listen ({exc.strerror or exc}); give each worker on a host "
            "its own port, or 0 for none"
        ) from None


async def _main(url: str, options: WorkerOptions) -> int:
    engine = make_engine(url, pool_size=5, max_overflow=5, application_name="dialer run")
    metrics = DialerMetrics()
    try:
        # The worker serves /metrics and /healthz on options.metrics_port in its own TaskGroup.
        worker = Worker(engine, url, options, metrics=metrics,
                        asterisk_timezone=os.environ.get("DIALER_ASTERISK_TZ", "UTC"))
        freeze_heap()
        return await worker.run(handle_signals=True)
    finally:
        await engine.dispose()


def run(
    campaign: Annotated[
        list[str] | None,
        typer.Option("--campaign", "-c", help="Campaign to serve (repeatable). Default: every running campaign."),
    ] = None,
    until_done: Annotated[
        bool, typer.Option("--until-done", help="Exit once every selected campaign is finished or stopped.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=0, max=65535,
                     help="Prometheus /metrics port (default from settings, 9108; 0 for none)."),
    ] = None,
) -> None:
    """Run a dialing worker until stopped (SIGTERM/SIGINT), or until done."""
    # First of all: from here to the process's exit a stop signal means a graceful stop (exit 0).
    process_stop_signals.install()
    log.info("dialer run: pid %d, stop signals handled", os.getpid())
    options = WorkerOptions.from_settings(settings(), campaigns=tuple(campaign or ()), until_done=until_done,
                                          metrics_port=metrics_port)
    try:
        try:
            code = run_loop(_main(db_url(), options))
        finally:
            process_stop_signals.ignore()  # only exiting from here on
    except DialerError as exc:
        fail(str(exc))
    raise typer.Exit(code)
