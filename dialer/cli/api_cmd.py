"""`dialer api`: serve the HTTP API with uvicorn on uvloop."""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from dialer.cli.common import db_url, fail, settings
from dialer.runtime import freeze_heap

if TYPE_CHECKING:  # FastAPI is imported when the API is served, not by every `dialer` command
    from fastapi import APIRouter, FastAPI

# Routers other packages offer to the API (e.g. /healthz and /metrics), mounted when present.
_EXTRA_ROUTERS = [("cdr.api", "router")]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _extra_routers() -> list[APIRouter]:
    from fastapi import APIRouter

    routers: list[APIRouter] = []
    for module, attribute in _EXTRA_ROUTERS:
        if importlib.util.find_spec(module.split(".")[0]) and importlib.util.find_spec(module):
            router = getattr(importlib.import_module(module), attribute, None)
            if isinstance(router, APIRouter):
                routers.append(router)
    return routers


def api(
    host: Annotated[str | None, typer.Option("--host", help="Listen address (default: settings api_host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Listen port (default: settings api_port).")] = None,
) -> None:
    """Serve the HTTP API (campaigns, trunks, companies, call lists, contacts)."""
    import uvicorn

    from dialer.api import create_app
    from dialer.db.session import make_engine

    config = settings()
    listen = host or config.api_host
    tokens = [token.get_secret_value() for token in config.api_tokens]
    if not tokens and not _is_loopback(listen):
        fail(f"the API would serve {listen} with no access token: anyone who reaches it could read the "
             "call lists and start campaigns. Set DIALER_API_TOKEN (e.g. `openssl rand -hex 32`; clients "
             "send `Authorization: Bearer <token>`), or listen on 127.0.0.1.", code=2)
    engine = make_engine(db_url(), application_name="dialer api")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        freeze_heap()
        try:
            yield
        finally:
            await engine.dispose()

    app = create_app(engine, extra_routers=_extra_routers(), lifespan=lifespan, tokens=tokens,
                     max_body_bytes=config.api_max_upload_mb * 2**20,
                     dial_lead_seconds=config.worker.dial_lead_seconds)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it once its own handler is gone; with
    # this no-op as the handler it restores, a requested stop exits 0 (as systemd and Docker expect).
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    uvicorn.run(
        app,
        host=listen,
        port=port or config.api_port,
        loop="uvloop",
        log_config=None,  # keep the process's structured logging
        access_log=True,
    )
