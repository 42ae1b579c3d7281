"""Helpers shared by CLI commands: settings, database URL, errors on stderr."""

from __future__ import annotations

import sys
from typing import NoReturn

import psycopg
import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from dialer.db.url import database_url
from dialer.settings import Settings, get_settings

err_console = Console(stderr=True)
console = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


# The errors a database without our tables (or with an older schema) gives.
_SCHEMA_ERRORS = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedObject,
                  psycopg.errors.UndefinedFunction)


def database_error_message(exc: BaseException) -> str | None:
    """One line for a database that cannot be used (unreachable, or not migrated), else None."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.OperationalError):
        return f"database unreachable (DATABASE_URL): {orig}".strip()
    if isinstance(orig, _SCHEMA_ERRORS):
        first_line = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
        return f"database schema missing or outdated ({first_line}); run `dialer db upgrade`"
    return None


def settings() -> Settings:
    return get_settings()


def db_url() -> str:
    return database_url(get_settings())


def is_terminal() -> bool:
    return sys.stdout.isatty()
