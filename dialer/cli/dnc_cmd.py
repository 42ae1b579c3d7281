"""`dialer dnc add PHONE...`, `import FILE`, `remove PHONE...` and `list`: a company's do-not-call list."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance import Registry
from dialer.cli.common import SHEET_HELP, console, db_url, err_console, fail
from dialer.db.session import make_engine
from dialer.dnc import (
    DncRemoval,
    DncSummary,
    InvalidNumbersError,
    add_dnc_numbers,
    dnc_entries,
    import_dnc_file,
    remove_dnc_numbers,
)
from dialer.errors import DialerError
from dialer.lifecycle import after_contacts_added
from dialer.registry_store import configured_registry
from dialer.runtime import run

app = typer.Typer(help="Do-not-call lists: numbers never imported into, nor dialed in, a company's campaigns.",
                  no_args_is_help=True)

T = TypeVar("T")

_PHONES_HELP = "Numbers in any usual spelling (+7..., 8 (913) ...)."
_COMPANY_HELP = "Company whose list to change (default: `default`, created on first use)."


def _run(work: Callable[[AsyncEngine, Registry | None], Awaitable[T]]) -> T:
    """Run `work` with the database and the numbering registry (see `configured_registry`)."""

    async def main() -> T:
        engine = make_engine(db_url(), pool_size=1, max_overflow=0)
        try:
            return await work(engine, await configured_registry(engine))
        finally:
            await engine.dispose()

    try:
        return run(main())
    except InvalidNumbersError as exc:
        fail(exc.message, code=2)
    except DialerError as exc:
        fail(str(exc))


def _print_json(summary: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _report(summary: DncSummary, json_output: bool) -> None:
    console.print(
        f"do-not-call list of company {summary.company!r}: {summary.added:,} added, "
        f"{summary.already:,} already listed, {summary.invalid:,} invalid; "
        f"{summary.contacts_excluded:,} waiting contacts excluded",
        highlight=False,
        soft_wrap=True,
    )
    for reject in summary.invalid_examples:
        console.print(f"  row {reject.row}: {reject.value!r}: {reject.message}", highlight=False, soft_wrap=True)
    if json_output:
        _print_json(summary.as_json())


@app.command("add")
def add(
    phones: list[str] = typer.Argument(..., help=_PHONES_HELP),
    company: str | None = typer.Option(None, "--company", help=_COMPANY_HELP),
    json_output: bool = typer.Option(False, "--json", help="End the output with one JSON summary line."),
) -> None:
    """Add numbers to a company's do-not-call list (nothing is added if one of them is invalid)."""
    _report(_run(lambda db, registry: add_dnc_numbers(db, phones, company, registry=registry)), json_output)


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV/XLSX with a phone column, or one number per line."
    ),
    company: str | None = typer.Option(None, "--company", help=_COMPANY_HELP),
    sheet: str | None = typer.Option(None, "--sheet", help=SHEET_HELP),
    json_output: bool = typer.Option(False, "--json", help="End the output with one JSON summary line."),
) -> None:
    """Add every number of a file to a company's do-not-call list; invalid rows are listed, not fatal."""
    _report(
        _run(lambda db, registry: import_dnc_file(db, file, company, sheet=sheet, registry=registry)), json_output
    )


@app.command("remove")
def remove(
    phones: list[str] = typer.Argument(..., help=_PHONES_HELP),
    company: str | None = typer.Option(None, "--company", help=_COMPANY_HELP),
    json_output: bool = typer.Option(False, "--json", help="End the output with one JSON summary line."),
) -> None:
    """Take numbers off a company's do-not-call list (nothing is removed if one of them is invalid);
    contacts the list had excluded are dialed again."""

    async def remove_all(engine: AsyncEngine, registry: Registry | None) -> DncRemoval:
        removal = await remove_dnc_numbers(engine, phones, company, registry=registry)
        async with engine.begin() as conn:
            for campaign_id in removal.campaign_ids:
                await after_contacts_added(conn, campaign_id)
        return removal

    removal = _run(remove_all)
    console.print(
        f"do-not-call list of company {removal.company!r}: {removal.removed:,} removed, "
        f"{removal.not_listed:,} not listed; {removal.contacts_restored:,} excluded contacts back in the queue",
        highlight=False,
        soft_wrap=True,
    )
    if json_output:
        _print_json(removal.as_json())


@app.command("list")
def list_(
    company: str | None = typer.Option(None, "--company", help="Company whose list to show (default: `default`)."),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print a company's do-not-call list: number, source and when it was added, one per line."""

    async def print_all(engine: AsyncEngine, _: Registry | None) -> int:
        count = 0
        async for entry in dnc_entries(engine, company):
            if json_output:
                _print_json(entry.as_json())
            else:
                sys.stdout.write(f"{entry.phone}\t{entry.source or ''}\t{entry.added_at.isoformat()}\n")
            count += 1
        return count

    count = _run(print_all)
    err_console.print(f"{count:,} numbers on the do-not-call list", highlight=False)
