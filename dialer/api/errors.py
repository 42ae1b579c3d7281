"""Product errors as JSON: 422 bad value, 404 unknown name, 409 conflicting state, 400 otherwise;
503 when the database is out of reach or not migrated.

Body: `{"error": {"type": ..., "field": ... | null, "message": ...}}`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from dialer.db.errors import unusable_database_message
from dialer.errors import ConflictError, DialerError, InvalidValueError, NotFoundError

__all__ = ["error_body", "install_error_handlers"]


def error_body(kind: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "field": field, "message": message}}


def _status(exc: DialerError) -> tuple[int, str]:
    from dialer.lists import CallListError, ConcurrentImportError

    if isinstance(exc, ConcurrentImportError):
        return 409, "conflict"
    if isinstance(exc, CallListError) and not isinstance(exc, NotFoundError):
        return 422, "invalid_file"  # the file as a whole cannot be imported; nothing was stored
    if isinstance(exc, InvalidValueError):
        return 422, "invalid"
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, ConflictError):
        return 409, "conflict"
    return 400, "bad_request"


async def _dialer_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DialerError)
    status, kind = _status(exc)
    field = exc.field if isinstance(exc, InvalidValueError) else "file" if kind == "invalid_file" else None
    message = exc.message if isinstance(exc, InvalidValueError) else str(exc)
    return JSONResponse(error_body(kind, message, field), status_code=status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    # loc is ("body", "cps") / ("query", "campaign") / ("path", "name"): the last part names the field.
    where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
    field = ".".join(where) or None
    messages = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query', 'path', 'form'))}: {e['msg']}"
        for e in problems
    )
    body = error_body("invalid", messages, field)
    return JSONResponse(body, status_code=422)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    message = unusable_database_message(exc)
    if message is None:
        raise exc  # a bug: a 500, logged by the server
    return JSONResponse(error_body("database_unavailable", message), status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DialerError, _dialer_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(psycopg.Error, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
