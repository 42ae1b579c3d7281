"""The one table that turns an OriginateResponse Reason and a Hangup cause into an `Outcome`."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CAUSE_OUTCOMES", "REASON_OUTCOMES", "OriginateReason", "Outcome", "cause_text", "classify"]


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    REJECTED = "rejected"
    FAILED = "failed"
    # The layer could not observe how the call ended (connection or Asterisk lost meanwhile).
    LOST = "lost"


class OriginateReason(enum.IntEnum):
    """OriginateResponse `Reason`: the last AST_CONTROL_* frame the originating channel saw."""

    FAILURE = 0  # no channel or failed before any progress; judge by the Hangup cause
    HANGUP = 1  # AST_CONTROL_HANGUP: far end hung up before answer; judge by the Hangup cause
    RING = 2  # AST_CONTROL_RING
    RINGING = 3  # AST_CONTROL_RINGING: still ringing when the originate timeout fired
    ANSWER = 4  # AST_CONTROL_ANSWER
    BUSY = 5  # AST_CONTROL_BUSY
    CONGESTION = 8  # AST_CONTROL_CONGESTION


# Reasons that decide the outcome alone.
REASON_OUTCOMES: Mapping[int, Outcome] = MappingProxyType({
    OriginateReason.ANSWER: Outcome.ANSWERED,  # AMI Originate Reason 4 = answered
    OriginateReason.BUSY: Outcome.BUSY,  # AMI Originate Reason 5 = busy
    OriginateReason.RINGING: Outcome.NO_ANSWER,  # AMI Originate Reason 3 = rang until the timeout
    OriginateReason.RING: Outcome.NO_ANSWER,  # AMI Originate Reason 2 = ring seen, then the timeout
    OriginateReason.CONGESTION: Outcome.CONGESTION,  # AMI Originate Reason 8 = congestion
})

# ITU-T Q.850 cause values, used when the Reason is 0/1 (or missing) and the Hangup cause decides.
CAUSE_OUTCOMES: Mapping[int, Outcome] = MappingProxyType({
    1: Outcome.INVALID_NUMBER,  # Q.850 1 unallocated (unassigned) number
    2: Outcome.INVALID_NUMBER,  # Q.850 2 no route to specified transit network
    3: Outcome.INVALID_NUMBER,  # Q.850 3 no route to destination
    22: Outcome.INVALID_NUMBER,  # Q.850 22 number changed
    28: Outcome.INVALID_NUMBER,  # Q.850 28 invalid number format (incomplete number)
    17: Outcome.BUSY,  # Q.850 17 user busy
    18: Outcome.NO_ANSWER,  # Q.850 18 no user responding
    19: Outcome.NO_ANSWER,  # Q.850 19 no answer from user (user alerted)
    20: Outcome.NO_ANSWER,  # Q.850 20 subscriber absent
    21: Outcome.REJECTED,  # Q.850 21 call rejected
    34: Outcome.CONGESTION,  # Q.850 34 no circuit/channel available
    38: Outcome.CONGESTION,  # Q.850 38 network out of order
    41: Outcome.CONGESTION,  # Q.850 41 temporary failure
    42: Outcome.CONGESTION,  # Q.850 42 switching equipment congestion
    44: Outcome.CONGESTION,  # Q.850 44 requested circuit/channel not available
    47: Outcome.CONGESTION,  # Q.850 47 resource unavailable, unspecified
})

_CAUSE_TEXT: Mapping[int, str] = MappingProxyType({
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transit network",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    27: "Destination out of order",
    28: "Invalid number format",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    44: "Requested channel not available",
    47: "Resource unavailable, unspecified",
    127: "Interworking, unspecified",
})


def cause_text(cause: int | None) -> str | None:
    """Asterisk's text for a cause (ast_cause2str); Asterisk's own `Cause-txt` wins when present."""
    if cause is None:
        return None
    return _CAUSE_TEXT.get(cause, f"Cause {cause}")


def classify(reason: int | None, cause: int | None) -> Outcome:
    """Outcome of one originated call from its OriginateResponse Reason and its Hangup cause.

    `reason` None means no OriginateResponse was seen (e.g. it was lost with the connection);
    `cause` None means no Hangup was seen.
    """
    if reason is not None and reason in REASON_OUTCOMES:
        return REASON_OUTCOMES[reason]
    if cause is not None and cause in CAUSE_OUTCOMES:
        return CAUSE_OUTCOMES[cause]
    if reason is None and cause is None:
        return Outcome.LOST
    return Outcome.FAILED
