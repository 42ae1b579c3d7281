"""The psycopg connection and transaction an import runs in, from whatever the caller owns.

- an SQLAlchemy `AsyncEngine`: a pooled connection, one transaction committed at the end;
- an SQLAlchemy `AsyncConnection`: its transaction (begun here if none is open; else the caller's);
- a psycopg `AsyncConnection`: `conn.transaction()` (a savepoint inside the caller's open transaction).
COPY needs psycopg itself, reached as SQLAlchemy's driver connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Database = AsyncEngine | AsyncConnection | psycopg.AsyncConnection[Any]


async def _driver(conn: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError(f"call list import needs the psycopg driver, not {type(driver).__name__}")
    return driver


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A psycopg connection inside one transaction: committed when the block succeeds."""
    if isinstance(db, AsyncEngine):
        async with db.begin() as conn:
            yield await _driver(conn)
    elif isinstance(db, AsyncConnection):
        if db.in_transaction():
            yield await _driver(db)
        else:
            async with db.begin():
                yield await _driver(db)
    elif isinstance(db, psycopg.AsyncConnection):
        async with db.transaction():
            yield db
    else:
        raise TypeError(f"expected an AsyncEngine or a connection, got {type(db).__name__}")
