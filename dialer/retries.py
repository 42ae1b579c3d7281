"""Retry policy: what happens to a contact after one attempt, by outcome (pure, no I/O).

`next_step(outcome, amd_status, attempts, policy, now)` is the single place that decides whether a
contact is done, failed, or dialed again and when.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from ami.outcomes import Outcome
from dialer.db.models import ContactState
from dialer.errors import InvalidValueError, parse_choice

__all__ = [
    "DEFAULT_DELAYS",
    "DEFAULT_MAX_ATTEMPTS",
    "AmdStatus",
    "MachineAction",
    "ReachedAction",
    "RetryKey",
    "RetryPolicy",
    "RetryStep",
    "format_duration",
    "next_step",
    "parse_duration",
    "parse_retry_spec",
]

DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS_LIMIT = 100
# A retry later than this is a typo, not a policy (and would outlive any campaign).
MAX_DELAY = timedelta(days=30)


class RetryKey(enum.StrEnum):
    """Outcomes that can be retried, each with its own delay (`--retry busy=10m,...`)."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    REJECTED = "rejected"
    FAILED = "failed"
    LOST = "lost"
    MACHINE = "machine"  # answered by an answering machine, when the campaign retries machines


class AmdStatus(enum.StrEnum):
    """Asterisk AMD() result in ${AMDSTATUS}."""

    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"
    HANGUP = "HANGUP"

    @classmethod
    def parse(cls, value: str | None) -> AmdStatus | None:
        if value is None or value.strip() == "":
            return None
        try:
            return cls(value.strip().upper())
        except ValueError:
            return None


class MachineAction(enum.StrEnum):
    """What a campaign does when AMD says an answering machine picked up."""

    RETRY = "retry"  # hang up, dial again later (delay `machine=`)
    COMPLETE = "complete"  # treat like a human answer: pass the call on, contact done
    HANGUP = "hangup"  # hang up at once, contact done
    MESSAGE = "message"  # leave the campaign's message on the machine, contact done

    @property
    def retries(self) -> bool:
        return self is MachineAction.RETRY


class ReachedAction(enum.StrEnum):
    """What a campaign does with a subscriber's other numbers once a person answered one of them
    (a human answer in the caps ledger, in this campaign)."""

    CONTINUE = "continue"  # each number is a contact of its own; the caps alone limit the calls
    # The others are not dialled again in this campaign: each is completed when it comes up (last
    # outcome `subscriber-reached`), and waits while another of the numbers is in a call.
    COMPLETE = "complete"


DEFAULT_DELAYS: Mapping[RetryKey, timedelta] = MappingProxyType({
    RetryKey.BUSY: timedelta(minutes=10),
    RetryKey.NO_ANSWER: timedelta(minutes=30),
    RetryKey.CONGESTION: timedelta(minutes=2),
    RetryKey.REJECTED: timedelta(hours=1),
    RetryKey.FAILED: timedelta(minutes=10),
    # The call's end was not observed; it was reconciled before we got here, so retry soon.
    RetryKey.LOST: timedelta(minutes=5),
    RetryKey.MACHINE: timedelta(hours=1),
})

_OUTCOME_KEYS: Mapping[Outcome, RetryKey] = MappingProxyType({
    Outcome.BUSY: RetryKey.BUSY,
    Outcome.NO_ANSWER: RetryKey.NO_ANSWER,
    Outcome.CONGESTION: RetryKey.CONGESTION,
    Outcome.REJECTED: RetryKey.REJECTED,
    Outcome.FAILED: RetryKey.FAILED,
    Outcome.LOST: RetryKey.LOST,
})

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Longest spellings first: `10min` is ten minutes, not `10m` followed by garbage.
_DURATION = re.compile(r"(\d+)(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)")
# Asterisk's DIALSTATUS spelling of the same outcome.
_KEY_ALIASES = {"noanswer": RetryKey.NO_ANSWER}


def parse_duration(text: str, *, field_name: str = "duration") -> timedelta:
    """`90s`, `10m`, `2h`, `1d`, `1h30m` (also `10min`, `2hours`, `1day`) -> timedelta. A unit is
    required: `10` is ambiguous."""
    compact = text.strip().lower().replace(" ", "")
    if not compact:
        raise InvalidValueError(field_name, "empty duration (use e.g. 10m, 90s, 2h)")
    pos = 0
    total = 0
    for match in _DURATION.finditer(compact):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0]]
        pos = match.end()
    if pos != len(compact):
        raise InvalidValueError(
            field_name, f"{text!r} is not a duration (use a number with a unit s, m, h or d, e.g. 10m, 1h30m)"
        )
    if total <= 0:
        raise InvalidValueError(field_name, f"{text!r} must be longer than zero")
    if total > MAX_DELAY.total_seconds():  # before timedelta(), which overflows on absurd values
        raise InvalidValueError(field_name, f"{text!r} is longer than the limit of 30 days")
    return timedelta(seconds=total)


