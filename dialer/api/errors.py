"""Product errors as JSON (401 without a valid token: `dialer.api.auth`): 422 bad value, 404 unknown name,
409 conflicting state, 400 otherwise;
503 when the database is out of reach or not migrated; 422 for a value the database refuses
(SQLSTATE class 22) that no check caught. HTTP errors of the framework (unknown route, unreadable
body) get the same shape.

Body: `{"error": {"type": ..., "field": ... | null, "message": ...}}`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.types import Send

from dialer.db.errors import refused_value_message, unusable_database_message
from dialer.errors import ConflictError, DialerError, InvalidValueError, NotFoundError

__all__ = ["error_body", "install_error_handlers", "send_error"]


def error_body(kind: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "field": field, "message": message}}


async def send_error(send: Send, status: int, kind: str, message: str, field: str | None,
                     headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """The error body as a whole response, from an ASGI middleware (before the app reads the request)."""
    body = json.dumps(error_body(kind, message, field)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


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


_LOCATIONS = ("body", "query", "path", "form")


def _validation_problem(problem: Any) -> tuple[str | None, str]:
    """(field, message) of one pydantic / FastAPI validation problem."""
    if problem.get("type") == "json_invalid":
        # FastAPI puts the character offset in loc (("body", 8)): it is no field.
        position = next((p for p in problem.get("loc", ()) if isinstance(p, int)), None)
        reason = (problem.get("ctx") or {}).get("error") or problem.get("msg") or "JSON decode error"
        where = "" if position is None else f" at character {position}"
        return "body", f"invalid JSON{where}: {reason}"
    # loc is ("body", "cps") / ("query", "campaign") / ("path", "name"): the last part names the field.
    field = ".".join(str(p) for p in problem.get("loc", ()) if p not in _LOCATIONS) or None
    return field, f"{field}: {problem['msg']}" if field else str(problem["msg"])


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_validation_problem(p) for p in exc.errors()] or [(None, "invalid request")]
    body = error_body("invalid", "; ".join(message for _, message in problems), problems[0][0])
    return JSONResponse(body, status_code=422)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    message = unusable_database_message(exc)
    if message is not None:
        return JSONResponse(error_body("database_unavailable", message), status_code=503)
    message = refused_value_message(exc)
    if message is not None:  # the transaction rolled back: nothing was stored
        return JSONResponse(error_body("invalid", message), status_code=422)
    raise exc  # a bug: a 500, logged by the server


_HTTP_KINDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "too_large",
               422: "invalid", 503: "unavailable"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not isinstance(exc.detail, str):
        return await http_exception_handler(request, exc)
    field, message = ("body" if exc.status_code == 413 else None), exc.detail
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):  # FastAPI's "There was an error parsing the body"
        field, message = "body", f"the body is not valid UTF-8 (byte {cause.start}: {cause.reason})"
    kind = _HTTP_KINDS.get(exc.status_code, "bad_request" if exc.status_code < 500 else "error")
    return JSONResponse(error_body(kind, message, field), status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DialerError, _dialer_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(psycopg.Error, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
