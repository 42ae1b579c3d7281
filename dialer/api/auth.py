"""Bearer tokens for the API, checked before a request's body is read.

With tokens configured (`DIALER_API_TOKEN`, several separated by commas to rotate them), every route
but the probes (`/healthz`, `/metrics`) needs `Authorization: Bearer <token>`; without, the API is
open, which `dialer api` allows on a loopback address only.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from dialer.api.errors import send_error

__all__ = ["OPEN_PATHS", "BearerAuth"]

# What a load balancer and Prometheus read without a token: no subscriber's data.
OPEN_PATHS = frozenset({"/healthz", "/metrics"})


class BearerAuth:
    """ASGI middleware: a 401 (`WWW-Authenticate: Bearer`) for a request without a valid token."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str]) -> None:
        self.app = app
        self._tokens = [token.encode() for token in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        await send_error(send, 401, "unauthorized", "missing or invalid API token: send "
                         "`Authorization: Bearer <token>`", "Authorization",
                         [(b"www-authenticate", b'Bearer realm="dialer"')])

    def _authorized(self, scope: Scope) -> bool:
        header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        scheme, _, token = header.partition(b" ")
        token = token.strip()
        # Every token is compared, in constant time each, so the time tells nothing about which matched.
        matches = [hmac.compare_digest(token, known) for known in self._tokens]
        return scheme.lower() == b"bearer" and bool(token) and any(matches)
