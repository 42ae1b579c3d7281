"""Client CPU per call of `ami.AmiClient` against a bare asyncio AMI client, same Asterisk, same run.

    .venv/bin/python benchmarks/bench_ami.py [--calls 1000] [--window 100] [--host 127.0.0.1 --port 5038]

Workload: bursts of Async Originates to `Local/...1@pstn-sim` (busy: fails at once), `--window` in
flight, each call followed to its end (OriginateResponse, both Hangups, the Cdr). Both clients log in
with the same event classes and the same event Filter, so they receive the same traffic; the bare
client splits on the blank line and builds a dict per message, nothing more. Runs on uvloop, like the
dialer. Prints one JSON object: `figure` = our client CPU ms per call, `baseline` = the bare client's,
`ratio` = figure / baseline (lower is better), plus calls/s; and panoramisk 1.4 on the same workload
for reference (ASTERISK_NOTES.md measured it at 3.7x a bare client).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import uvloop  # noqa: E402

from ami import AmiClient, AmiOptions, OriginateRequest, Outcome  # noqa: E402
from ami.connection import DEFAULT_EVENT_NAMES  # noqa: E402

CHANNEL = "Local/7900{:06d}1@pstn-sim"


class BareClient(asyncio.Protocol):
    """The least an asyncio AMI client can do and still follow each call to its end."""

    def __init__(self) -> None:
        self.buffer = b""
        self.waiting: dict[str, asyncio.Future[dict[str, str]]] = {}
        self.calls: dict[str, list[int]] = {}  # channel id -> [response, hangups, cdr]
        self.done: dict[str, asyncio.Future[None]] = {}
        self.by_action: dict[str, str] = {}
        self.legs: dict[str, str] = {}  # Uniqueid of either leg -> channel id
        self.banner = asyncio.get_running_loop().create_future()
        self.booted = asyncio.get_running_loop().create_future()
        self.ids = itertools.count()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if not self.banner.done():
            line, _, buffer = buffer.partition(b"\r\n")
            self.banner.set_result(line)
        *blocks, self.buffer = buffer.split(b"\r\n\r\n")
        for block in blocks:
            message = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line)
            self.handle(message)

    def handle(self, m: dict[str, str]) -> None:
        event = m.get("Event")
        if event is None:
            future = self.waiting.pop(m.get("ActionID", ""), None)
            if future is not None:
                future.set_result(m)
            return
        if event == "FullyBooted" and not self.booted.done():
            self.booted.set_result(None)
            return
        if event == "OriginateResponse":
            channel = self.by_action.pop(m.get("ActionID", ""), None)
        else:
            channel = self.legs.get(m.get("Uniqueid") or m.get("UniqueID") or "")
        state = self.calls.get(channel or "")
        if state is None:
            return
        if event == "OriginateResponse":
            state[0] = 1
        elif event == "Hangup":
            state[1] += 1
        elif event == "Cdr" and (m.get("UniqueID") == channel):
            state[2] = 1
        if state[0] and state[1] == 2 and state[2]:
            del self.calls[channel or ""]
            del self.legs[channel or ""], self.legs[f"{channel}-2"]
            self.done.pop(channel or "").set_result(None)

    def action(self, fields: list[tuple[str, str]], channel_id: str | None = None
               ) -> asyncio.Future[dict[str, str]]:
        action_id = f"bare-{next(self.ids)}"
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self.waiting[action_id] = future
        if channel_id is not None:
            self.by_action[action_id] = channel_id
        text = "".join(f"{k}: {v}\r\n" for k, v in [fields[0], ("ActionID", action_id), *fields[1:]])
        self.transport.write((text + "\r\n").encode())  # type: ignore[attr-defined]
        return future

    async def originate(self, channel: str, channel_id: str) -> None:
        self.calls[channel_id] = [0, 0, 0]
        self.legs[channel_id] = self.legs[f"{channel_id}-2"] = channel_id
        done = self.done[channel_id] = asyncio.get_running_loop().create_future()
        action = self.action([("Action", "Originate"), ("Channel", channel), ("Context", "dialer-answered"),
                              ("Exten", "s"), ("Priority", "1"), ("Timeout", "10000"), ("Async", "true"),
                              ("ChannelId", channel_id), ("OtherChannelId", f"{channel_id}-2")], channel_id)
        reply = await action
        assert reply["Response"] == "Success", reply
        await done


async def burst(originate: Callable[[int], Awaitable[None]], calls: int, window: int) -> tuple[float, float]:
    """Wall seconds and process CPU seconds to complete `calls` with `window` in flight."""
    gate = asyncio.Semaphore(window)

    async def one(i: int) -> None:
        async with gate:
            await originate(i)

    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    async with asyncio.TaskGroup() as tg:
        for i in range(calls):
            tg.create_task(one(i))
    return time.perf_counter() - wall, time.process_time() - cpu


async def run_ours(args: argparse.Namespace, run: int) -> tuple[float, float]:
    async with AmiClient(args.host, args.port, args.user, args.secret, name=f"bench{run}") as client:
        async def originate(i: int) -> None:
            handle = await client.originate(OriginateRequest(channel=CHANNEL.format(i), context="dialer-answered",
                                                             timeout_s=10))
            result = await handle.result()
            assert result.outcome is Outcome.BUSY, result

        return await burst(originate, args.calls, args.window)


async def run_bare(args: argparse.Namespace, run: int) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    transport, bare = await loop.create_connection(BareClient, args.host, args.port)
    await bare.banner
    login = await bare.action([("Action", "Login"), ("Username", args.user), ("Secret", args.secret),
                               ("Events", AmiOptions().event_classes)])
    assert login["Response"] == "Success", login
    await bare.booted
    names = "|".join(sorted(DEFAULT_EVENT_NAMES))
    await bare.action([("Action", "Filter"), ("Operation", "Add"), ("Filter", f"Event: ({names})[[:space:]]")])
    prefix = f"bare{run}-{time.monotonic_ns()}-"
    try:
        return await burst(lambda i: bare.originate(CHANNEL.format(i), f"{prefix}{i:010d}"), args.calls,
                           args.window)
    finally:
        transport.close()


async def run_panoramisk(args: argparse.Namespace, run: int) -> tuple[float, float]:
    """The same workload on panoramisk 1.4's Manager, for reference (the design's first choice)."""
    from panoramisk import Manager

    loop = asyncio.get_running_loop()
    logged_in: asyncio.Future[None] = loop.create_future()
    manager = Manager(host=args.host, port=args.port, username=args.user, secret=args.secret,
                      events=AmiOptions().event_classes, loop=loop, ping_delay=3600, ping_interval=3600,
                      on_login=lambda _: logged_in.done() or logged_in.set_result(None))
    legs: dict[str, str] = {}
    state: dict[str, list[int]] = {}
    done: dict[str, asyncio.Future[None]] = {}

    def finish(channel: str) -> None:
        progress = state[channel]
        if progress[0] and progress[1] == 2 and progress[2]:
            del state[channel], legs[channel], legs[f"{channel}-2"]
            done.pop(channel).set_result(None)

    def on_event(_: object, event: dict[str, str]) -> None:
        channel = legs.get(event.get("Uniqueid") or event.get("UniqueID") or "")
        if channel is None:
            return
        if event["Event"] == "Hangup":
            state[channel][1] += 1
        elif event["Event"] == "Cdr" and event.get("UniqueID") == channel:
            state[channel][2] = 1
        finish(channel)

    manager.register_event("Hangup", on_event)
    manager.register_event("Cdr", on_event)
    manager.connect()
    await logged_in
    names = "|".join(sorted(DEFAULT_EVENT_NAMES))
    await manager.send_action({"Action": "Filter", "Operation": "Add", "Filter": f"Event: ({names})[[:space:]]"})
    prefix = f"pk{run}-{time.monotonic_ns()}-"

    async def originate(i: int) -> None:
        channel = f"{prefix}{i:010d}"
        legs[channel] = legs[f"{channel}-2"] = channel
        state[channel] = [0, 0, 0]
        finished = done[channel] = loop.create_future()
        # With Async, panoramisk's future resolves with [Response, OriginateResponse].
        await manager.send_action({"Action": "Originate", "Channel": CHANNEL.format(i), "Context": "dialer-answered",
                                   "Exten": "s", "Priority": "1", "Timeout": "10000", "Async": "true",
                                   "ChannelId": channel, "OtherChannelId": f"{channel}-2"})
        if channel in state:
            state[channel][0] = 1
            finish(channel)
        await finished

    try:
        return await burst(originate, args.calls, args.window)
    finally:
        manager.close()


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    ours: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    pk: list[tuple[float, float]] = []
    # Interleave runs so all clients see the same machine load; keep each client's best run.
    for run in range(args.repeats):
        bare.append(await run_bare(args, run))
        ours.append(await run_ours(args, run))
        if args.panoramisk:
            pk.append(await run_panoramisk(args, run))

    def summary(runs: list[tuple[float, float]]) -> dict[str, float]:
        wall = min(w for w, _ in runs)
        cpu = min(c for _, c in runs)
        return {"calls_per_s": round(args.calls / wall, 1), "cpu_ms_per_call": round(cpu * 1000 / args.calls, 4)}

    o, b = summary(ours), summary(bare)
    reference: dict[str, object] = {}
    if pk:
        p = summary(pk)
        reference = {"panoramisk": {**p, "ratio": round(p["cpu_ms_per_call"] / b["cpu_ms_per_call"], 2)}}
    return {
        "benchmark": "ami_originate_burst",
        "unit": "client CPU ms per completed call (lower is better)",
        "calls": args.calls,
        "window": args.window,
        "repeats": args.repeats,
        "figure": o["cpu_ms_per_call"],
        "baseline": b["cpu_ms_per_call"],
        "ratio": round(o["cpu_ms_per_call"] / b["cpu_ms_per_call"], 2),
        "ours": o,
        "bare_asyncio": b,
        "calls_per_s_ratio": round(o["calls_per_s"] / b["calls_per_s"], 2),
        **reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--user", default="dialer")
    parser.add_argument("--secret", default="dialer")
    parser.add_argument("--no-panoramisk", dest="panoramisk", action="store_false",
                        help="skip the panoramisk reference run")
    args = parser.parse_args()
    print(json.dumps(uvloop.run(main_async(args))))


if __name__ == "__main__":
    main()
