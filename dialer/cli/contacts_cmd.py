"""`dialer contacts why PHONE`: the decision log of a contact; `dialer contacts export`: a campaign's results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

from cdr.export import ExportFormat
from cdr.results import ContactResult, export_results_csv, export_results_xlsx
from dialer.cli.common import console, settings
from dialer.cli.dbrun import run_db
from dialer.cli.exports import run_export
from dialer.contacts_why import ContactWhy, contact_why
from dialer.lists.excel_safety import escape_formula, looks_like_formula

app = typer.Typer(help="Contacts: why a number was or was not dialed; a campaign's results.", no_args_is_help=True)


def _utc(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _local(value: datetime | None, zone: str | None) -> str:
    if value is None or not zone:
        return "-"
    try:
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %z")
    except (KeyError, ValueError):
        return "-"


def _print(report: ContactWhy) -> None:
    console.print(f"[bold]{report.phone} in campaign {report.campaign} ({report.campaign_status})[/]")
    head = Table(Column(), Column(overflow="fold"), show_header=False)
    zone = report.timezone or "unknown"
    head.add_row("subscriber", report.subscriber_key + (f" ({report.name})" if report.name else ""))
    head.add_row("time zone", f"{zone} (source: {report.tz_source})"
                 + (f"; candidates {', '.join(report.tz_candidates)}" if len(report.tz_candidates) > 1 else ""))
    if report.subscriber_zones:
        head.add_row("subscriber's zones", f"{', '.join(report.subscriber_zones)} (numbers in several zones: "
                     "dialled only when the window is open in each)")
    head.add_row("state", f"{report.state.value}, {report.attempts_made} attempt(s), last outcome "
                 f"{report.last_outcome or '-'}")
    head.add_row("next dial", report.next_dial.explanation)
    at = report.next_dial.at
    head.add_row("next attempt at", f"{_utc(at)} / local {_local(at, report.timezone)}")
    console.print(head)
    console.print("[bold]attempts[/]")
    attempts = Table(*(Column(h, overflow="fold") for h in (
        "time (UTC)", "local", "trunk", "worker", "outcome", "hangup cause", "AMD", "billsec")))
    for a in report.attempts:
        cause = "-" if a.hangup_cause is None else f"{a.hangup_cause} {a.hangup_text or ''}".strip()
        amd = "-" if a.amd_status is None else a.amd_status + (f" ({a.amd_cause})" if a.amd_cause else "")
        attempts.add_row(_utc(a.at), _local(a.at, report.timezone), a.trunk or "-", a.worker,
                         a.outcome or f"({a.state})", cause, amd, "-" if a.billsec is None else str(a.billsec))
    if not report.attempts:
        attempts.add_row("never dialed", "", "", "", "", "", "", "")
    console.print(attempts)
    console.print("[bold]decisions (held back or dialed, and why)[/]")
    decisions = Table(*(Column(h, overflow="fold") for h in (
        "time (UTC)", "decision", "why", "next allowed (UTC)", "next allowed (local)", "worker")))
    for d in report.decisions:
        why = "; ".join(f"{r.code}: {r.message}" if r.message else r.code for r in d.reasons) or "-"
        decisions.add_row(_utc(d.at), "dialed" if d.allowed else "held back", why, _utc(d.next_allowed_at),
                          _local(d.next_allowed_at, report.timezone), d.worker or "-")
    if not report.decisions:
        decisions.add_row("none yet", "", "", "", "", "")
    console.print(decisions)


@app.command("why")
def why(
    phone: Annotated[str, typer.Argument(help="Phone number (any common spelling; normalized to E.164).")],
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, one object per campaign.")] = False,
) -> None:
    """Every attempt, every hold-back and why, and when the contact will next be dialed."""

    async def work(session: AsyncSession) -> list[ContactWhy]:
        return await contact_why(session, phone, datetime.now(UTC), campaign=campaign,
                                 dial_lead_seconds=settings().worker.dial_lead_seconds)

    reports = run_db(work, arguments={"phone": "PHONE"})
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in reports], ensure_ascii=False))
        return
    for report in reports:
        _print(report)


@app.command("export")
def export(
    campaign: Annotated[str, typer.Option("--campaign", help="The campaign whose contacts to export.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="csv or xlsx.", case_sensitive=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (CSV: default stdout).",
                                                dir_okay=False)] = None,
    result: Annotated[list[ContactResult] | None, typer.Option(
        "--result", help="Only contacts with this result (repeat for several).", case_sensitive=False)] = None,
) -> None:
    """A campaign's results, one row per contact: result (reached, completed, not_reached, excluded,
    pending), attempts, last outcome, when a person answered, next dial, then the call list's own
    columns (times in the company's time zone; formula-looking text made inert)."""
    only = set(result) if result else None
    run_export(fmt, output, "contacts",
               lambda conn, out: export_results_csv(conn, campaign, out, escape=escape_formula, only=only),
               lambda conn, path: export_results_xlsx(conn, campaign, path, is_formula=looks_like_formula,
                                                      only=only))
