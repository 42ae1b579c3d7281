"""EXECUTE with SQL literals (dialer.db.prepared) against real PostgreSQL: every value comes back as sent.

Subscriber keys and worker ids come from users' files and settings: quotes, backslashes, NULs'
neighbours and non-ASCII text must reach the statement as data, never as SQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dialer.db.prepared import PreparedSet, Statement, result_rows, simple_query, sql_literal
from dialer.db.url import libpq_url

HOSTILE = [
    "O'Brien", "'; DROP TABLE contacts; --", "back\\slash", "\\'", "$1", "%(x)s", "{}", "тире — ёж",
    "tab\tand\nnewline", "E'\\x41'", "🙂",
]

ECHO = PreparedSet((
    Statement("test_echo", (("text", "text"), ("n", "int8"), ("flag", "bool"), ("at", "timestamptz"),
                            ("amount", "numeric"), ("ratio", "float8"), ("doc", "jsonb")),
              "SELECT %(text)s, %(n)s, %(flag)s, %(at)s, %(amount)s, %(ratio)s, %(doc)s"),
))


async def _connect(database_url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True)


@pytest.mark.parametrize("value", HOSTILE)
async def test_values_come_back_as_sent(database_url: str, value: str) -> None:
    at = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7)))
    doc = {"key": value, "list": [1, None, True]}
    async with await _connect(database_url) as conn:
        await ECHO.ensure(conn)
        values = (value, -(2**62), False, at, Decimal("12.30"), 0.1, Jsonb(doc))
        sql = ECHO.execute_sql("test_echo", values)
        [result] = await simple_query(conn, sql)
        assert result_rows(conn, result) == [(value, -(2**62), False, at, Decimal("12.30"), 0.1, doc)]
        # NULL for every type.
        [result] = await simple_query(conn, ECHO.execute_sql("test_echo", (None,) * 7))
        assert result_rows(conn, result) == [(None,) * 7]
        assert (await (await conn.execute("SELECT count(*) FROM contacts")).fetchone()) == (0,)


async def test_a_non_utf8_session_is_switched_and_errors_are_raised(database_url: str) -> None:
    async with await _connect(database_url) as conn:
        await conn.execute("SET client_encoding TO 'WIN1251'")
        await ECHO.ensure(conn)
        assert conn.info.encoding == "utf-8"
        [result] = await simple_query(conn, ECHO.execute_sql("test_echo", ("ёж",) + (None,) * 6))
        assert result_rows(conn, result)[0][0] == "ёж"
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            await simple_query(conn, "EXECUTE test_echo('x', 'not a number', NULL, NULL, NULL, NULL, NULL)")


def test_values_without_a_literal_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sql_literal(datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="no SQL literal for bytes"):
        sql_literal(b"raw")
    with pytest.raises(ValueError, match="NUL character"):
        sql_literal("a\x00b")


@pytest.mark.parametrize("value", HOSTILE)
async def test_literals_do_not_depend_on_standard_conforming_strings(database_url: str, value: str) -> None:
    """A session left with standard_conforming_strings off (a role's setting, a pooler's RESET) reads
    backslashes in '' strings as escapes: the literals must mean the same there."""
    async with await _connect(database_url) as conn:
        await conn.execute("SET standard_conforming_strings TO off")
        await conn.execute("SET escape_string_warning TO off")
        await ECHO.ensure(conn)
        [result] = await simple_query(conn, ECHO.execute_sql("test_echo", (value,) + (None,) * 6))
        assert result_rows(conn, result)[0][0] == value