def format_duration(delay: timedelta) -> str:
    """The shortest spelling `parse_duration` reads back: 600 s -> `10m`, 5400 s -> `1h30m`."""
    seconds = int(delay.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_retry_spec(text: str, *, field_name: str = "retry") -> dict[RetryKey, timedelta]:
    """`busy=10m,no_answer=30m,congestion=2m` -> delays for the outcomes named (others keep defaults).
    Items may also be separated by `;`; `no-answer` and `noanswer` name `no_answer`."""
    delays: dict[RetryKey, timedelta] = {}
    items = [item.strip() for item in text.replace(";", ",").split(",")]
    if not any(items):
        raise InvalidValueError(field_name, "empty (use e.g. busy=10m,no_answer=30m,congestion=2m)")
    for item in items:
        if not item:
            continue
        name, sep, value = item.partition("=")
        key_text = "_".join(name.strip().lower().replace("-", " ").split())
        if not sep or not value.strip():
            raise InvalidValueError(field_name, f"{item!r} must be OUTCOME=DELAY, e.g. busy=10m")
        if key_text in (Outcome.ANSWERED.value, Outcome.INVALID_NUMBER.value):
            raise InvalidValueError(
                field_name,
                f"{key_text!r} is never retried (answered completes the contact; "
                "invalid numbers are not dialed again)",
            )
        try:
            key = _KEY_ALIASES.get(key_text) or RetryKey(key_text)
        except ValueError:
            known = ", ".join(k.value for k in RetryKey)
            raise InvalidValueError(field_name, f"unknown outcome {name.strip()!r} (known: {known})") from None
        if key in delays:
            raise InvalidValueError(field_name, f"outcome {key.value!r} given twice")
        delays[key] = parse_duration(value, field_name=f"{field_name} {key.value}")
    return delays


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Per-outcome delays, the attempt limit and the answering-machine action of one campaign."""

    delays: Mapping[RetryKey, timedelta] = field(default_factory=lambda: DEFAULT_DELAYS)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    machine: MachineAction = MachineAction.RETRY
    # The campaign's answered leg treats AMD NOTSURE as a machine (dialer.answered.AnsweredLeg).
    notsure_as_machine: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise InvalidValueError("max_attempts", f"must be between 1 and {MAX_ATTEMPTS_LIMIT}")
        merged = {**DEFAULT_DELAYS, **self.delays}
        object.__setattr__(self, "delays", MappingProxyType(merged))

    @classmethod
    def build(
        cls,
        retry: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        machine: MachineAction | str = MachineAction.RETRY,
    ) -> RetryPolicy:
        """From user input: the `--retry` text, `--max-attempts`, `--machine`."""
        delays = parse_retry_spec(retry) if retry is not None else {}
        return cls(delays=delays, max_attempts=max_attempts, machine=_machine(machine))

    def delay(self, key: RetryKey) -> timedelta:
        return self.delays[key]

    def spec(self) -> str:
        """Canonical `--retry` text of every delay."""
        return ",".join(f"{k.value}={format_duration(v)}" for k, v in self.delays.items())

    def delays_json(self) -> dict[str, int]:
        """The delays as stored in `campaigns.retry_delays` (seconds by outcome)."""
        return {k.value: int(v.total_seconds()) for k, v in self.delays.items()}

    @classmethod
    def from_stored(
        cls, delays: Mapping[str, Any], max_attempts: int, machine: str | None, notsure_as_machine: bool = False,
    ) -> RetryPolicy:
        """From the campaign row (`retry_delays` JSONB, `max_attempts`, `settings.machine` and
        `settings.notsure_as_machine`)."""
        parsed: dict[RetryKey, timedelta] = {}
        for key, seconds in delays.items():
            try:
                parsed[RetryKey(key)] = timedelta(seconds=int(seconds))
            except ValueError:
                continue  # a key a later version dropped; the defaults cover the rest
        return cls(delays=parsed, max_attempts=max_attempts, machine=_machine(machine or "retry"),
                   notsure_as_machine=bool(notsure_as_machine))


def _machine(value: MachineAction | str) -> MachineAction:
    return parse_choice(MachineAction, value, "machine")


@dataclass(frozen=True, slots=True)
class RetryStep:
    """The contact's next state: READY with `next_attempt_at`, or final (DONE/FAILED, no next attempt)."""

    state: ContactState
    next_attempt_at: datetime | None
    reason: str

    @property
    def final(self) -> bool:
        return self.state is not ContactState.READY


def next_step(
    outcome: Outcome | str,
    amd_status: AmdStatus | str | None,
    attempts: int,
    policy: RetryPolicy,
    now: datetime,
) -> RetryStep:
    """What to do with a contact whose attempt number `attempts` (1-based, this one included) ended."""
    result = Outcome(outcome)
    if result is Outcome.ANSWERED:
        amd = amd_status if isinstance(amd_status, AmdStatus) else AmdStatus.parse(amd_status)
        # A MACHINE (or a NOTSURE the campaign routes as one) gets the machine action; HUMAN, HANGUP,
        # NOTSURE otherwise and no AMD complete the contact (only HUMAN or no AMD count in the caps).
        machine = amd is AmdStatus.MACHINE or (amd is AmdStatus.NOTSURE and policy.notsure_as_machine)
        if not machine:
            return RetryStep(ContactState.DONE, None, "answered")
        if not policy.machine.retries:
            return RetryStep(ContactState.DONE, None, f"answering machine ({policy.machine.value})")
        return _retry_or_fail(RetryKey.MACHINE, attempts, policy, now)
    if result is Outcome.INVALID_NUMBER:
        return RetryStep(ContactState.FAILED, None, "invalid number: never retried")
    return _retry_or_fail(_OUTCOME_KEYS[result], attempts, policy, now)


def _retry_or_fail(key: RetryKey, attempts: int, policy: RetryPolicy, now: datetime) -> RetryStep:
    if attempts >= policy.max_attempts:
        return RetryStep(
            ContactState.FAILED, None, f"{key.value}: attempts exhausted ({attempts}/{policy.max_attempts})"
        )
    delay = policy.delay(key)
    return RetryStep(ContactState.READY, now + delay, f"{key.value}: retry in {format_duration(delay)}")
