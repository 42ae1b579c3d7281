"""Writing an export (`cdr export`, `contacts export`) to a file or stdout, errors worded as options."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cdr.errors import CdrError, CdrExportError
from cdr.export import ExportFormat
from dialer.cli.common import err_console, fail
from dialer.cli.dbrun import run_db

WriteCsv = Callable[[AsyncConnection, TextIO], Awaitable[int]]
WriteXlsx = Callable[[AsyncConnection, Path], Awaitable[int]]


def option_message(exc: CdrError) -> str:
    return f"--{exc.field} {exc.detail}" if isinstance(exc, CdrExportError) else str(exc)


def run_export(fmt: ExportFormat, output: Path | None, what: str, write_csv: WriteCsv, write_xlsx: WriteXlsx) -> None:
    """Write the export (XLSX needs `output`; CSV without it goes to stdout) and say how many `what`."""
    if fmt is ExportFormat.XLSX and output is None:
        fail("--output FILE is required with --format xlsx")

    async def work(session: AsyncSession) -> int:
        conn = await session.connection()
        if fmt is ExportFormat.XLSX:
            assert output is not None
            return await write_xlsx(conn, output)
        if output is None:
            return await write_csv(conn, sys.stdout)
        try:
            # utf-8-sig: Excel opens a CSV with a BOM as UTF-8 (Cyrillic names stay readable).
            with output.open("w", encoding="utf-8-sig", newline="") as handle:
                return await write_csv(conn, handle)
        except OSError as exc:
            raise CdrExportError("output", f"{output}: cannot write ({exc.strerror or exc})") from exc

    try:
        rows = run_db(work)
    except CdrError as exc:
        fail(option_message(exc))
    err_console.print(f"exported {rows} {what}" + (f" to {output}" if output else ""), highlight=False)
