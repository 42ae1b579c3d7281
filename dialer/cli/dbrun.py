"""Run one piece of database work from a CLI command: engine, one transaction, errors as messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cli.common import db_url, fail
from dialer.db.errors import refused_value_message
from dialer.db.session import make_engine, session_scope
from dialer.errors import DialerError, InvalidValueError
from dialer.runtime import run

__all__ = ["option_label", "run_db"]

T = TypeVar("T")


def option_label(field: str, arguments: Mapping[str, str] | None = None) -> str:
    """The CLI spelling of a field: `max_channels` -> `--max-channels`, a positional -> `NAME`."""
    head, _, rest = field.partition(" ")
    label = (arguments or {}).get(head) or "--" + head.replace("_", "-")
    return f"{label} ({rest})" if rest else label


def run_db(work: Callable[[AsyncSession], Awaitable[T]], *, arguments: Mapping[str, str] | None = None) -> T:
    """Run `work` in one committed transaction; a DialerError exits 1 naming the option at fault, as
    does a value the database refused (SQLSTATE class 22) that no check caught; the transaction is
    rolled back. An unusable database is worded by `dialer.cli.main`; anything else is a bug and
    keeps its traceback."""

    async def main() -> T:
        engine = make_engine(db_url(), pool_size=1, max_overflow=0)
        try:
            async with session_scope(engine) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return run(main())
    except InvalidValueError as exc:
        fail(f"{option_label(exc.field, arguments)}: {exc.message}")
    except DialerError as exc:
        fail(str(exc))
    except (DBAPIError, psycopg.DataError) as exc:
        message = refused_value_message(exc)
        if message is None:
            raise
        fail(message)
