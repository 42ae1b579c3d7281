"""Server-side prepared statements run by EXECUTE in simple-query messages: a hot path's round trips.

psycopg's extended-protocol prepared statements cost a round trip each, and its pipeline mode sends
each message and Sync apart. Here a set of statements is PREPAREd once per session, and one
simple-query message carries several EXECUTEs (with BEGIN or COMMIT if need be), their parameters as
SQL literals read by the statements' declared types, as PostgreSQL reads a parameter. The whole hot
path is then a send and a read: system calls are what a call costs the worker. `simple_query` uses
psycopg's connection internals (its lock, wait loop and protocol generators): pyproject.toml pins the
minor version they were tested with.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.adapt import Transformer
from psycopg.generators import execute
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.types.json import Jsonb

__all__ = ["PreparedSet", "Statement", "result_rows", "simple_query", "sql_literal"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement with named placeholders (`%(x)s`) and each parameter's PostgreSQL type, in order."""

    name: str
    params: tuple[tuple[str, str], ...]
    sql: str

    def prepare_sql(self) -> str:
        """`PREPARE name(types) AS sql` with the named placeholders made positional (`$n`)."""
        sql = self.sql
        for position, (param, _) in enumerate(self.params, start=1):
            sql = sql.replace(f"%({param})s", f"${position}")
        return f"PREPARE {self.name}({', '.join(t for _, t in self.params)}) AS {sql}"


def _text_literal(value: str) -> str:
    # As PQescapeLiteral quotes: a string with a backslash in the E'' form (backslashes doubled), read
    # the same whatever standard_conforming_strings says; the session's encoding is UTF-8.
    if "\x00" in value:
        raise ValueError("a string with a NUL character cannot be sent to PostgreSQL")
    if "\\" in value:
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + value.replace("'", "''") + "'"


def _timestamp_literal(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} sent as timestamptz")
    return f"'{value.isoformat()}'"


def _bool_literal(value: bool) -> str:
    return "true" if value else "false"


def _quoted(value: float | Decimal) -> str:
    return f"'{value}'"


# By kind, in order (bool before int: a bool is an int), for values of a subclass (an enum, say).
_KINDS: tuple[tuple[type, Callable[[Any], str]], ...] = (
    (bool, _bool_literal),
    (int, int.__repr__),
    (float, _quoted),
    (Decimal, _quoted),
    (datetime, _timestamp_literal),
    (str, _text_literal),
    (Jsonb, lambda value: _text_literal(json.dumps(value.obj))),
)
# By exact type: one dictionary lookup per parameter on the hot path.
_LITERALS: dict[type, Callable[[Any], str]] = {type(None): lambda _: "NULL", **dict(_KINDS)}


def sql_literal(value: Any) -> str:
    """A parameter as an SQL literal, for an EXECUTE whose statement declares the types."""
    literal = _LITERALS.get(type(value))
    if literal is None:
        literal = next((f for kind, f in _KINDS if isinstance(value, kind)), None)
        if literal is None:
            raise TypeError(f"no SQL literal for {type(value).__name__}")
    return literal(value)


async def simple_query(conn: psycopg.AsyncConnection[Any], sql: str) -> list[PGresult]:
    """Send one simple-query message (statements separated by `;`) and return each statement's
    result; raises the first error as psycopg would. Needs a UTF-8 session (`PreparedSet.ensure`)."""
    pgconn = conn.pgconn
    async with conn.lock:
        pgconn.send_query(sql.encode())
        results: list[PGresult] = await conn.wait(execute(pgconn))
    for result in results:
        if result.status == ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    return results


def result_rows(conn: psycopg.AsyncConnection[Any], result: PGresult) -> list[tuple[Any, ...]]:
    """A result's rows, loaded by the connection's adapters."""
    if not result.ntuples:
        return []
    loader = Transformer(conn)
    loader.set_pgresult(result)
    return loader.load_rows(0, result.ntuples, tuple)


class PreparedSet:
    """Statements prepared together, once per session, on first use by any connection."""

    def __init__(self, statements: Sequence[Statement]) -> None:
        self.statements = {s.name: s for s in statements}
        self._prepare = ";\n".join(s.prepare_sql() for s in statements)
        self._ready: weakref.WeakSet[psycopg.AsyncConnection[Any]] = weakref.WeakSet()

    def execute_sql(self, name: str, values: Sequence[Any]) -> str:
        """`EXECUTE name(literals)` for `values` in the statement's parameter order."""
        return f"EXECUTE {name}({', '.join([sql_literal(v) for v in values])})"

    async def ensure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Prepare the set on `conn`'s session unless done (outside any transaction)."""
        if conn in self._ready:
            return
        if conn.info.encoding != "utf-8":
            # Our literals and texts are UTF-8 (psycopg follows the change: it reads client_encoding).
            await simple_query(conn, "SET client_encoding TO 'UTF8'")
        try:
            await simple_query(conn, self._prepare)
        except psycopg.errors.DuplicatePreparedStatement:
            # Some were prepared by an earlier try that failed or was cancelled half way (PREPARE is
            # not undone with its statement): start again from none.
            for name in self.statements:
                with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
                    await simple_query(conn, f"DEALLOCATE {name}")
            await simple_query(conn, self._prepare)
        self._ready.add(conn)

    async def run(self, conn: psycopg.AsyncConnection[Any], work: Callable[[], Awaitable[T]]) -> T:
        """`work()` (EXECUTEs of this set on `conn`, outside any transaction at its start) with the set
        prepared; if the session lost the statements (DISCARD ALL by a pooler, say), they are
        prepared again and `work()` runs once more."""
        await self.ensure(conn)
        try:
            return await work()
        except psycopg.errors.InvalidSqlStatementName:
            if conn.pgconn.transaction_status != TransactionStatus.IDLE:
                await conn.rollback()
            self._ready.discard(conn)
            await self.ensure(conn)
            return await work()
