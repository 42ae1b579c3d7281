"""Helpers shared by CLI commands: settings, database URL, errors on stderr."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from dialer.db.url import database_url
from dialer.settings import Settings, get_settings

SHEET_HELP = "Workbook sheet to read (default: the first whose first rows name a phone column, else the first)."

err_console = Console(stderr=True)
console = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    # Escaped: messages quote user values, and `[/x]` in one is no markup (a MarkupError otherwise).
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings() -> Settings:
    return get_settings()


def db_url() -> str:
    return database_url(get_settings())


def is_terminal() -> bool:
    return sys.stdout.isatty()
