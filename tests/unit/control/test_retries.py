"""The retry policy, row by row: outcome x AMD x attempts -> next state and instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ami.outcomes import Outcome
from dialer.db.models import ContactState
from dialer.errors import InvalidValueError
from dialer.retries import (
    DEFAULT_DELAYS,
    MachineAction,
    RetryKey,
    RetryPolicy,
    format_duration,
    next_step,
    parse_duration,
    parse_retry_spec,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy.build("busy=10m,no_answer=30m,congestion=2m", max_attempts=3)
M, H = timedelta(minutes=1), timedelta(hours=1)

READY, DONE, FAILED = ContactState.READY, ContactState.DONE, ContactState.FAILED


@pytest.mark.parametrize(
    ("outcome", "amd", "attempts", "machine", "state", "delay"),
    [
        # answered by a human (or no AMD verdict) completes the contact on any attempt
        (Outcome.ANSWERED, None, 1, MachineAction.RETRY, DONE, None),
        (Outcome.ANSWERED, "HUMAN", 1, MachineAction.RETRY, DONE, None),
        (Outcome.ANSWERED, "human", 3, MachineAction.RETRY, DONE, None),
        (Outcome.ANSWERED, "NOTSURE", 1, MachineAction.RETRY, DONE, None),
        (Outcome.ANSWERED, "HANGUP", 1, MachineAction.RETRY, DONE, None),
        (Outcome.ANSWERED, "", 1, MachineAction.RETRY, DONE, None),
        # an answering machine: retried later, or done, as the campaign says
        (Outcome.ANSWERED, "MACHINE", 1, MachineAction.RETRY, READY, 60 * M),
        (Outcome.ANSWERED, "MACHINE", 2, MachineAction.RETRY, READY, 60 * M),
        (Outcome.ANSWERED, "MACHINE", 3, MachineAction.RETRY, FAILED, None),
        (Outcome.ANSWERED, "MACHINE", 1, MachineAction.COMPLETE, DONE, None),
        (Outcome.ANSWERED, "MACHINE", 1, MachineAction.HANGUP, DONE, None),
        (Outcome.ANSWERED, "MACHINE", 1, MachineAction.MESSAGE, DONE, None),
        # invalid numbers are never dialed again, whatever is left
        (Outcome.INVALID_NUMBER, None, 1, MachineAction.RETRY, FAILED, None),
        # the rest by delay until the attempts run out
        (Outcome.BUSY, None, 1, MachineAction.RETRY, READY, 10 * M),
        (Outcome.BUSY, None, 2, MachineAction.RETRY, READY, 10 * M),
        (Outcome.BUSY, None, 3, MachineAction.RETRY, FAILED, None),
        (Outcome.BUSY, None, 7, MachineAction.RETRY, FAILED, None),
        (Outcome.NO_ANSWER, None, 1, MachineAction.RETRY, READY, 30 * M),
        (Outcome.NO_ANSWER, None, 3, MachineAction.RETRY, FAILED, None),
        (Outcome.CONGESTION, None, 1, MachineAction.RETRY, READY, 2 * M),
        (Outcome.REJECTED, None, 1, MachineAction.RETRY, READY, 1 * H),
        (Outcome.FAILED, None, 2, MachineAction.RETRY, READY, 10 * M),
        (Outcome.LOST, None, 1, MachineAction.RETRY, READY, 5 * M),
        (Outcome.LOST, None, 3, MachineAction.RETRY, FAILED, None),
        # AMD status is only meaningful for answered calls
        (Outcome.BUSY, "MACHINE", 1, MachineAction.COMPLETE, READY, 10 * M),
        # outcomes as stored strings
        ("no_answer", None, 2, MachineAction.RETRY, READY, 30 * M),
    ],
)
def test_next_step(
    outcome: Outcome | str,
    amd: str | None,
    attempts: int,
    machine: MachineAction,
    state: ContactState,
    delay: timedelta | None,
) -> None:
    policy = RetryPolicy(delays=POLICY.delays, max_attempts=3, machine=machine)
    step = next_step(outcome, amd, attempts, policy, NOW)
    assert step.state is state
    assert step.next_attempt_at == (None if delay is None else NOW + delay)
    assert step.final is (state is not READY)
    assert step.reason


@pytest.mark.parametrize(
    ("amd", "machine", "state"),
    [
        ("NOTSURE", MachineAction.RETRY, READY),  # routed as a machine: the machine's action
        ("NOTSURE", MachineAction.COMPLETE, DONE),
        ("MACHINE", MachineAction.RETRY, READY),
        ("HUMAN", MachineAction.RETRY, DONE),
        ("HANGUP", MachineAction.RETRY, DONE),
    ],
)
def test_notsure_as_machine_follows_the_machine_action(amd: str, machine: MachineAction, state: ContactState) -> None:
    policy = RetryPolicy(delays=POLICY.delays, max_attempts=3, machine=machine, notsure_as_machine=True)
    assert next_step(Outcome.ANSWERED, amd, 1, policy, NOW).state is state
    stored = RetryPolicy.from_stored(policy.delays_json(), 3, machine.value, notsure_as_machine=True)
    assert next_step(Outcome.ANSWERED, amd, 1, stored, NOW).state is state


def test_max_attempts_one_never_retries() -> None:
    policy = RetryPolicy(max_attempts=1)
    for outcome in (Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.LOST):
        assert next_step(outcome, None, 1, policy, NOW).state is FAILED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", timedelta(minutes=10)),
        ("90s", timedelta(seconds=90)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 5M ", timedelta(minutes=5)),
        ("10min", timedelta(minutes=10)),
        ("2hours 30mins", timedelta(minutes=150)),
        ("1 day", timedelta(days=1)),
        ("45 sec", timedelta(seconds=45)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", "not a duration"),
        ("m", "not a duration"),
        ("10x", "not a duration"),
        ("10ms", "not a duration"),  # milliseconds are no retry delay
        ("10mm", "not a duration"),
        ("-5m", "not a duration"),
        ("0m", "longer than zero"),
        ("31d", "30 days"),
        ("99999999999999999999d", "30 days"),  # beyond what timedelta holds
        ("", "empty"),
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        parse_duration(text, field_name="retry")


def test_parse_retry_spec_and_defaults() -> None:
    delays = parse_retry_spec("busy=10m, no-answer=30m,congestion=2m,machine=2h")
    assert delays == {
        RetryKey.BUSY: timedelta(minutes=10),
        RetryKey.NO_ANSWER: timedelta(minutes=30),
        RetryKey.CONGESTION: timedelta(minutes=2),
        RetryKey.MACHINE: timedelta(hours=2),
    }
    # Asterisk's DIALSTATUS spelling, a space, and `;` between items name the same.
    assert parse_retry_spec("BUSY=10min; NOANSWER=30m") == parse_retry_spec("busy=10m,no answer=30m") == {
        RetryKey.BUSY: timedelta(minutes=10), RetryKey.NO_ANSWER: timedelta(minutes=30),
    }
    policy = RetryPolicy.build("busy=1m")
    assert policy.delay(RetryKey.BUSY) == timedelta(minutes=1)
    assert policy.delay(RetryKey.NO_ANSWER) == DEFAULT_DELAYS[RetryKey.NO_ANSWER]
    assert RetryPolicy.build(policy.spec()) == policy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("busy", "OUTCOME=DELAY"),
        ("busy=", "OUTCOME=DELAY"),
        ("answered=1m", "never retried"),
        ("invalid_number=1h", "never retried"),
        ("ringing=1m", "unknown outcome 'ringing'"),
        ("busy=1m,busy=2m", "given twice"),
        ("busy=soon", "not a duration"),
        (",", "empty"),
    ],
)
def test_parse_retry_spec_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        parse_retry_spec(text)
    assert info.value.field.startswith("retry")


def test_policy_round_trips_through_storage() -> None:
    policy = RetryPolicy.build("busy=7m,machine=3h", max_attempts=4, machine="message")
    stored = RetryPolicy.from_stored(policy.delays_json(), 4, "message")
    assert stored == policy
    # keys a later version dropped are ignored, missing ones take the defaults
    assert RetryPolicy.from_stored({"gone": 5}, 2, None) == RetryPolicy(max_attempts=2)


@pytest.mark.parametrize(("kwargs", "field"), [({"max_attempts": 0}, "max_attempts"), ({"machine": "x"}, "machine")])
def test_policy_rejects(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        RetryPolicy.build(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
