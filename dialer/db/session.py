"""Engines and sessions. Callers own them: functions that touch the database take a session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dialer.db.url import libpq_url, sqlalchemy_url

# What `pg_stat_activity.application_name` shows for our sessions unless the URL (or PGAPPNAME) names one:
# a DBA can tell the workers' sessions apart, and which worker holds which lock.
APPLICATION_NAME = "dialer"


def make_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 10, application_name: str = APPLICATION_NAME
) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url), pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True,
        connect_args={"fallback_application_name": application_name},
    )


def make_hot_pool(
    url: str, *, name: str, min_size: int = 2, max_size: int = 10, application_name: str = APPLICATION_NAME
) -> AsyncConnectionPool[Any]:
    """The psycopg pool of a worker's hot path (leases, the compliance gate, closing calls), opened by the
    caller. Autocommit: a one-statement write costs no BEGIN/COMMIT round trips; the gate and the lease
    open their transaction explicitly."""
    return AsyncConnectionPool(
        libpq_url(url), min_size=min_size, max_size=max_size, open=False, name=name,
        kwargs={"autocommit": True, "fallback_application_name": application_name},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed on success, rolled back on error."""
    async with make_sessionmaker(engine)() as session, session.begin():
        yield session
