"""HTTP routes cdr offers to the API (`dialer api` mounts `router`): health, metrics, report panels.

`GET /reports/{key}` runs the same query as the Grafana panel of that key (cdr.queries), so the API,
the dashboard and the reports agree. The database engine is the API's (`app.state.control_plane`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr.queries import dashboard_queries, run_query

__all__ = ["router"]

router = APIRouter(tags=["cdr"])
_QUERIES = {q.key: q for q in dashboard_queries()}


def _engine(request: Request) -> AsyncEngine:
    plane = getattr(request.app.state, "control_plane", None)
    engine = getattr(plane, "engine", None) or getattr(request.app.state, "engine", None)
    if not isinstance(engine, AsyncEngine):
        raise HTTPException(503, "no database engine configured for the cdr routes")
    return engine


@router.get("/healthz", summary="Liveness and database reachability")
async def healthz(request: Request, response: Response) -> dict[str, str]:
    try:
        async with _engine(request).connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach PostgreSQL is "unhealthy", never a 500
        response.status_code = 503
        return {"status": "unhealthy", "database": type(exc).__name__}
    return {"status": "ok", "database": "ok"}


@router.get("/metrics", summary="Prometheus metrics of the API process", response_class=Response)
async def metrics(request: Request) -> Response:
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(REGISTRY), media_type=content_type)


@router.get("/reports", summary="The report panels (the SQL panels of the Grafana dashboard)")
async def reports() -> list[dict[str, str]]:
    return [{"key": q.key, "title": q.title, "source": q.source} for q in _QUERIES.values()]


@router.get("/reports/{key}", summary="Rows of one report panel for a company")
async def report(
    request: Request,
    key: str,
    company_id: Annotated[int, Query(ge=1, description="Company whose calls and time zone to use")],
    at: Annotated[datetime | None, Query(description="Instant the periods end at (default now)")] = None,
) -> dict[str, Any]:
    query = _QUERIES.get(key)
    if query is None:
        raise HTTPException(404, f"no report {key!r}; see GET /reports")
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, f"at={at.isoformat()}: give a time zone offset (e.g. +03:00 or Z)")
    now = at or datetime.now(UTC)
    async with _engine(request).connect() as conn:
        zone = (await conn.execute(text("SELECT timezone FROM companies WHERE id = :c"),
                                   {"c": company_id})).scalar_one_or_none()
        if zone is None:
            raise HTTPException(404, f"company_id={company_id}: no such company")
        rows = await run_query(conn, query, company_id=company_id, now=now)
    return {"key": key, "title": query.title, "company_id": company_id, "timezone": zone, "at": now.isoformat(),
            "rows": rows}
