"""Real calls through the Asterisk sandbox for the cdr tests: a minimal dialer loop on `ami.AmiClient`.

It does what the worker does for CDRs and metrics (originate at a pace, follow each call to its
end, feed DialerMetrics and CdrWriter) and nothing else, so the cdr package can be tested end to
end while the real worker is written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ami import AmiClient, CallResult, OriginateRequest
from cdr import CdrRecord, CdrWriter, DialerMetrics
from cdr.from_ami import record_from_result

SIM = "pstn-sim"


@dataclass(frozen=True)
class PlannedCall:
    phone: str  # the last digit picks the behaviour in [pstn-sim]
    hold_s: int = 1  # seconds a simulated person stays on the line (SIM_HOLD)


@dataclass(frozen=True)
class PlacedCall:
    planned: PlannedCall
    result: CallResult
    record: CdrRecord


@dataclass(frozen=True)
class Campaign:
    name: str
    campaign_id: int
    company_id: int
    trunk: str


def request_for(call: PlannedCall, channel_id: str) -> OriginateRequest:
    return OriginateRequest(
        channel=f"Local/{call.phone}@{SIM}",
        context="dialer-answered",
        channel_id=channel_id,
        # Digit 2 rings until the Originate timeout: keep it short.
        timeout_s=3,
        # No AMD (it needs 1.5-3 s of audio) and a short answered leg: billsec is SIM_HOLD.
        variables={"SIM_HOLD": str(call.hold_s), "DIALER_AMD": "no", "DIALER_HOLD": "30"},
    )


async def place_calls(
    client: AmiClient,
    calls: Sequence[PlannedCall],
    *,
    campaign: Campaign,
    cps: float,
    metrics: DialerMetrics | None = None,
    writer: CdrWriter | None = None,
    worker_id: str = "cdr-test",
    on_originated: Callable[[str], None] | None = None,
) -> list[PlacedCall]:
    """Originate `calls` at `cps` (absolute schedule), follow each to its end, record metrics and CDRs."""
    placed: list[PlacedCall] = []
    start = time.monotonic()

    async def one(index: int, call: PlannedCall) -> None:
        await asyncio.sleep(max(0.0, start + index / cps - time.monotonic()))
        channel_id = client.new_channel_id()
        if metrics is not None:
            metrics.call_started(campaign=campaign.name, trunk=campaign.trunk)
        handle = await client.originate(request_for(call, channel_id))
        if on_originated is not None:
            on_originated(channel_id)
        result = await handle.result()
        if metrics is not None:
            metrics.call_ended(
                campaign=campaign.name, trunk=campaign.trunk, outcome=result.outcome.value,
                answered=result.answered_at is not None, billsec=result.billsec, ring_seconds=result.ring_seconds,
            )
        record = record_from_result(
            result, phone=call.phone, campaign_id=campaign.campaign_id, company_id=campaign.company_id,
            trunk=campaign.trunk, worker_id=worker_id, subscriber_key=call.phone,
        )
        if writer is not None:
            writer.submit(record)
        placed.append(PlacedCall(call, result, record))

    async with asyncio.TaskGroup() as tg:
        for index, call in enumerate(calls):
            tg.create_task(one(index, call))
    return placed


def mixed_calls(count: int, *, prefix: str = "+790055") -> list[PlannedCall]:
    """E.164 numbers over every behaviour of [pstn-sim]; people hold 1 to 4 s so billsec varies."""
    digits = "0161738905"  # answered (0,6,7,8,9) and machine (5) twice as often as the failures
    return [
        PlannedCall(phone=f"{prefix}{i:04d}{digits[i % len(digits)]}", hold_s=1 + i % 4)
        for i in range(count)
    ]
