"""Fan-out of events to consumers through bounded buffers, so a slow consumer never blocks the reader.

The AMI reader must keep draining the socket (manager.conf `writetimeout` drops a client that reads
too slowly), so delivery is `put_nowait` into each subscriber's bounded buffer; when a buffer is full
the new item is dropped and counted on that stream (`EventStream.dropped`) and on the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

__all__ = ["EventHub", "EventStream"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class EventStream(Generic[T]):
    """An async iterator over the items of one subscription; also an async context manager.

    Iteration ends when the stream is closed (by `close()`, leaving the `async with`, or the hub's
    owner shutting down).
    """

    def __init__(self, hub: EventHub[T], maxsize: int, accept: Callable[[T], bool] | None) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._hub = hub
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._accept = accept
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.delivered = 0
        self.dropped = 0

    def offer(self, item: T) -> None:
        if self.closed:
            return
        if len(self._items) >= self._maxsize:
            self.dropped += 1
            self._hub.dropped += 1
            return
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def qsize(self) -> int:
        return len(self._items)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._hub._remove(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> T | None:
        if self._items:
            self.delivered += 1
            return self._items.popleft()
        return None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        while not self._items:
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self.delivered += 1
        return self._items.popleft()

    async def get(self) -> T:
        """The next item; StopAsyncIteration once closed."""
        return await self.__anext__()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventHub(Generic[T]):
    """Publishes each item to every subscribed stream whose filter accepts it."""

    def __init__(self) -> None:
        self._streams: list[EventStream[T]] = []
        self.closed = False
        self.dropped = 0
        self.published = 0

    def subscribe(self, maxsize: int = 10_000, accept: Callable[[T], bool] | None = None) -> EventStream[T]:
        stream = EventStream(self, maxsize, accept)
        if self.closed:
            stream.closed = True  # iteration ends at once instead of waiting forever
        else:
            self._streams.append(stream)
        return stream

    def publish(self, item: T) -> None:
        self.published += 1
        for stream in self._streams:
            accept = stream._accept
            if accept is not None:
                try:
                    if not accept(item):
                        continue
                except Exception:  # a consumer's filter must not break the reader
                    log.exception("ami.event_filter_failed")
                    continue
            stream.offer(item)

    @property
    def subscribers(self) -> int:
        return len(self._streams)

    def close(self) -> None:
        self.closed = True
        for stream in list(self._streams):
            stream.close()

    def _remove(self, stream: EventStream[T]) -> None:
        with contextlib.suppress(ValueError):
            self._streams.remove(stream)
