"""The largest request body the API reads (a call list upload is spooled to disk as it arrives):
a larger one gets a 413 before it fills the disk, whether it says its length or not."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer.api.errors import send_error

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_bytes` (by Content-Length at once, else when reached)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes:,} bytes (setting api_max_upload_mb)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, 413, "too_large", self._message(), "body", [(b"connection", b"close")])
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException: FastAPI passes it on from the body parser, the error handlers
                    # answer it like any other (dialer.api.errors).
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)
