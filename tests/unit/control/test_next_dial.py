"""`explain_next_dial`: when a contact will next be dialed, for each contact state and campaign status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from compliance import AnsweredHistory, Subscriber, load_rules
from dialer.contacts_why import Judged, explain_next_dial
from dialer.db.models import CampaignStatus as S
from dialer.db.models import ContactState as C
from dialer.schedule import parse_schedule

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)


@pytest.mark.parametrize(
    ("state", "status", "at", "expected_at", "explanation"),
    [
        (C.READY, S.RUNNING, LATER, LATER, "at 2026-03-02T12:00:00+00:00 (Asia/Novosibirsk)"),
        (C.READY, S.RUNNING, NOW, NOW, "due now: the next free worker dials it (Asia/Novosibirsk)"),
        (C.READY, S.PAUSED, LATER, LATER, "not before the campaign is resumed (it is paused)"),
        (C.READY, S.DRAFT, LATER, LATER, "not before the campaign is started (it is draft)"),
        (C.READY, S.FINISHED, LATER, LATER, "at 2026-03-02T12:00:00+00:00 (Asia/Novosibirsk)"),
        (C.READY, S.STOPPED, LATER, None, "never: the campaign is stopped"),
        (C.DIALING, S.RUNNING, NOW, None, "a call is in progress now (worker w1)"),
        (C.DONE, S.RUNNING, NOW, None, "never: completed (answered)"),
        (C.FAILED, S.RUNNING, NOW, None, "never: failed (answered)"),
        (C.EXCLUDED, S.RUNNING, NOW, None, "never: excluded (do-not-call or removed)"),
    ],
)
def test_explain(state: C, status: S, at: datetime, expected_at: datetime | None, explanation: str) -> None:
    result = explain_next_dial(
        state=state, campaign_status=status, next_attempt_at=at, last_outcome="answered",
        lease_owner="w1", timezone="Asia/Novosibirsk", now=NOW,
    )
    assert result.explanation == explanation
    assert result.at == expected_at

    if expected_at is not None:
        assert result.at_local is not None and result.at_local.utcoffset() == timedelta(hours=7)
        assert result.at_local == expected_at


def test_a_contact_completed_because_its_subscriber_was_reached_says_so() -> None:
    result = explain_next_dial(
        state=C.DONE, campaign_status=S.RUNNING, next_attempt_at=NOW, last_outcome="subscriber-reached",
        lease_owner=None, timezone="Asia/Novosibirsk", now=NOW,
    )
    assert result.at is None
    assert result.explanation == (
        "never: completed, a person answered another of the subscriber's numbers in this campaign")


@pytest.mark.parametrize(("last_outcome", "explanation"), [
    ("do-not-call", "never: excluded, on the company's do-not-call list (`dialer dnc remove` dials it again)"),
    ("blocked", "never: excluded, no calling window opens for it (see its hold-backs)"),
    (None, "never: excluded (do-not-call or removed)"),
])
def test_why_a_contact_is_excluded(last_outcome: str | None, explanation: str) -> None:
    result = explain_next_dial(
        state=C.EXCLUDED, campaign_status=S.RUNNING, next_attempt_at=NOW, last_outcome=last_outcome,
        lease_owner=None, timezone="Asia/Novosibirsk", now=NOW,
    )
    assert (result.explanation, result.at) == (explanation, None)


def test_unknown_zone_says_so_and_has_no_local_time() -> None:
    result = explain_next_dial(
        state=C.READY, campaign_status=S.RUNNING, next_attempt_at=LATER, last_outcome=None,
        lease_owner=None, timezone=None, now=NOW,
    )
    assert "subscriber's time zone unknown" in result.explanation
    assert result.at_local is None


def test_a_closed_campaign_schedule_delays_a_due_contact_to_its_opening() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    schedule = parse_schedule("mon-fri 13:00-18:00")  # NOW is Monday 12:00 in Moscow
    result = explain_next_dial(
        state=C.READY, campaign_status=S.RUNNING, next_attempt_at=NOW, last_outcome=None,
        lease_owner=None, timezone="Asia/Novosibirsk", now=NOW, schedule=schedule, company_zone=moscow,
    )
    assert result.at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert "schedule (mon-fri 13:00-18:00) opens" in result.explanation
    open_now = explain_next_dial(
        state=C.READY, campaign_status=S.RUNNING, next_attempt_at=LATER, last_outcome=None,
        lease_owner=None, timezone="Asia/Novosibirsk", now=NOW, schedule=schedule, company_zone=moscow,
    )
    assert open_now.at == LATER and "schedule" not in open_now.explanation


LAW = load_rules("fz230-law").with_end_margin(3)  # workdays 08:00-22:00, 1 answered call a day
NOVOSIBIRSK = Subscriber("+79131234567", ("Asia/Novosibirsk",), "D-1")  # NOW is Monday 16:00 there


def _ready(at: datetime, judged: Judged, **kwargs: object) -> tuple[datetime | None, str]:
    result = explain_next_dial(
        state=C.READY, campaign_status=S.RUNNING, next_attempt_at=at, last_outcome="busy",
        lease_owner=None, timezone="Asia/Novosibirsk", now=NOW, judged=judged, **kwargs,  # type: ignore[arg-type]
    )
    return result.at, result.explanation


def test_a_retry_due_after_the_window_closes_is_dialled_when_it_opens() -> None:
    at, why = _ready(datetime(2026, 3, 2, 16, 0, tzinfo=UTC), Judged(NOVOSIBIRSK, AnsweredHistory(), LAW))
    assert at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # Tuesday 08:00 in Novosibirsk
    assert why == ("at 2026-03-03T01:00:00+00:00, when the subscriber's calling window opens "
                   "(Asia/Novosibirsk)")
    # Inside the window, but within the workers' dial lead of its end: the next day too.
    assert _ready(datetime(2026, 3, 2, 14, 59, 58, tzinfo=UTC), Judged(NOVOSIBIRSK, AnsweredHistory(), LAW))[0] == at
    # Inside it: as it stands.
    assert _ready(LATER, Judged(NOVOSIBIRSK, AnsweredHistory(), LAW)) == (
        LATER, "at 2026-03-02T12:00:00+00:00 (Asia/Novosibirsk)")


def test_a_subscriber_at_the_day_cap_is_dialled_the_next_local_day() -> None:
    answered_today = AnsweredHistory(answered=(NOW - timedelta(hours=1),))
    at, why = _ready(NOW, Judged(NOVOSIBIRSK, answered_today, LAW))
    assert at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    assert "when the subscriber's caps allow another call" in why
    assert _ready(NOW, Judged(NOVOSIBIRSK, AnsweredHistory(), LAW)) == (
        NOW, "due now: the next free worker dials it (Asia/Novosibirsk)")


def test_the_schedule_and_the_window_each_move_the_dial_past_the_other() -> None:
    # Moscow's schedule is open 10:00-15:00 UTC; Vladivostok's window 22:00-12:00 UTC. Due at 12:30 UTC
    # (22:30 in Vladivostok): its window opens at 22:00 UTC, when the schedule is closed until Tuesday 10:00.
    vladivostok = Subscriber("+79241234567", ("Asia/Vladivostok",), "D-2")
    at, why = _ready(datetime(2026, 3, 2, 12, 30, tzinfo=UTC), Judged(vladivostok, AnsweredHistory(), LAW),
                     schedule=parse_schedule("mon-fri 13:00-18:00"), company_zone=ZoneInfo("Europe/Moscow"))
    assert at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    assert "schedule (mon-fri 13:00-18:00) opens" in why


def test_a_subscriber_no_window_ever_opens_for_is_never_dialled() -> None:
    nowhere = Subscriber("+79131234567", (), "D-3")
    assert _ready(NOW, Judged(nowhere, AnsweredHistory(), LAW)) == (
        None, "never: no time zone is known for +79131234567")
