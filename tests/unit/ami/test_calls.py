"""ami.calls: the call tracker replayed on captured Asterisk 22 traffic, and its resync rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ami.calls import CallAnswered, CallEnded, CallEvent, CallStarted, CallState, CallTracker, OriginateRequest
from ami.errors import AmiError, UnsafeFieldError
from ami.outcomes import Outcome
from ami.protocol import Message, Parser
from tests.unit.ami.clock import FakeClock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ami"
GRACE = 1.5


def capture(name: str) -> tuple[str, list[Message]]:
    """The capture's events and the ChannelId it originated with (the first Newchannel's Uniqueid)."""
    events = [m for m in Parser().feed((FIXTURES / f"{name}.bin").read_bytes()) if m.is_event]
    channel_id = next(m["Uniqueid"] for m in events if m.name == "Newchannel")
    return channel_id, events


def request(digit: str = "1", **kw: object) -> OriginateRequest:
    return OriginateRequest(channel=f"Local/7900123456{digit}@pstn-sim", context="dialer-answered",
                            **kw)  # type: ignore[arg-type]


def tracker(clock: FakeClock, published: list[CallEvent] | None = None) -> CallTracker:
    return CallTracker(clock, cdr_grace=GRACE, hangup_grace=GRACE, originate_margin=60,
                       publish=published.append if published is not None else None)


EXPECTED = {
    # capture: (outcome, cause, reason, billsec, amd)
    "busy": (Outcome.BUSY, 17, 5, 0, None),
    "no_answer": (Outcome.NO_ANSWER, 19, 3, 0, None),
    "congestion": (Outcome.CONGESTION, 34, 8, 0, None),
    "invalid_number": (Outcome.INVALID_NUMBER, 1, 0, 0, None),
    "answered_machine": (Outcome.ANSWERED, 16, 4, 5, "MACHINE"),
    "answered_human": (Outcome.ANSWERED, 16, 4, 2, "HUMAN"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
async def test_capture_resolves_with_its_outcome(name: str) -> None:
    outcome, cause, reason, billsec, amd = EXPECTED[name]
    channel_id, events = capture(name)
    clock = FakeClock()
    published: list[CallEvent] = []
    calls = tracker(clock, published)
    handle = calls.track(request(), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    calls.accepted(channel_id)
    for event in events:
        calls.on_event(event)
    # Everything arrived (both Hangups, the Cdr): resolved without waiting for a grace period.
    assert handle.done()
    result = await handle.result()
    assert (result.outcome, result.hangup_cause, result.originate_reason, result.billsec, result.amd_status) == (
        outcome, cause, reason, billsec, amd)
    assert result.complete
    assert result.channel_id == channel_id and result.linked_id == channel_id
    assert result.started_at.tzinfo is UTC and result.ended_at is not None and result.ended_at.tzinfo is UTC
    assert result.started_at <= result.ended_at
    if outcome is Outcome.ANSWERED:
        assert result.answered_at is not None and result.amd_cause
        assert result.ring_seconds is not None and result.ring_seconds < 1
        assert [type(e) for e in published] == [CallStarted, CallAnswered, CallEnded]
    else:
        assert result.answered_at is None
        assert [type(e) for e in published] == [CallStarted, CallEnded]
    if name == "no_answer":
        assert result.ring_seconds == pytest.approx(3.0, abs=0.3)
    assert handle.state is CallState.ENDED
    assert len(calls) == 0 and calls.stats.resolved == 1 and calls.stats.lost == 0


async def test_other_calls_in_the_stream_are_ignored() -> None:
    # answered_human.bin also holds another engineer's calls (probe-*): they must not disturb ours.
    channel_id, events = capture("answered_human")
    calls = tracker(FakeClock())
    handle = calls.track(request("0"), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    for event in events:
        calls.on_event(event)
    assert (await handle.result()).amd_status == "HUMAN"


async def test_missing_cdr_resolves_after_the_grace() -> None:
    channel_id, events = capture("answered_machine")
    clock = FakeClock()
    calls = tracker(clock)
    handle = calls.track(request("5"), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    for event in events:
        if event.name != "Cdr":
            calls.on_event(event)
    assert not handle.done() and handle.state is CallState.HUNG_UP
    clock.advance(GRACE - 0.1)
    assert calls.expire() == 0
    clock.advance(0.2)
    assert calls.expire() == 1
    result = await handle.result()
    # billsec from the instants when no Cdr came; the AMD came from the UserEvent.
    assert result.outcome is Outcome.ANSWERED and result.amd_status == "MACHINE" and result.billsec == 5


async def test_the_owner_is_told_each_deadline_and_the_earliest_pending_one() -> None:
    """The client arms one timer for `next_deadline()` instead of polling `expire()`."""
    channel_id, events = capture("answered_machine")
    clock = FakeClock()
    told: list[float] = []
    calls = CallTracker(clock, cdr_grace=GRACE, hangup_grace=GRACE, originate_margin=60, on_deadline=told.append)
    assert calls.next_deadline() is None
    handle = calls.track(request("5", timeout_s=30), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    originate_deadline = clock.monotonic() + 30 + 60
    assert told == [originate_deadline] and calls.next_deadline() == originate_deadline
    for event in events:
        if event.name != "Cdr":
            calls.on_event(event)
    # Answered (no originate deadline any more), then hung up: only the Cdr grace is pending.
    grace_deadline = clock.monotonic() + GRACE
    assert told[-1] == grace_deadline and calls.next_deadline() == grace_deadline
    clock.advance(GRACE)
    assert calls.expire() == 1 and handle.done()
    assert calls.next_deadline() is None


async def test_amd_from_cdr_when_the_user_event_is_missed() -> None:
    channel_id, events = capture("answered_human")
    calls = tracker(FakeClock())
    handle = calls.track(request("0"), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    for event in events:
        if event.name != "UserEvent":
            calls.on_event(event)
    assert (await handle.result()).amd_status == "HUMAN"


async def test_failed_originate_waits_for_the_hangup_cause() -> None:
    channel_id, events = capture("invalid_number")
    clock = FakeClock()
    calls = tracker(clock)
    handle = calls.track(request("4"), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    originate = next(e for e in events if e.name == "OriginateResponse")
    calls.on_event(originate)
    assert not handle.done()  # Reason 0 alone does not tell: wait for the cause
    for event in events:
        if event.name == "Hangup":
            calls.on_event(event)
    clock.advance(GRACE + 0.1)
    calls.expire()
    assert (await handle.result()).outcome is Outcome.INVALID_NUMBER


async def test_originate_response_without_any_channel_resolves_failed() -> None:
    clock = FakeClock()
    calls = tracker(clock)
    handle = calls.track(request(), "c-1", "c-1-2", epoch=1)
    calls.sent("c-1", "act-9")
    calls.on_event(Message.build([("Event", "OriginateResponse"), ("ActionID", "act-9"), ("Response", "Failure"),
                                  ("Uniqueid", "<null>"), ("Reason", "0")]))
    clock.advance(GRACE + 0.1)
    assert calls.expire() == 1
    result = await handle.result()
    assert result.outcome is Outcome.FAILED and result.complete and result.originate_reason == 0


async def test_unanswered_call_without_any_event_is_lost_after_the_margin() -> None:
    clock = FakeClock()
    calls = tracker(clock)
    handle = calls.track(request(timeout_s=30), "c-1", "c-1-2", epoch=1)
    clock.advance(30 + 59)
    assert calls.expire() == 0
    clock.advance(2)
    assert calls.expire() == 1
    result = await handle.result()
    assert result.outcome is Outcome.LOST and not result.complete
    assert calls.stats.lost == 1


async def test_answered_call_never_expires_while_up() -> None:
    channel_id, events = capture("answered_human")
    clock = FakeClock()
    calls = tracker(clock)
    handle = calls.track(request("0", timeout_s=30), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "originate-1")
    for event in events:
        calls.on_event(event)
        if event.name == "OriginateResponse" and event["Uniqueid"] == channel_id:
            break
    assert handle.state is CallState.ANSWERED and await handle.answered()
    clock.advance(3600)
    assert calls.expire() == 0 and not handle.done()


async def test_resync_keeps_live_calls_and_settles_gone_ones() -> None:
    clock = FakeClock()
    calls = tracker(clock)
    live_id, human = capture("answered_human")
    gone_answered_id, machine = capture("answered_machine")
    unknown = calls.track(request("1"), "c-unknown", "c-unknown-2", epoch=1)
    live = calls.track(request("0"), live_id, f"{live_id}-2", epoch=1)
    gone = calls.track(request("5"), gone_answered_id, f"{gone_answered_id}-2", epoch=1)
    calls.sent(gone_answered_id, "originate-1")
    for event in machine:  # the machine call got answered, then the link dropped
        calls.on_event(event)
        if event.name == "OriginateResponse":
            break
    newer = calls.track(request("1"), "c-new", "c-new-2", epoch=2)  # sent on the new session
    assert sorted(calls.unsettled(2)) == sorted(["c-unknown", live_id, gone_answered_id])
    assert calls.resync({live_id, f"{live_id}-2"}, before_epoch=2, restarted=False) == 2
    lost = await unknown.result()
    assert lost.outcome is Outcome.LOST and not lost.complete
    answered = await gone.result()
    assert answered.outcome is Outcome.ANSWERED and not answered.complete and answered.ended_at is None
    assert answered.amd_status is None
    assert not live.done() and not newer.done()
    calls.sent(live_id, "originate-1")  # (both captures used this ActionID)
    for event in human:  # the live call's later events arrive on the new session
        calls.on_event(event)
    assert (await live.result()).complete
    assert calls.stats.lost == 1 and calls.stats.incomplete == 2


async def test_resync_after_restart_settles_everything() -> None:
    calls = tracker(FakeClock())
    handle = calls.track(request("0"), "c-1", "c-1-2", epoch=1)
    calls.mark_answered_if_up("c-1", "Up")
    assert calls.resync({"c-1"}, before_epoch=2, restarted=True) == 1
    result = await handle.result()
    assert result.outcome is Outcome.ANSWERED and not result.complete


async def test_abandon_all_resolves_every_handle() -> None:
    calls = tracker(FakeClock())
    handles = [calls.track(request(), f"c-{i}", None, epoch=1) for i in range(5)]
    assert calls.abandon_all() == 5
    assert all(h.done() for h in handles)
    assert {(await h.result()).outcome for h in handles} == {Outcome.LOST}


async def test_duplicate_channel_id_is_refused_and_forget_cancels() -> None:
    calls = tracker(FakeClock())
    handle = calls.track(request(), "c-1", "c-1-2", epoch=1)
    with pytest.raises(AmiError, match="already tracked"):
        calls.track(request(), "c-1", None, epoch=1)
    calls.forget("c-1")
    assert handle.done() and len(calls) == 0 and calls.stats.originated == 0


def test_originate_fields_are_always_async_with_our_channel_ids() -> None:
    req = request(caller_id='"Дозвон" <74950000000>', timeout_s=25, variables={"CAMPAIGN": "7", "__ATTEMPT": "9"})
    fields = req.fields("c-1", "c-1-2")
    assert ("Async", "true") in fields
    assert ("ChannelId", "c-1") in fields and ("OtherChannelId", "c-1-2") in fields
    assert ("Timeout", "25000") in fields
    assert [v for k, v in fields if k == "Variable"] == ["CAMPAIGN=7", "__ATTEMPT=9"]
    sip = OriginateRequest(channel="PJSIP/79001234561@trunk", context="dialer-answered")
    assert not sip.is_local
    agi = OriginateRequest(channel="Local/1@pstn-sim", application="AGI", data="agi://127.0.0.1/x")
    assert ("Application", "AGI") in agi.fields("c-2", None)


@pytest.mark.parametrize("kwargs", [
    {"caller_id": "x\r\nAction: Hangup"},
    {"variables": {"A": "1\r\nAction: Hangup"}},
    {"variables": {"A": "1,B=2"}},
    {"context": "dialer\nanswered"},
    {"exten": "s\x00"},
])
def test_originate_request_refuses_injection(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"channel": "Local/1@pstn-sim", "context": "dialer-answered"}
    with pytest.raises(UnsafeFieldError):
        OriginateRequest(**{**base, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    {"channel": "nochannel"},
    {"timeout_s": 0},
    {"channel_id": "has space"},
    {"channel_id": "x" * 101},
    {"context": None},
    {"application": "AGI"},
])
def test_originate_request_checks_its_fields(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"channel": "Local/1@pstn-sim", "context": "dialer-answered"}
    with pytest.raises(ValueError):
        OriginateRequest(**{**base, **kwargs})  # type: ignore[arg-type]


def test_result_as_dict_is_json_ready() -> None:
    import json

    from ami.calls import CallResult

    result = CallResult(Outcome.BUSY, 17, "User busy", "c-1", "c-1", datetime(2026, 1, 1, tzinfo=UTC), None,
                        datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), 1.0, 0, None, None, 5)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["outcome"] == "busy" and data["hangup_cause"] == 17 and data["channel_id"] == "c-1"


async def test_another_sessions_originate_response_never_touches_our_call() -> None:
    channel_id, events = capture("answered_human")
    calls = tracker(FakeClock())
    handle = calls.track(request("0"), channel_id, f"{channel_id}-2", epoch=1)
    calls.sent(channel_id, "ours-1")
    calls.on_event(Message.build([("Event", "OriginateResponse"), ("ActionID", "theirs-7"), ("Response", "Failure"),
                                  ("Uniqueid", channel_id), ("Reason", "0")]))
    for event in events:
        if event.name == "OriginateResponse" and event.get("Uniqueid") == channel_id:
            event = Message.build([(k, "ours-1" if k == "ActionID" else v) for k, v in event.fields])
        calls.on_event(event)
    result = await handle.result()
    assert result.outcome is Outcome.ANSWERED and result.originate_reason == 4


async def test_refused_duplicate_is_not_answered_by_the_other_calls_events() -> None:
    # Another client's live call holds our ChannelId: Asterisk refuses ours with Reason 0, while the
    # Up/Hangup events of that other call carry the same Uniqueid.
    channel_id, events = capture("answered_human")
    clock = FakeClock()
    calls = tracker(clock)
    handle = calls.track(request("0"), channel_id, None, epoch=1)
    calls.sent(channel_id, "ours-1")
    for event in events:
        if event.name == "Newstate" and event.get("Uniqueid") == channel_id:
            calls.on_event(event)
    calls.on_event(Message.build([("Event", "OriginateResponse"), ("ActionID", "ours-1"), ("Response", "Failure"),
                                  ("Uniqueid", "<null>"), ("Reason", "0")]))
    clock.advance(GRACE + 0.1)
    calls.expire()
    result = await handle.result()
    assert result.outcome is Outcome.FAILED and result.answered_at is None and result.billsec == 0


async def test_given_channel_ids_that_overlap_by_prefix_are_refused() -> None:
    # Asterisk compares a new ChannelId with live Uniqueids by prefix: "att-4" vs a live "att-43".
    calls = tracker(FakeClock())
    calls.track(request(channel_id="att-43"), "att-43", "att-43-2", epoch=1)
    for overlapping in ("att-4", "att-430"):
        with pytest.raises(AmiError, match="prefix"):
            calls.track(request(channel_id=overlapping), overlapping, None, epoch=1)
    calls.track(request(channel_id="att-44"), "att-44", None, epoch=1)
