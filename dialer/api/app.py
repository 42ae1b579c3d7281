"""The FastAPI application. The caller owns the engine; each request runs in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.api.errors import install_error_handlers
from dialer.db.session import make_sessionmaker

__all__ = ["Clock", "ControlPlane", "create_app", "get_plane"]

Clock = Callable[[], datetime]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ControlPlane:
    """What the routes share: the session factory over the caller's engine, and the clock."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block succeeds, rolled back (nothing stored) on error."""
        async with self._sessions() as session, session.begin():
            yield session


def get_plane(request: Request) -> ControlPlane:
    plane: ControlPlane = request.app.state.control_plane
    return plane


Plane = Annotated[ControlPlane, Depends(get_plane)]


def create_app(
    engine: AsyncEngine,
    *,
    clock: Clock = utc_now,
    extra_routers: Sequence[APIRouter] = (),
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """The API over `engine`; `extra_routers` lets other packages add theirs (e.g. /healthz, /metrics);
    `lifespan` is the server's (e.g. to dispose the engine the caller created)."""
    from dialer.api import routes_campaigns, routes_companies, routes_contacts, routes_trunks

    app = FastAPI(title="dialer", summary="Outbound dialer control plane", version="1", lifespan=lifespan)
    app.state.control_plane = ControlPlane(engine, clock)
    install_error_handlers(app)
    for router in (
        routes_trunks.router,
        routes_companies.router,
        routes_campaigns.router,
        routes_contacts.router,
        *extra_routers,
    ):
        app.include_router(router)
    return app

