"""`dialer lists import FILE --campaign NAME`: import a call list (CSV/TSV/XLSX/XLS) into a campaign;
`list`, `withdraw` and `restore` the imports of a campaign."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

from cdr.results import ContactResult
from compliance import ComplianceError
from dialer.call_lists import (
    CallListInfo,
    ListRestore,
    ListWithdrawal,
    list_call_lists,
    restore_call_list,
    withdraw_call_list,
)
from dialer.campaigns import campaign_id_by_name
from dialer.cli.common import SHEET_HELP, console, db_url, fail, settings
from dialer.cli.dbrun import run_db
from dialer.db.session import make_engine, session_scope
from dialer.errors import DialerError
from dialer.lifecycle import after_contacts_added
from dialer.lists import ImportOptions, ImportProgress, ImportSummary, ProgressCallback, import_call_list
from dialer.registry_store import configured_registry
from dialer.runtime import freeze_heap, run

app = typer.Typer(help="Call lists: import CSV/XLSX files into a campaign, list the imports, withdraw and "
                       "restore a list.", no_args_is_help=True)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise (logs, pipes, CI)."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]:,} rows, {task.fields[numbers]:,} numbers"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None, rows=0, numbers=0)

        def update(step: ImportProgress) -> None:
            bar.update(task, total=step.size, completed=step.position, rows=step.rows, numbers=step.numbers)

        yield update


async def _run_import(
    file: Path, campaign: str, options: ImportOptions, progress: ProgressCallback | None
) -> ImportSummary:
    engine = make_engine(db_url(), pool_size=1, max_overflow=0)
    try:
        if options.registry is None:
            options = replace(options, registry=await configured_registry(engine))
        freeze_heap()  # the registry and the rest of the start-up heap: millions of rows allocate after
        summary = await import_call_list(engine, file, campaign, options, progress)
        async with session_scope(engine) as session:
            await after_contacts_added(session, await campaign_id_by_name(session, summary.campaign))
        return summary
    finally:
        await engine.dispose()


def _print_summary(summary: ImportSummary) -> None:
    lines = [
        f"Imported {summary.filename} ({summary.source_format}) into campaign {summary.campaign!r}, "
        f"call list #{summary.call_list_id}, in {summary.seconds:.1f} s",
        f"  numbers found      {summary.total:>10,}  ({summary.rows:,} data rows)",
        f"  imported           {summary.imported:>10,}",
        f"  duplicates         {summary.duplicates:>10,}  ({summary.duplicates_in_file:,} in the file, "
        f"{summary.duplicates_existing:,} already in the campaign)",
        f"  invalid            {summary.invalid:>10,}",
        f"  do-not-call        {summary.dnc:>10,}",
        f"  time zone unknown  {summary.timezone_unknown:>10,}",
        f"  reject report      {summary.reject_report}",
    ]
    if summary.unread_sheets:
        lines.append(f"  not read           sheets {', '.join(repr(s) for s in summary.unread_sheets)} hold a list "
                     "too; import each with --sheet NAME")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV/TSV (UTF-8 or Windows-1251), XLSX or XLS."
    ),
    campaign: str = typer.Option(..., "--campaign", "-c", help="Campaign to add the contacts to."),
    subscriber_column: str | None = typer.Option(
        None, "--subscriber-column",
        help="Column keying the caps, by header or column letters (default: the campaign's, `additional`).",
    ),
    sheet: str | None = typer.Option(None, "--sheet", help=SHEET_HELP),
    reject_report: Path | None = typer.Option(
        None, "--reject-report", help="Where to write rejected rows (default: $DIALER_HOME/reports/...)."
    ),
    json_output: bool = typer.Option(False, "--json", help="End the output with one JSON summary line."),
) -> None:
    """Import a call list: numbers normalized to E.164, time zones resolved, duplicates and DNC skipped.

    Nothing is stored when the file cannot be imported as a whole (no phone column, empty, unreadable
    encoding, corrupt workbook, unknown campaign); single bad rows go to the reject report.
    """
    options = ImportOptions(
        subscriber_column=subscriber_column,
        sheet=sheet,
        reject_report=reject_report,
        reports_dir=settings().home / "reports",
    )
    try:
        with _progress_bar(sys.stderr.isatty()) as progress:
            summary = run(_run_import(file, campaign, options, progress))
    except (DialerError, ComplianceError) as exc:
        fail(str(exc))
    _print_summary(summary)
    if json_output:
        # Plain write, not rich: the contract is one JSON object on the last line, never wrapped.
        sys.stdout.write(json.dumps(summary.as_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()


_LIST_ARGS = {"call_list_id": "CALL_LIST_ID"}
CampaignOpt = Annotated[str, typer.Option("--campaign", "-c", help="The campaign the list was imported into.")]
ListIdArg = Annotated[int, typer.Argument(
    metavar="CALL_LIST_ID", help="The call list's id (`dialer lists list --campaign NAME`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("list")
def list_(campaign: CampaignOpt, json_output: JsonOpt = False) -> None:
    """The campaign's imports: file, contacts by result (reached, completed, not reached, excluded,
    pending), and whether the list was withdrawn."""

    async def work(session: AsyncSession) -> list[CallListInfo]:
        return await list_call_lists(session, campaign)

    lists = run_db(work, arguments=_LIST_ARGS)
    if json_output:
        typer.echo(json.dumps([info.public() for info in lists], ensure_ascii=False))
        return
    table = Table("id", "file", "imported at", Column("contacts", justify="right"), "by result", "withdrawn at",
                  title=f"call lists of campaign {campaign!r}")
    for info in lists:
        by_result = "\n".join(f"{n:,} {r.value.replace('_', ' ')}" for r in ContactResult
                              if (n := info.results.get(r.value, 0)))
        table.add_row(str(info.id), info.filename, f"{info.imported_at:%Y-%m-%d %H:%M %Z}", f"{info.imported:,}",
                      by_result or "-", "" if info.withdrawn_at is None else f"{info.withdrawn_at:%Y-%m-%d %H:%M %Z}")
    console.print(table)


def _change_list(
    change: Callable[[AsyncSession, str, int], Awaitable[ListWithdrawal | ListRestore]], call_list_id: int,
    campaign: str, json_output: bool, said: Callable[[Any], str],
) -> None:
    async def work(session: AsyncSession) -> ListWithdrawal | ListRestore:
        return await change(session, campaign, call_list_id)

    done = run_db(work, arguments=_LIST_ARGS)
    if json_output:
        typer.echo(json.dumps(done.public(), ensure_ascii=False))
    else:
        console.print(said(done), highlight=False)


@app.command("withdraw")
def withdraw(call_list_id: ListIdArg, campaign: CampaignOpt, json_output: JsonOpt = False) -> None:
    """Take a call list out of its campaign: its waiting contacts are excluded now, those in a call when
    they come up again (`restore` gives them back)."""
    _change_list(withdraw_call_list, call_list_id, campaign, json_output, lambda done: (
        f"call list {done.call_list_id} withdrawn from campaign {done.campaign!r}: {done.excluded:,} contacts "
        f"excluded, {done.in_call:,} in a call now (not dialled again)"))


@app.command("restore")
def restore(call_list_id: ListIdArg, campaign: CampaignOpt, json_output: JsonOpt = False) -> None:
    """Put a withdrawn call list back into its campaign: the contacts its withdrawal excluded are dialled
    again, with their attempts and due times as they were."""
    _change_list(restore_call_list, call_list_id, campaign, json_output, lambda done: (
        f"call list {done.call_list_id} restored to campaign {done.campaign!r}: {done.restored:,} contacts back "
        "in the queue"))
