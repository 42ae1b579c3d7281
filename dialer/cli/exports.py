"""Writing an export (`cdr export`, `contacts export`) to a file or stdout, errors worded as options."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from cdr.errors import CdrError, CdrExportError
from cdr.export import ExportFormat, WriteCsv, WriteXlsx, export_to_file
from dialer.cli.common import err_console, fail
from dialer.cli.dbrun import run_db


def option_message(exc: CdrError) -> str:
    return f"--{exc.field} {exc.detail}" if isinstance(exc, CdrExportError) else str(exc)


def run_export(fmt: ExportFormat, output: Path | None, what: str, write_csv: WriteCsv, write_xlsx: WriteXlsx) -> None:
    """Write the export (XLSX needs `output`; CSV without it goes to stdout) and say how many `what`."""
    if fmt is ExportFormat.XLSX and output is None:
        fail("--output FILE is required with --format xlsx")

    async def work(session: AsyncSession) -> int:
        conn = await session.connection()
        if output is None:
            return await write_csv(conn, sys.stdout)
        return await export_to_file(conn, fmt, output, write_csv, write_xlsx)

    try:
        rows = run_db(work)
    except CdrError as exc:
        fail(option_message(exc))
    err_console.print(f"exported {rows} {what}" + (f" to {output}" if output else ""), highlight=False)
