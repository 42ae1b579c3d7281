"""`dialer registry ...`: the Russian numbering registry (DEF/ABC open data files) stored in the database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from compliance import RegistryError, RegistryFile, read_registry_file
from dialer.cli.common import console, fail
from dialer.cli.dbrun import run_db
from dialer.registry_store import ImportResult, import_registry, list_registry_files

app = typer.Typer(
    help="Russian numbering registry (DEF-9xx, ABC-3xx/4xx/8xx files) in the database.", no_args_is_help=True
)

def _file_date(path: Path, given: str | None) -> date:
    if given is None:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    try:
        return date.fromisoformat(given)
    except ValueError:
        fail(f"--date: {given!r} is not a date (YYYY-MM-DD)", code=2)


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Registry CSV files (DEF-9xx.csv, ABC-3xx.csv, ...).")],
    file_date: Annotated[
        str | None,
        typer.Option("--date", help="Snapshot date YYYY-MM-DD (default: the file's modification date)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a newer file of the same kind.")] = False,
) -> None:
    """Store registry files in the database with their date; a newer file replaces its kind's ranges."""
    parsed: list[tuple[RegistryFile, date]] = []
    for path in paths:
        try:
            parsed.append((read_registry_file(path), _file_date(path, file_date)))
        except RegistryError as exc:
            fail(str(exc), code=2)

    async def work(session: AsyncSession) -> list[ImportResult]:
        return [await import_registry(session, item, day, force=force) for item, day in parsed]

    for result in run_db(work):
        if result.imported:
            replaced = f", replacing {result.superseded} older ranges" if result.superseded else ""
            console.print(
                f"{result.name}: imported {result.rows} ranges ({result.kind}, dated {result.file_date}){replaced}",
                highlight=False,
            )
        else:
            console.print(f"{result.name}: already imported ({result.rows} ranges), unchanged", highlight=False)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """List imported registry files."""
    files = run_db(list_registry_files)
    if as_json:
        typer.echo(json.dumps(files, ensure_ascii=False))
        return
    if not files:
        console.print("no registry file imported (dialer registry import PATH...)")
        return
    for item in files:
        console.print(
            f"{item['kind']:8} {item['name']:24} dated {item['file_date']}  {item['rows']:>7} rows  "
            f"{'in use' if item['ranges_in_use'] else 'superseded'}",
            highlight=False,
        )
