"""A loopback TCP proxy between the AMI client and Asterisk that a test controls.

`cut()` drops every live connection (both sides), `refuse` makes new connections close at once,
`freeze()` stops forwarding while keeping the sockets open (a half-open link as the client sees it).
Bytes sent by the client are recorded per connection, frozen or not, so a test can tell what was
sent on which connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self


@dataclass
class ProxiedConnection:
    upstream: bytearray = field(default_factory=bytearray)  # client -> Asterisk, as received
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def abort(self) -> None:
        for writer in self.writers:
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()


class LoopbackProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.refuse = False
        self.connections: list[ProxiedConnection] = []
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = asyncio.Condition()
        self.received = asyncio.Condition()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def cut(self) -> None:
        for connection in self.connections:
            connection.abort()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    @property
    def live(self) -> int:
        return sum(1 for c in self.connections if not all(w.transport.is_closing() for w in c.writers))

    async def wait_connections(self, count: int) -> ProxiedConnection:
        """Wait until `count` connections were accepted; the last one."""
        async with self.accepted:
            await self.accepted.wait_for(lambda: len(self.connections) >= count)
        return self.connections[count - 1]

    async def wait_upstream(self, connection: ProxiedConnection, *needles: bytes) -> None:
        """Wait until the client has sent every one of `needles` on `connection`."""
        async with self.received:
            await self.received.wait_for(lambda: all(n in connection.upstream for n in needles))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        connection = ProxiedConnection(writers=[writer, up_writer])
        self.connections.append(connection)
        async with self.accepted:
            self.accepted.notify_all()
        for source, sink, record in ((reader, up_writer, connection.upstream), (up_reader, writer, None)):
            task = asyncio.get_running_loop().create_task(self._pump(source, sink, record, connection))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bytearray | None,
                    connection: ProxiedConnection) -> None:
        try:
            while data := await source.read(65536):
                if record is not None:
                    record += data
                    async with self.received:
                        self.received.notify_all()
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            connection.abort()
            with contextlib.suppress(Exception):
                sink.close()
