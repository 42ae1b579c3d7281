"""ami.events: bounded fan-out that never blocks the publisher."""

from __future__ import annotations

import asyncio

from ami.events import EventHub


async def test_each_stream_gets_what_it_accepts() -> None:
    hub: EventHub[int] = EventHub()
    evens = hub.subscribe(accept=lambda n: n % 2 == 0)
    every = hub.subscribe()
    for n in range(6):
        hub.publish(n)
    hub.close()
    assert [n async for n in evens] == [0, 2, 4]
    assert [n async for n in every] == list(range(6))


async def test_full_stream_drops_and_counts_without_blocking() -> None:
    hub: EventHub[int] = EventHub()
    slow = hub.subscribe(maxsize=3)
    fast = hub.subscribe(maxsize=100)
    for n in range(10):
        hub.publish(n)  # synchronous: returns at once even though nobody reads `slow`
    assert slow.qsize() == 3 and slow.dropped == 7 and hub.dropped == 7
    assert fast.qsize() == 10 and fast.dropped == 0
    assert [slow.get_nowait() for _ in range(3)] == [0, 1, 2]


async def test_waiting_reader_wakes_and_close_ends_iteration() -> None:
    hub: EventHub[str] = EventHub()
    stream = hub.subscribe()
    received: list[str] = []

    async def read() -> None:
        async for item in stream:
            received.append(item)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(read())
        await asyncio.sleep(0)
        hub.publish("a")
        hub.publish("b")
        await asyncio.sleep(0)
        stream.close()
    assert received == ["a", "b"]
    assert hub.subscribers == 0


async def test_a_failing_filter_skips_only_that_stream() -> None:
    hub: EventHub[int] = EventHub()

    def broken(n: int) -> bool:
        raise RuntimeError("consumer bug")

    bad = hub.subscribe(accept=broken)
    good = hub.subscribe()
    hub.publish(1)
    assert bad.qsize() == 0 and good.qsize() == 1


async def test_context_manager_unsubscribes() -> None:
    hub: EventHub[int] = EventHub()
    async with hub.subscribe() as stream:
        hub.publish(1)
        assert await stream.get() == 1
    assert stream.closed and hub.subscribers == 0
    hub.publish(2)
    assert stream.qsize() == 0


async def test_subscribing_to_a_closed_hub_ends_at_once() -> None:
    hub: EventHub[int] = EventHub()
    hub.close()
    assert [n async for n in hub.subscribe()] == []
