"""The comparison of one channel's two CDRs (pure)."""

from __future__ import annotations

from cdr.reconcile import MismatchKind, Side, classify, expected_disposition


def kinds(*args: object, **kwargs: object) -> list[str]:
    return [m.kind.value for m in classify(*args, **kwargs)]  # type: ignore[arg-type]


def test_agreeing_pair_within_a_second_of_billsec() -> None:
    assert kinds("c", Side(10, "ANSWERED"), "answered", Side(11, "ANSWERED")) == []
    assert kinds("c", Side(10, None), "answered", Side(9, "ANSWERED")) == []


def test_billsec_beyond_a_second() -> None:
    assert kinds("c", Side(10, "ANSWERED"), "answered", Side(12, "ANSWERED")) == [MismatchKind.BILLSEC]


def test_disposition_from_column_else_from_outcome() -> None:
    assert kinds("c", Side(0, "BUSY"), "busy", Side(0, "NO ANSWER")) == [MismatchKind.DISPOSITION]
    assert kinds("c", Side(0, None), "busy", Side(0, "NO ANSWER")) == [MismatchKind.DISPOSITION]
    # Asterisk records an unallocated number as NO ANSWER: that is agreement.
    assert kinds("c", Side(0, None), "invalid_number", Side(0, "NO ANSWER")) == []
    assert expected_disposition("congestion", None) == "CONGESTION"
    assert expected_disposition("lost", None) is None


def test_both_billsec_and_disposition() -> None:
    assert kinds("c", Side(0, "NO ANSWER"), "no_answer", Side(30, "ANSWERED")) == [
        MismatchKind.BILLSEC, MismatchKind.DISPOSITION,
    ]


def test_missing_sides_and_the_grace_for_young_rows() -> None:
    assert kinds("c", None, None, Side(3, "ANSWERED")) == [MismatchKind.MISSING_IN_DIALER]
    assert kinds("c", Side(3, "ANSWERED"), "answered", None) == [MismatchKind.MISSING_IN_ASTERISK]
    assert kinds("c", Side(3, "ANSWERED"), "answered", None, dialer_settled=False) == []
    assert kinds("c", None, None, Side(3, "ANSWERED"), asterisk_settled=False) == []
    assert kinds("c", None, None, None) == []


def test_a_closed_attempt_that_neither_side_recorded() -> None:
    assert kinds("c", None, None, None, attempt_closed=True) == [MismatchKind.MISSING_CDR]
    assert kinds("c", None, None, None, attempt_closed=True, dialer_settled=False) == []  # its row may be queued
    assert kinds("c", None, None, Side(3, "ANSWERED"), attempt_closed=True) == [MismatchKind.MISSING_IN_DIALER]
    # Once rebuilt from the attempt, Asterisk's absence is not reported a second time.
    assert kinds("c", Side(3, "ANSWERED"), "answered", None, dialer_from_attempt=True) == []


def test_lost_call_known_to_asterisk() -> None:
    assert kinds("c", Side(0, None), "lost", Side(7, "ANSWERED")) == [MismatchKind.LOST]
