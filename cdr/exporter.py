"""The worker's `/metrics` and `/healthz` endpoint: a small asyncio HTTP server on the injected registry.

Asyncio-native (no thread to leak, stops with the worker's TaskGroup or `aclose()`); one request per
connection, GET/HEAD only, bounded request size and read time, so a stuck client costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from cdr.errors import CdrError

__all__ = ["DEFAULT_METRICS_PORT", "HealthCheck", "MetricsServer"]

log = structlog.stdlib.get_logger(__name__)

DEFAULT_METRICS_PORT = 9108
_MAX_REQUEST_BYTES = 16 * 1024
_READ_TIMEOUT_S = 10.0

# Returns None when healthy, else the reason (served with 503).
HealthCheck = Callable[[], Awaitable[str | None]]


class MetricsServer:
    """Serve `registry` on http://host:port/metrics and a health check on /healthz.

    ```
    async with MetricsServer(metrics.registry, port=9108) as server:   # listening from here
        ...                                                               # closed on exit
    ```
    or `await server.start()` ... `await server.aclose()`. Port 0 picks a free port (`server.port`).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        host: str = "0.0.0.0",
        port: int = DEFAULT_METRICS_PORT,
        health: HealthCheck | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self._requested_port = port
        self._health = health
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._listening = asyncio.Event()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise CdrError("MetricsServer is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and listen. CdrError naming the port when it cannot be bound."""
        if self._server is not None:
            return
        try:
            self._server = await asyncio.start_server(self._accept, self.host, self._requested_port)
        except OSError as exc:
            raise CdrError(
                f"--metrics-port {self._requested_port}: cannot listen on {self.host} ({exc.strerror or exc})"
            ) from exc
        self._listening.set()
        log.info("metrics endpoint listening", url=f"{self.url}/metrics")

    async def wait_listening(self) -> None:
        """Wait until the socket is bound (after `serve()` was started as a task)."""
        await self._listening.wait()

    async def serve(self) -> None:
        """Start and serve until cancelled (a task of the worker's TaskGroup); closes on the way out."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        server, self._server = self._server, None
        self._listening.clear()
        if server is None:
            return
        server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- HTTP ------------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except Exception as exc:  # a bad request never costs the endpoint
            log.warning("metrics request failed", error=repr(exc))
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(_READ_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_REQUEST_BYTES:
            await _respond(writer, 431, b"request header too large\n")
            return
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            await _respond(writer, 400, b"bad request line\n")
            return
        method, target, _ = parts
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if method not in ("GET", "HEAD"):
            await _respond(writer, 405, b"method not allowed\n", extra={"Allow": "GET, HEAD"})
            return
        path = target.split("?", 1)[0]
        head_only = method == "HEAD"
        if path == "/metrics":
            encoder, content_type = choose_encoder(headers.get("accept", ""))
            body = await asyncio.to_thread(encoder, self.registry)
            await _respond(writer, 200, body, content_type=content_type, head_only=head_only)
        elif path == "/healthz":
            problem = await self._health() if self._health is not None else None
            if problem is None:
                await _respond(writer, 200, b"ok\n", head_only=head_only)
            else:
                await _respond(writer, 503, f"unhealthy: {problem}\n".encode(), head_only=head_only)
        else:
            await _respond(writer, 404, b"not found: try /metrics or /healthz\n", head_only=head_only)


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            431: "Request Header Fields Too Large", 503: "Service Unavailable"}


async def _respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, *, content_type: str = "text/plain; charset=utf-8",
    head_only: bool = False, extra: dict[str, str] | None = None,
) -> None:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close",
               **(extra or {})}
    head = f"HTTP/1.1 {status} {_REASONS[status]}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode("latin-1") + b"\r\n" + (b"" if head_only else body))
    await writer.drain()
