"""`dialer cdr ...`: reconcile the dialer's CDR with Asterisk's, export CDRs to CSV or Excel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cdr.errors import CdrError, CdrExportError
from cdr.export import ExportFilter, ExportFormat, export_csv, export_xlsx
from cdr.reconcile import DEFAULT_GRACE, ReconcileReport, reconcile, summary_lines
from dialer.cli.common import console, fail
from dialer.cli.dbrun import run_db
from dialer.cli.exports import option_message, run_export
from dialer.lists.excel_safety import escape_formula, looks_like_formula
from dialer.reservations import installation_prefix

app = typer.Typer(help="CDRs: reconcile with Asterisk's own CDR, export to CSV/XLSX.", no_args_is_help=True)

_ISO_HELP = "ISO 8601 instant, e.g. 2026-11-25T09:00:00+03:00 (without an offset: UTC)"


def parse_instant(option: str, value: str | None) -> datetime | None:
    """An aware datetime from a CLI value; exits 1 naming the option when it is not ISO 8601."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} {value!r}: not an ISO 8601 date-time (e.g. 2026-11-25T09:00:00+03:00)")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_MAX_GRACE_S = 7 * 86400.0  # a week; infinity would compare nothing


@app.command("reconcile")
def reconcile_cmd(
    since: Annotated[str | None, typer.Option("--since", help=f"Calls started from here. {_ISO_HELP}. "
                                                              "Default: 24 hours ago.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    prefix: Annotated[str | None, typer.Option(
        "--prefix", help="Only channel ids starting with this. Default: this installation's (dlr-<tag>-); "
                         "'' for every call on the Asterisk servers, other dialers' too.")] = None,
    repair: Annotated[bool, typer.Option("--repair/--no-repair",
                                         help="Rebuild missing dialer rows from Asterisk's CDR.")] = True,
    grace: Annotated[float, typer.Option(
        "--grace", min=0, max=_MAX_GRACE_S,
        help="Seconds a call's other record may still be on its way (0 after a crash)."
    )] = DEFAULT_GRACE.total_seconds(),
) -> None:
    """Compare the dialer's CDR with Asterisk's and report mismatches; rebuild rows Asterisk reported.

    Exits 0 whatever the mismatches (they are the report); 1 only on an error.
    """
    now = datetime.now(UTC)
    start = parse_instant("--since", since) or now - timedelta(hours=24)
    if start >= now:
        fail(f"--since {start.isoformat()} is not in the past")

    async def work(session: AsyncSession) -> ReconcileReport:
        conn = await session.connection()
        channel_prefix = await installation_prefix(conn) if prefix is None else prefix
        return await reconcile(conn, since=start, now=now, repair=repair,
                               channel_prefix=channel_prefix, grace=timedelta(seconds=grace))

    try:
        report = run_db(work)
    except CdrError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    for line in summary_lines(report):
        console.print(line, highlight=False)
    for mismatch in report.mismatches[:50]:
        m = mismatch.as_dict()
        console.print(
            f"  {m['kind']:<20} {m['channel_id']}  dialer billsec={m['dialer_billsec']} "
            f"disposition={m['dialer_disposition']}  asterisk billsec={m['asterisk_billsec']} "
            f"disposition={m['asterisk_disposition']}" + ("  (repaired)" if m["repaired"] else ""),
            highlight=False,
        )
    if len(report.mismatches) > 50:
        console.print(f"  ... {len(report.mismatches) - 50} more (use --json for all)", highlight=False)


@app.command("export")
def export_cmd(
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="csv or xlsx.", case_sensitive=False)],
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign (by name).")] = None,
    since: Annotated[str | None, typer.Option("--since", help=f"Calls started from here. {_ISO_HELP}.")] = None,
    until: Annotated[str | None, typer.Option("--until", help=f"Calls started before this. {_ISO_HELP}.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (CSV: default stdout).",
                                                dir_okay=False)] = None,
) -> None:
    """Export CDRs (times in each company's time zone; formula-looking text made inert)."""
    try:
        flt = ExportFilter(campaign=campaign, since=parse_instant("--since", since),
                           until=parse_instant("--until", until))
    except CdrExportError as exc:
        fail(option_message(exc))
    run_export(fmt, output, "CDR rows",
               lambda conn, out: export_csv(conn, flt, out, escape=escape_formula),
               lambda conn, path: export_xlsx(conn, flt, path, is_formula=looks_like_formula))
