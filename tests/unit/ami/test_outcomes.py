"""The Reason x Hangup cause -> Outcome table of ami.outcomes, row by row."""

from __future__ import annotations

import pytest

from ami.outcomes import CAUSE_OUTCOMES, REASON_OUTCOMES, Outcome, cause_text, classify

ROWS = [
    # reason, cause, outcome
    (4, 16, Outcome.ANSWERED),  # Reason 4 answered, normal clearing afterwards
    (4, None, Outcome.ANSWERED),
    (5, 17, Outcome.BUSY),  # Reason 5 busy ([pstn-sim] digit 1)
    (5, 0, Outcome.BUSY),  # the Local ;1 leg reports cause 0
    (3, 19, Outcome.NO_ANSWER),  # Reason 3 rang out ([pstn-sim] digit 2)
    (3, None, Outcome.NO_ANSWER),
    (2, None, Outcome.NO_ANSWER),
    (8, 34, Outcome.CONGESTION),  # Reason 8 congestion ([pstn-sim] digit 3)
    (8, 0, Outcome.CONGESTION),
    (0, 1, Outcome.INVALID_NUMBER),  # Reason 0 + cause 1 unallocated ([pstn-sim] digit 4)
    (1, 1, Outcome.INVALID_NUMBER),
    (0, 2, Outcome.INVALID_NUMBER),
    (0, 3, Outcome.INVALID_NUMBER),
    (0, 22, Outcome.INVALID_NUMBER),
    (0, 28, Outcome.INVALID_NUMBER),
    (1, 28, Outcome.INVALID_NUMBER),
    (0, 17, Outcome.BUSY),
    (1, 17, Outcome.BUSY),
    (0, 18, Outcome.NO_ANSWER),
    (1, 19, Outcome.NO_ANSWER),
    (1, 20, Outcome.NO_ANSWER),
    (0, 21, Outcome.REJECTED),
    (1, 21, Outcome.REJECTED),
    (0, 34, Outcome.CONGESTION),
    (1, 38, Outcome.CONGESTION),
    (0, 41, Outcome.CONGESTION),
    (0, 42, Outcome.CONGESTION),
    (0, 44, Outcome.CONGESTION),
    (0, 47, Outcome.CONGESTION),
    (0, 16, Outcome.FAILED),  # normal clearing before any answer: not a network verdict
    (1, 16, Outcome.FAILED),
    (0, 0, Outcome.FAILED),
    (0, None, Outcome.FAILED),  # failed before any channel existed
    (1, 127, Outcome.FAILED),
    (None, 17, Outcome.BUSY),  # OriginateResponse lost, Hangup seen
    (None, 1, Outcome.INVALID_NUMBER),
    (None, 16, Outcome.FAILED),
    (None, None, Outcome.LOST),  # nothing seen at all
]


@pytest.mark.parametrize(("reason", "cause", "outcome"), ROWS, ids=[f"reason{r}-cause{c}" for r, c, _ in ROWS])
def test_row(reason: int | None, cause: int | None, outcome: Outcome) -> None:
    assert classify(reason, cause) is outcome


def test_every_table_entry_has_a_row() -> None:
    covered_reasons = {r for r, _, _ in ROWS}
    covered_causes = {c for r, c, _ in ROWS if r in (0, 1)}
    assert set(REASON_OUTCOMES) <= covered_reasons
    assert set(CAUSE_OUTCOMES) <= covered_causes


def test_outcome_values_are_the_issue_names() -> None:
    assert [o.value for o in Outcome] == ["answered", "busy", "no_answer", "congestion", "invalid_number",
                                          "rejected", "failed", "lost"]


def test_cause_text() -> None:
    assert cause_text(17) == "User busy"
    assert cause_text(None) is None
    assert cause_text(99) == "Cause 99"
