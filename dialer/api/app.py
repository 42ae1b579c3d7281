"""The FastAPI application. The caller owns the engine; each request runs in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compliance import Registry
from dialer.api.auth import BearerAuth
from dialer.api.errors import install_error_handlers
from dialer.api.limits import BodyLimit
from dialer.db.session import make_sessionmaker
from dialer.errors import InvalidValueError
from dialer.registry_store import configured_registry
from dialer.settings import DEFAULT_API_MAX_UPLOAD_MB, DEFAULT_DIAL_LEAD_SECONDS

__all__ = ["Clock", "ControlPlane", "create_app", "get_plane"]

Clock = Callable[[], datetime]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ControlPlane:
    """What the routes share: the session factory over the caller's engine, the clock, and the workers'
    dial lead (a contact's next dial is judged as they judge it)."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        registry_paths: Sequence[Path] | None,
        reports_dir: Path | None,
        dial_lead_seconds: int = DEFAULT_DIAL_LEAD_SECONDS,
    ) -> None:
        self.engine = engine
        self.reports_dir = reports_dir
        self.clock = clock
        self.dial_lead_seconds = dial_lead_seconds
        self._sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
        self._registry_paths = registry_paths
        self._registry: Registry | None = None
        self._registry_lock = asyncio.Lock()

    async def registry(self) -> Registry | None:
        """The numbering registry for call-list imports, loaded once per process (it is large)."""
        async with self._registry_lock:
            if self._registry is None:
                self._registry = await configured_registry(self.engine, self._registry_paths)
            return self._registry

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block succeeds, rolled back (nothing stored) on error."""
        async with self._sessions() as session, session.begin():
            yield session


def get_plane(request: Request) -> ControlPlane:
    plane: ControlPlane = request.app.state.control_plane
    return plane


Plane = Annotated[ControlPlane, Depends(get_plane)]


def _reject_nul(request: Request) -> None:
    """Names in the path and query are looked up in PostgreSQL, whose text cannot hold NUL: such a
    name names nothing, and saying so here keeps every route from a driver error (a 500)."""
    for where, params in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for key, value in params:
            if isinstance(value, str) and "\x00" in value:
                raise InvalidValueError(key, f"the {where} parameter must not contain NUL (\\x00) characters")


def create_app(
    engine: AsyncEngine,
    *,
    clock: Clock = utc_now,
    extra_routers: Sequence[APIRouter] = (),
    lifespan: Lifespan | None = None,
    registry_paths: Sequence[Path] | None = None,
    reports_dir: Path | None = None,
    tokens: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_API_MAX_UPLOAD_MB * 2**20,
    dial_lead_seconds: int = DEFAULT_DIAL_LEAD_SECONDS,
) -> FastAPI:
    """The API over `engine`; `extra_routers` lets other packages add theirs (e.g. /healthz, /metrics);
    `lifespan` is the server's (e.g. to dispose the engine the caller created); `registry_paths`
    (default: settings) are the numbering registry files call-list uploads resolve zones with;
    `reports_dir` (default: $DIALER_HOME/reports) receives their reject reports; with `tokens`, every
    route but the probes needs one of them as a bearer token (`dialer.api.auth`); a request body over
    `max_body_bytes` gets a 413 (`dialer.api.limits`); `dial_lead_seconds` is the workers' (settings)."""
    from dialer.api import (
        routes_campaigns,
        routes_companies,
        routes_contacts,
        routes_dnc,
        routes_exports,
        routes_lists,
        routes_trunks,
    )

    app = FastAPI(title="dialer", summary="Outbound dialer control plane", version="1", lifespan=lifespan,
                  dependencies=[Depends(_reject_nul)])
    app.state.control_plane = ControlPlane(engine, clock, registry_paths, reports_dir, dial_lead_seconds)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if tokens:
        app.add_middleware(BearerAuth, tokens=tokens)
    for router in (
        routes_trunks.router,
        routes_companies.router,
        routes_campaigns.router,
        routes_lists.router,
        routes_contacts.router,
        routes_exports.router,
        routes_dnc.router,
        *extra_routers,
    ):
        app.include_router(router)
    return app

