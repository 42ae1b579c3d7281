"""Pure parts of the compliance gate: the caps history with reservations, what counts as human."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ami.calls import CallResult
from ami.outcomes import Outcome
from compliance import CapMetric, load_rules
from dialer.leasing import LeasedContact
from dialer.reservations import (
    HistoryRow,
    attempt_columns,
    closed_windows,
    counts_as_human,
    history_from_rows,
    new_channel_id,
    subscriber_of,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")


def _result(
    outcome: Outcome, *, billsec: int = 0, amd: str | None = None, answered: bool = False, complete: bool = True,
) -> CallResult:
    return CallResult(
        outcome=outcome, hangup_cause=16, hangup_cause_text=None, channel_id="c", linked_id=None,
        started_at=NOW, answered_at=NOW if answered else None, ended_at=NOW + timedelta(seconds=9),
        ring_seconds=2.5, billsec=billsec, amd_status=amd, amd_cause=None, originate_reason=4, complete=complete,
    )


def test_in_flight_attempts_count_as_answers_now_and_lost_ones_at_their_start() -> None:
    yesterday = NOW - timedelta(days=1)
    rows = [
        HistoryRow("answered", yesterday),
        HistoryRow("in_flight", NOW - timedelta(seconds=20)),
        HistoryRow("lost", NOW - timedelta(hours=2)),
        HistoryRow("attempt", NOW - timedelta(hours=1)),  # ended, not answered: only an attempt
    ]
    history = history_from_rows(rows, NOW)
    assert sorted(history.answered) == [yesterday, NOW - timedelta(hours=2), NOW]
    assert len(history.attempts) == 3
    today = NOW.astimezone(MSK).date()
    counts = history.counts(CapMetric.ANSWERED, MSK, today)
    assert (counts.day, counts.week, counts.month) == (2, 3, 3)


def test_human_answer_rules() -> None:
    assert counts_as_human(_result(Outcome.ANSWERED, billsec=5, amd="HUMAN", answered=True))
    assert not counts_as_human(_result(Outcome.ANSWERED, billsec=5, amd="NOTSURE", answered=True))
    assert not counts_as_human(_result(Outcome.ANSWERED, billsec=5, amd="HANGUP", answered=True))
    assert counts_as_human(_result(Outcome.ANSWERED, billsec=5, amd=None, answered=True))
    assert not counts_as_human(_result(Outcome.ANSWERED, billsec=5, amd="MACHINE", answered=True))
    assert not counts_as_human(_result(Outcome.ANSWERED, billsec=0, amd="HUMAN", answered=True))
    assert not counts_as_human(_result(Outcome.BUSY))
    # lost after an answer we saw: billsec and AMD unknown, so a person is assumed
    assert counts_as_human(_result(Outcome.LOST, answered=True))
    assert not counts_as_human(_result(Outcome.LOST, amd="NOTSURE", answered=True))
    assert not counts_as_human(_result(Outcome.LOST))
    # answered, then the AMI link or Asterisk went away before the end: billsec unknown, so a person
    assert counts_as_human(_result(Outcome.ANSWERED, billsec=0, answered=True, complete=False))
    assert counts_as_human(_result(Outcome.ANSWERED, billsec=0, amd="HUMAN", answered=True, complete=False))
    assert not counts_as_human(_result(Outcome.ANSWERED, billsec=0, amd="MACHINE", answered=True, complete=False))


def test_attempt_columns_and_channel_ids() -> None:
    cols = attempt_columns(_result(Outcome.LOST))
    assert cols["state"] == "lost" and cols["outcome"] == "lost"
    cols = attempt_columns(_result(Outcome.ANSWERED, billsec=7, amd="HUMAN", answered=True))
    assert (cols["state"], cols["billsec"], cols["amd_status"], cols["ring_seconds"]) == ("ended", 7, "HUMAN", 2.5)
    a, b = new_channel_id(42), new_channel_id(42)
    assert a != b and a.startswith("dlr-42-")


def test_subscriber_zones_explicit_else_candidates() -> None:
    one = LeasedContact(1, 1, "+79130000000", "k", "Asia/Novosibirsk", ("Asia/Omsk",), 0)
    many = LeasedContact(2, 1, "+79000000000", "k", None, ("Europe/Moscow", "Asia/Omsk"), 0)
    assert subscriber_of(one).zones == ("Asia/Novosibirsk",)
    assert subscriber_of(many).zones == ("Europe/Moscow", "Asia/Omsk")
    assert subscriber_of(many).key == "k"
    # The subscriber's numbers span several zones: each of them, whatever this number's own.
    spread = LeasedContact(3, 1, "+79130000001", "k", "Asia/Novosibirsk", (), 0,
                           subscriber_zones=("Asia/Novosibirsk", "Asia/Vladivostok"))
    assert subscriber_of(spread).zones == ("Asia/Novosibirsk", "Asia/Vladivostok")


def test_closed_windows_holds_the_contacts_whose_window_opens_later() -> None:
    """NOW is Tuesday 12:00 in Moscow, 16:00 in Novosibirsk, 21:00 in Kamchatka: under fz230-law
    (08:00-22:00 on workdays) every zone is open but Kamchatka closes within the hour of the lead."""
    rules = load_rules("fz230-law").with_end_margin(3600)
    moscow = LeasedContact(1, 1, "+79160000001", "a", "Europe/Moscow", (), 0)
    kamchatka = LeasedContact(2, 1, "+79140000002", "b", "Asia/Kamchatka", (), 0)
    spread = LeasedContact(3, 1, "+79160000003", "c", "Europe/Moscow", (), 0,
                           subscriber_zones=("Europe/Moscow", "Asia/Kamchatka"))
    nowhere = LeasedContact(4, 1, "+79160000004", "d", None, (), 0)  # the gate excludes it
    held = closed_windows([moscow, kamchatka, spread, nowhere], NOW, rules)
    assert [(contact.id, hold.next_allowed_at) for contact, hold in held] == [
        (2, datetime(2026, 3, 10, 20, 0, tzinfo=UTC)),  # Wednesday 08:00 in Kamchatka
        (3, datetime(2026, 3, 11, 5, 0, tzinfo=UTC)),  # Wednesday 08:00 in Moscow, open in both zones
    ]
    assert all(hold.codes == ("outside-window",) and hold.decided_at == NOW for _, hold in held)
    assert closed_windows([moscow, kamchatka], NOW, load_rules("fz230-law")) == []
