"""Each [pstn-sim] behaviour through AmiClient against the real Asterisk, and 200 calls at once."""

from __future__ import annotations

import asyncio

import pytest

from ami import AmiClient, CallResult, Message, OriginateRequest, Outcome

pytestmark = pytest.mark.asterisk


def call(number: str, **variables: str) -> OriginateRequest:
    return OriginateRequest(channel=f"Local/{number}@pstn-sim", context="dialer-answered", exten="s",
                            caller_id='"Дозвон" <74950000000>', timeout_s=3, variables=variables)


# digit -> outcome, cause, variables
CASES = {
    "1": (Outcome.BUSY, 17, {}),
    "2": (Outcome.NO_ANSWER, 19, {}),
    "3": (Outcome.CONGESTION, 34, {}),
    "4": (Outcome.INVALID_NUMBER, 1, {}),
    "5": (Outcome.ANSWERED, 16, {"SIM_HOLD": "1", "DIALER_HOLD": "1"}),
    "0": (Outcome.ANSWERED, 16, {"SIM_HOLD": "1", "DIALER_HOLD": "1"}),
}


@pytest.mark.parametrize("digit", list(CASES))
async def test_pstn_sim_digit(client: AmiClient, digit: str) -> None:
    outcome, cause, variables = CASES[digit]
    handle = await client.originate(call(f"7900123456{digit}", **variables))
    async with asyncio.timeout(30):
        result = await handle.result()
    assert result.outcome is outcome
    assert result.hangup_cause == cause
    assert result.channel_id == handle.channel_id and result.linked_id == handle.channel_id
    assert result.complete
    assert result.ended_at is not None and result.started_at <= result.ended_at
    if outcome is Outcome.ANSWERED:
        assert result.answered_at is not None and result.billsec >= 1
        # AMD from [dialer-answered]: digit 5 is a voicemail greeting, digit 0 a person saying "Алло?".
        assert result.amd_status == ("MACHINE" if digit == "5" else "HUMAN")
        assert result.amd_cause
    else:
        assert result.answered_at is None and result.billsec == 0 and result.amd_status is None
    if digit == "2":
        assert result.ring_seconds is not None and 2.5 <= result.ring_seconds <= 4.5  # timeout_s=3
    assert client.tracked_calls() == []


async def test_plus_prefixed_number(client: AmiClient) -> None:
    handle = await client.originate(call("+79001234561"))
    async with asyncio.timeout(30):
        assert (await handle.result()).outcome is Outcome.BUSY


DISPOSITION = {Outcome.BUSY: "BUSY", Outcome.CONGESTION: "CONGESTION", Outcome.INVALID_NUMBER: "NO ANSWER",
               Outcome.NO_ANSWER: "NO ANSWER", Outcome.ANSWERED: "ANSWERED"}


async def test_200_concurrent_originates_correlate_one_to_one(client: AmiClient) -> None:
    # Quick behaviours only (the answered ones skip AMD and hang up at once) so 2 cores cope.
    plan = {"1": Outcome.BUSY, "3": Outcome.CONGESTION, "4": Outcome.INVALID_NUMBER,
            "2": Outcome.NO_ANSWER, "0": Outcome.ANSWERED}
    digits = [list(plan)[i % len(plan)] for i in range(200)]
    cdrs: dict[str, Message] = {}
    async with client.events({"Cdr"}, maxsize=5000) as stream:
        requests = [
            OriginateRequest(channel=f"Local/79{i:08d}{d}@pstn-sim", context="dialer-answered",
                             timeout_s=2, variables={"DIALER_AMD": "no", "DIALER_HOLD": "0", "SIM_HOLD": "0",
                                                     "DIALER_CALL_ID": f"call-{i}"})
            for i, d in enumerate(digits)
        ]
        handles = await asyncio.gather(*(client.originate(r) for r in requests))
        assert len({h.channel_id for h in handles}) == 200
        async with asyncio.timeout(90):
            results: list[CallResult] = await asyncio.gather(*(h.result() for h in handles))
            ours = {h.channel_id for h in handles}
            while len(cdrs) < 200:
                event = await stream.get()
                if event.get("UniqueID") in ours:
                    cdrs[event["UniqueID"]] = event
    for i, (digit, handle, result) in enumerate(zip(digits, handles, results, strict=True)):
        assert result.channel_id == handle.channel_id
        assert result.outcome is plan[digit], (i, digit, result)
        assert result.complete
        # Asterisk's own CDR of the same ChannelId agrees, independently of our tracker.
        cdr = cdrs[handle.channel_id]
        assert cdr["Disposition"] == DISPOSITION[result.outcome]
        if result.outcome is Outcome.ANSWERED:  # [dialer-answered] stamps the dialer's id in the CDR
            assert cdr["DialerCallId"] == f"call-{i}"
    assert client.tracked_calls() == []
    assert client.tracker_stats.lost == 0
