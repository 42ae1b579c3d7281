"""What a user is told when the database cannot be used at all (CLI and API alike)."""

from __future__ import annotations

import psycopg
from sqlalchemy.exc import DBAPIError

__all__ = ["first_line", "refused_value_message", "unusable_database_message"]

# The errors a database without our tables (or with an older schema) gives.
_SCHEMA_ERRORS = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedObject,
                  psycopg.errors.UndefinedFunction)


def unusable_database_message(exc: BaseException) -> str | None:
    """One line for a database that cannot be used (unreachable, or not migrated), else None."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.OperationalError):
        return f"database unreachable (DATABASE_URL): {orig}".strip()
    if isinstance(orig, _SCHEMA_ERRORS):
        return f"database schema missing or outdated ({first_line(orig)}); run `dialer db upgrade`"
    return None


def refused_value_message(exc: BaseException) -> str | None:
    """One line for a value the database refused (SQLSTATE class 22: NUL in text, a number out of
    range, a string too long...) that no check caught, else None."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg.DataError):
        return None
    return f"the database refused a value: {first_line(orig)}"


def first_line(error: BaseException) -> str:
    """The first line of an error's message (psycopg adds LINE/DETAIL lines), else its type."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__
