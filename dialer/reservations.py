"""Compliance at the instant of origination, and the caps ledger when a call ends.

The rule (FZ-230 art. 7): no call outside the subscriber's local window and no more human-answered
calls than the caps, counted per subscriber across all campaigns of the company. With several
workers and several numbers per subscriber, "count then dial" races. So the check and the record of
the attempt happen in ONE transaction under a per-subscriber advisory lock
(`pg_advisory_xact_lock(hash(company, subscriber))`):

1. lock the subscriber (every worker, every campaign of the company, serializes here);
2. read, in one statement (one snapshot), the human answers of the last 32 days from
   `compliance_ledger` PLUS the subscriber's attempts still in flight, counted as if answered now
   (a pessimistic reservation: that is what keeps a cap when two numbers of one person are dialled
   at once), PLUS attempts whose end was never observed (`lost`: they may have been answered);
0. the campaign row is read FOR KEY SHARE (`dialer.lifecycle.campaign_dialable`): a pause waits
   for gates in progress, and every gate after it sees the campaign paused and records nothing;
   the same message reads whether the number is on the company's do-not-call list (listed since the
   contact was imported, or while it waited in a queue or for a retry: it is excluded, reason
   `do-not-call`, unless a `dnc remove` took the number off before that is written); a contact of a
   call list withdrawn from the campaign is excluded likewise (`withdrawn`); and, where the campaign
   completes a subscriber once a person answered (`reached complete`), whether that happened in this
   campaign (the contact is done, `subscriber-reached`) or another of its numbers is in a call (it waits);
3. `compliance.decide(...)` with `now` = this instant (after the lock: nobody can change the
   history between the decision and the insert), on rules whose end margin is at least the worker's
   dial lead (the call starts a moment later);
4. allowed: insert the attempt with its ChannelId (written before the Originate, so a crash never
   loses which channel is whose) and count it on the contact; held back: the contact goes back to
   `ready` at `next_allowed_at` with a `decision_log` row giving the reasons.

When the call ends, `close_attempt` swaps the reservation for the truth in ONE statement: it closes
the attempt, inserts the ledger row if a human answered (idempotent by attempt id), and applies the
retry policy to the contact. A gate's history read is one statement too, so it sees either the open
attempt or the ledger row, never neither: the close needs no lock.

Pure parts (`history_from_rows`, `counts_as_human`, `attempt_columns`) are apart from the SQL so
they can be unit-tested; the DB functions take the caller's connection (psycopg or SQLAlchemy) and
never commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.types.json import Jsonb

from ami.calls import CallResult
from ami.outcomes import Outcome
from compliance import (
    AnsweredHistory,
    Reason,
    ReasonCode,
    RuleSet,
    Subscriber,
    decide,
    is_human_answer,
)
from dialer.db.models import AttemptState, ContactState, ExcludedBy
from dialer.db.prepared import PreparedSet, Statement, result_rows, simple_query, sql_literal
from dialer.leasing import HotConnection, LeasedContact, driver_connection
from dialer.lifecycle import CAMPAIGN_DIALABLE_SQL
from dialer.retries import RetryPolicy, RetryStep, next_step

__all__ = [
    "CHANNEL_ID_PREFIX",
    "HISTORY_DAYS",
    "Admitted",
    "AttemptRef",
    "CampaignNotDialable",
    "ClosedAttempt",
    "GateResult",
    "HeldBack",
    "HistoryRow",
    "LeaseLost",
    "admit_attempt",
    "attempt_columns",
    "close_attempt",
    "closed_windows",
    "counts_as_human",
    "history_from_rows",
    "hold_closed_windows",
    "installation_prefix",
    "make_subscriber",
    "new_channel_id",
    "reason_json",
    "subscriber_history",
    "subscriber_of",
    "undo_attempt",
]

# Caps reach back at most one calendar month; 32 days covers the longest month in any zone.
HISTORY_DAYS = 32


@dataclass(frozen=True, slots=True)
class Admitted:
    """The attempt is recorded: originate it now with this ChannelId."""

    attempt_id: int
    channel_id: str
    attempt_number: int
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Not dialled now: the contact waits (`ready`) until `next_allowed_at`, or, with no such instant,
    ends in `state` (excluded: compliance or the do-not-call list; done: its subscriber was reached)
    with `outcome` as its last outcome."""

    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None
    decided_at: datetime
    state: ContactState = ContactState.READY
    outcome: str | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)


@dataclass(frozen=True, slots=True)
class CampaignNotDialable:
    """The campaign is no longer running (paused, stopped): nothing recorded, the contact stays leased."""


@dataclass(frozen=True, slots=True)
class LeaseLost:
    """The contact is no longer leased to this worker (taken over after our lease expired)."""


GateResult = Admitted | HeldBack | LeaseLost | CampaignNotDialable


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One past or present call of the subscriber: `kind` is answered | in_flight | lost | attempt."""

    kind: str
    at: datetime


def history_from_rows(rows: Iterable[HistoryRow], now: datetime) -> AnsweredHistory:
    """The caps history: ledger answers, plus in-flight attempts as answers *now*, plus lost attempts
    as answers at their start (pessimistic: we cannot prove they were not answered). Every attempt
    (whatever its end) also counts in `attempts` for optional attempt caps."""
    answered: list[datetime] = []
    attempts: list[datetime] = []
    for row in rows:
        if row.kind == "answered":
            answered.append(row.at)
            continue
        attempts.append(row.at)
        if row.kind == "in_flight":
            answered.append(now)
        elif row.kind == "lost":
            answered.append(row.at)
    return AnsweredHistory(answered=tuple(answered), attempts=tuple(attempts))


def counts_as_human(result: CallResult) -> bool:
    """Whether a finished call goes into the caps ledger.

    Answered, billsec > 0, AMD HUMAN or not run (compliance.caps.is_human_answer): MACHINE, NOTSURE
    and HANGUP are not counted. A call seen answered whose end was lost (outcome `lost`, or `answered`
    with the end unseen after an AMI cut or an Asterisk crash) counts unless AMD had already given
    another verdict: its billsec is unknown, so we assume a person.
    """
    if result.outcome is Outcome.LOST or (result.outcome is Outcome.ANSWERED and not result.complete):
        return result.answered_at is not None and (result.amd_status or "").strip().upper() in ("", "HUMAN")
    disposition = "ANSWERED" if result.outcome is Outcome.ANSWERED else result.outcome.value.upper()
    return is_human_answer(disposition, result.billsec, result.amd_status)


def subscriber_of(contact: LeasedContact) -> Subscriber:
    return make_subscriber(contact.phone, contact.subscriber_key, contact.timezone, contact.tz_candidates,
                           contact.subscriber_zones)


def make_subscriber(
    phone: str, subscriber_key: str, timezone: str | None, tz_candidates: Iterable[str],
    subscriber_zones: Iterable[str],
) -> Subscriber:
    """The compliance view of a contact: every zone of its subscriber's numbers when they span several
    (where the subscriber lives is unknown), else its zone, else every candidate zone (strictest wins)."""
    zones = tuple(subscriber_zones) or ((timezone,) if timezone else tuple(tz_candidates))
    return Subscriber(phone, zones, subscriber_key)


async def subscriber_history(
    conn: psycopg.AsyncConnection[Any], company_id: int, subscriber_key: str, now: datetime
) -> AnsweredHistory:
    """The caps history the gate would read now (in the caller's transaction, without the lock)."""
    cursor = await conn.execute(_HISTORY_SQL, {"company": company_id, "key": subscriber_key, "days": HISTORY_DAYS})
    return history_from_rows([HistoryRow(kind, at) for kind, at in await cursor.fetchall()], now)


def reason_json(reason: Reason) -> dict[str, str | None]:
    return {"code": reason.code.value, "message": reason.message, "zone": reason.zone}


# Every ChannelId the dialer originates starts with this; a worker adds its installation's tag
# (`installation_prefix`) so that the calls of one database are told apart from those of other
# dialers on a shared Asterisk (cdr.Reconciler's channel_prefix).
CHANNEL_ID_PREFIX = "dlr-"


def new_channel_id(contact_id: int, prefix: str = CHANNEL_ID_PREFIX) -> str:
    """Our ChannelId: unique across workers, databases and the shared Asterisk (random part), and
    readable (`dlr-<installation>-<contact>-<random>`) in Asterisk's CLI and CDR."""
    return f"{prefix}{contact_id}-{secrets.token_hex(5)}"


async def installation_prefix(conn: HotConnection) -> str:
    """`dlr-<tag>-`: the tag (6 hex digits) names this database (its random installation secret and
    its name), the same for every worker on it however it connects, and different for another dialer
    sharing the Asterisk."""
    rows = await _execute(conn, """
        SELECT substr(md5(concat_ws('/', (SELECT secret FROM installation), current_database())), 1, 6)
        """, {})
    return f"{CHANNEL_ID_PREFIX}{rows[0][0]}-"


def _subscriber_lock_key(company_id: int, subscriber_key: str) -> str:
    return f"{company_id}/{subscriber_key}"


# The hot path (two transactions per call) talks to psycopg directly with prepared statements: the
# gate is two round trips (`admit_attempt`), the close one statement.

_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0))"

_DNC_SQL = "SELECT 1 FROM dnc WHERE company_id = %(company)s AND phone = %(phone)s"

DO_NOT_CALL = Reason(ReasonCode.DO_NOT_CALL, "on the company's do-not-call list")
LIST_WITHDRAWN = Reason(ReasonCode.LIST_WITHDRAWN, "its call list was withdrawn from the campaign")
SUBSCRIBER_REACHED = Reason(ReasonCode.SUBSCRIBER_REACHED,
                            "a person answered another of the subscriber's numbers in this campaign")
SUBSCRIBER_IN_CALL = Reason(ReasonCode.SUBSCRIBER_IN_CALL,
                            "another of the subscriber's numbers is being called in this campaign")
# A number held back while another of its subscriber's numbers is in a call is tried again this much later
# (the other call either ends unanswered, or its answer completes this one).
SUBSCRIBER_IN_CALL_WAIT = timedelta(minutes=1)

# Campaigns that complete a subscriber once reached (`ReachedAction.COMPLETE`): whether a person answered
# one of the subscriber's numbers in this campaign (ever: not only within the caps' month), and whether one
# of them is in a call now.
_REACHED_SQL = """
    SELECT EXISTS (SELECT 1 FROM compliance_ledger l
                    WHERE l.company_id = %(company)s AND l.subscriber_key = %(key)s AND l.human
                      AND l.campaign_id = %(campaign)s),
           EXISTS (SELECT 1 FROM attempts a
                    WHERE a.company_id = %(company)s AND a.subscriber_key = %(key)s AND a.ended_at IS NULL
                      AND a.campaign_id = %(campaign)s)
    """

_HISTORY_SQL = """
    SELECT 'answered' AS kind, l.answered_at AS at
      FROM compliance_ledger l
     WHERE l.company_id = %(company)s AND l.subscriber_key = %(key)s AND l.human
       AND l.answered_at > now() - make_interval(days => %(days)s)
    UNION ALL
    SELECT CASE WHEN a.ended_at IS NULL THEN 'in_flight'
                WHEN a.outcome = 'lost' AND NOT EXISTS (SELECT 1 FROM compliance_ledger l2
                                                         WHERE l2.attempt_id = a.id) THEN 'lost'
                ELSE 'attempt' END AS kind,
           a.created_at AS at
      FROM attempts a
     WHERE a.company_id = %(company)s AND a.subscriber_key = %(key)s
       AND (a.ended_at IS NULL OR a.created_at > now() - make_interval(days => %(days)s))
    """

# Count the attempt on the contact (only if it is still leased to us and has no attempt open) and record
# it, in one statement; a hold-back puts the contact back to `ready` on the same conditions. A lease
# alone does not prove the contact is idle: a worker wrongly taken for dead (its heartbeats cut) has its
# queued contacts handed back to `ready`, and may lease one again while an earlier copy of it is already
# dialled; the open attempt is what says so. (Two gates of one contact hold the same subscriber lock, so
# the second's statement sees the first's attempt.)
_ADMIT_SQL = """
    WITH counted AS (
        UPDATE contacts SET attempts = attempts + 1,
               lease_expires_at = now() + make_interval(secs => %(lease_s)s), updated_at = now()
         WHERE id = %(contact)s AND lease_owner = %(worker)s AND state = 'dialing'
           AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.contact_id = %(contact)s AND a.ended_at IS NULL)
        RETURNING id, campaign_id, attempts)
    INSERT INTO attempts (contact_id, campaign_id, trunk_id, worker_id, channel_id, state, created_at)
    SELECT id, campaign_id, %(trunk)s, %(worker)s, %(channel)s, 'originating', %(at)s FROM counted
    RETURNING id, (SELECT attempts FROM counted)
    """

# A contact excluded by the do-not-call list goes back to `ready` instead if its number has left the list
# since the gate read it: `dnc remove` gives back only contacts already excluded, so without this a removal
# committed between the gate's two round trips would leave the contact excluded for good. The list's row
# is locked (FOR KEY SHARE) so that a removal in progress is waited for, and one after this commits sees
# the contact excluded. Likewise a contact of a call list the worker took for withdrawn (its campaign's
# settings, reloaded on a NOTIFY) when `lists restore` has put the list back: the call list's row is locked
# FOR SHARE, which a restore's update of it waits for.
_HOLD_SQL = """
    WITH unlisted AS (
        SELECT CASE %(outcome)s
                 WHEN 'do-not-call' THEN NOT EXISTS (SELECT 1 FROM dnc WHERE company_id = %(company)s
                                                        AND phone = %(phone)s FOR KEY SHARE)
                 WHEN 'withdrawn' THEN NOT EXISTS (SELECT 1 FROM call_lists l JOIN contacts c ON c.call_list_id = l.id
                                                    WHERE c.id = %(contact)s AND l.withdrawn_at IS NOT NULL
                                                      FOR SHARE OF l)
                 ELSE false END AS gone),
    held AS (
        UPDATE contacts SET state = CASE WHEN u.gone THEN 'ready' ELSE %(state)s END,
               next_attempt_at = COALESCE(%(next)s, next_attempt_at),
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
               last_outcome = CASE WHEN u.gone THEN last_outcome ELSE COALESCE(%(outcome)s, last_outcome) END
          FROM unlisted u
         WHERE id = %(contact)s AND lease_owner = %(worker)s AND state = 'dialing'
           AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.contact_id = %(contact)s AND a.ended_at IS NULL)
        RETURNING id)
    INSERT INTO decision_log (contact_id, at, worker_id, allowed, reasons, next_allowed_at)
    SELECT id, %(at)s, %(worker)s, false, %(reasons)s, %(next)s FROM held
    RETURNING contact_id
    """

# Leased contacts whose calling window is closed go back in one statement, each with its decision
# logged, on the gate's hold conditions (`hold_closed_windows`).
_HOLD_MANY_SQL = """
    WITH held AS (
        UPDATE contacts c SET state = 'ready', next_attempt_at = h.next, lease_owner = NULL,
               lease_expires_at = NULL, updated_at = now()
          FROM unnest(%(ids)s::int8[], %(nexts)s::timestamptz[], %(reasons)s::jsonb[]) AS h(id, next, reasons)
         WHERE c.id = h.id AND c.lease_owner = %(worker)s AND c.state = 'dialing'
           AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.contact_id = c.id AND a.ended_at IS NULL)
        RETURNING c.id, h.next, h.reasons)
    INSERT INTO decision_log (contact_id, at, worker_id, allowed, reasons, next_allowed_at)
    SELECT id, %(at)s, %(worker)s, false, reasons, next FROM held
    RETURNING contact_id
    """

# Close the attempt once, count a human answer in the ledger, and move the contact on, atomically: a
# concurrent gate's history read sees either the open attempt or the ledger row, never neither.
_CLOSE_CTES = """
    WITH closed AS (
        UPDATE attempts SET state = %(state)s, outcome = %(outcome)s, answered_at = %(answered_at)s,
               ended_at = %(ended_at)s, hangup_cause = %(hangup_cause)s, amd_status = %(amd_status)s,
               amd_cause = %(amd_cause)s, billsec = %(billsec)s, ring_seconds = %(ring_seconds)s
         WHERE id = %(attempt)s AND ended_at IS NULL
        RETURNING id, contact_id),
    ledger AS (
        INSERT INTO compliance_ledger (company_id, subscriber_key, phone, campaign_id, attempt_id, answered_at,
                                       human)
        SELECT %(company)s, %(key)s, %(phone)s, %(campaign)s, id, %(counted_at)s, true FROM closed
         WHERE %(human)s
        ON CONFLICT (attempt_id) DO NOTHING
        RETURNING attempt_id),
    moved AS (
        UPDATE contacts SET state = %(contact_state)s, next_attempt_at = COALESCE(%(next)s, next_attempt_at),
               last_outcome = %(outcome)s, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id IN (SELECT contact_id FROM closed)
        RETURNING id)"""
_CLOSE_COUNTS = """
    SELECT (SELECT count(*) FROM closed), (SELECT count(*) FROM ledger), (SELECT count(*) FROM moved)
    """
_CLOSE_SQL = _CLOSE_CTES + _CLOSE_COUNTS
# A person's answer in a campaign that completes reached subscribers (`dialer_close_reached`, only then) also
# completes the subscriber's other numbers called before in the campaign that wait for a retry (found through
# attempts: contacts have no index by subscriber); the gate completes the rest when they come up.
_REACHED_REASONS = sql_literal(json.dumps([reason_json(SUBSCRIBER_REACHED)])) + "::jsonb"
_CLOSE_REACHED_SQL = _CLOSE_CTES + f""",
    siblings AS (
        UPDATE contacts s SET state = 'done', last_outcome = '{ReasonCode.SUBSCRIBER_REACHED.value}',
               updated_at = now()
         WHERE EXISTS (SELECT 1 FROM ledger) AND s.state = 'ready'
           AND s.id NOT IN (SELECT contact_id FROM closed)
           AND s.id IN (SELECT a.contact_id FROM attempts a
                         WHERE a.company_id = %(company)s AND a.subscriber_key = %(key)s
                           AND a.campaign_id = %(campaign)s)
        RETURNING s.id),
    sibling_log AS (
        INSERT INTO decision_log (contact_id, at, allowed, reasons)
        SELECT id, %(counted_at)s, false, {_REACHED_REASONS} FROM siblings)""" + _CLOSE_COUNTS


async def _execute(conn: HotConnection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run a statement that returns rows (SELECT, or RETURNING) and fetch them."""
    driver = await driver_connection(conn)
    async with driver.cursor() as cur:
        await cur.execute(sql, params, prepare=True)
        return await cur.fetchall()


async def _execute_only(conn: HotConnection, sql: str, params: Mapping[str, Any]) -> None:
    """Run a statement without result rows."""
    driver = await driver_connection(conn)
    async with driver.cursor() as cur:
        await cur.execute(sql, params, prepare=True)


_CLOSE_PARAM_TYPES = (
    ("state", "text"), ("outcome", "text"), ("answered_at", "timestamptz"), ("ended_at", "timestamptz"),
    ("hangup_cause", "int4"), ("amd_status", "text"), ("amd_cause", "text"), ("billsec", "int4"),
    ("ring_seconds", "numeric"), ("attempt", "int8"), ("company", "int4"), ("key", "text"), ("phone", "text"),
    ("campaign", "int4"), ("counted_at", "timestamptz"), ("human", "bool"), ("contact_state", "text"),
    ("next", "timestamptz"),
)

# The gate's and the close's statements, prepared once per connection and run by EXECUTE in one
# simple-query message per round trip (dialer.db.prepared): BEGIN + campaign status + subscriber lock
# + history, then the write + COMMIT.
_STATEMENTS = PreparedSet((
    Statement("dialer_gate_dialable", (("campaign", "int4"),), CAMPAIGN_DIALABLE_SQL),
    Statement("dialer_gate_lock", (("key", "text"),), _LOCK_SQL),
    Statement("dialer_gate_history", (("company", "int4"), ("key", "text"), ("days", "int4")), _HISTORY_SQL),
    Statement("dialer_gate_dnc", (("company", "int4"), ("phone", "text")), _DNC_SQL),
    Statement("dialer_gate_reached", (("company", "int4"), ("key", "text"), ("campaign", "int4")), _REACHED_SQL),
    Statement("dialer_gate_admit", (("lease_s", "float8"), ("contact", "int8"), ("worker", "text"),
                                    ("trunk", "int4"), ("channel", "text"), ("at", "timestamptz")), _ADMIT_SQL),
    Statement("dialer_gate_hold", (("outcome", "text"), ("company", "int4"), ("phone", "text"),
                                   ("state", "text"), ("next", "timestamptz"), ("contact", "int8"),
                                   ("worker", "text"), ("at", "timestamptz"), ("reasons", "jsonb")), _HOLD_SQL),
    Statement("dialer_close", _CLOSE_PARAM_TYPES, _CLOSE_SQL),
    Statement("dialer_close_reached", _CLOSE_PARAM_TYPES, _CLOSE_REACHED_SQL),
))
_CLOSE_PARAMS = tuple(name for name, _ in _CLOSE_PARAM_TYPES)


async def admit_attempt(
    conn: psycopg.AsyncConnection[Any],
    *,
    contact: LeasedContact,
    company_id: int,
    rules: RuleSet,
    trunk_id: int,
    worker_id: str,
    lease_seconds: float,
    now: Callable[[], datetime],
    channel_prefix: str = CHANNEL_ID_PREFIX,
    complete_reached: bool = False,
    withdrawn: bool = False,
) -> GateResult:
    """Decide and record, in one transaction of its own, whether this contact is dialled now.

    `conn` is an autocommit psycopg connection with no transaction open (the worker's pool); the
    gate is the transaction (begun and committed here) because its two round trips carry the BEGIN
    and the COMMIT with its statements. `now` gives the aware UTC instant; it is read after the lock,
    so it is the instant of dialing. With `complete_reached` (the campaign's `ReachedAction.COMPLETE`) a
    subscriber a person answered for in this campaign is not dialled again, and waits while another of
    its numbers is in a call. A contact of a `withdrawn` call list is excluded. The campaign's status is
    read first under its row lock
    (dialer.lifecycle.campaign_dialable): once a pause or stop has committed, no attempt is recorded,
    so no call starts. PostgreSQL runs the statements of one message one after the other, each with
    its own snapshot, so the history is read after the subscriber lock is held.
    """
    if not conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("admit_attempt needs an autocommit connection outside any transaction")
    return await _STATEMENTS.run(conn, lambda: _gate(
        conn, contact=contact, company_id=company_id, rules=rules, trunk_id=trunk_id, worker_id=worker_id,
        lease_seconds=lease_seconds, now=now, channel_prefix=channel_prefix, complete_reached=complete_reached,
        withdrawn=withdrawn))


async def _gate(
    conn: psycopg.AsyncConnection[Any], *, contact: LeasedContact, company_id: int, rules: RuleSet,
    trunk_id: int, worker_id: str, lease_seconds: float, now: Callable[[], datetime], channel_prefix: str,
    complete_reached: bool, withdrawn: bool,
) -> GateResult:
    key = contact.subscriber_key
    try:
        statements = [
            "BEGIN",
            _STATEMENTS.execute_sql("dialer_gate_dialable", (contact.campaign_id,)),
            _STATEMENTS.execute_sql("dialer_gate_lock", (_subscriber_lock_key(company_id, key),)),
            _STATEMENTS.execute_sql("dialer_gate_history", (company_id, key, HISTORY_DAYS)),
            _STATEMENTS.execute_sql("dialer_gate_dnc", (company_id, contact.phone))]
        if complete_reached:
            statements.append(_STATEMENTS.execute_sql("dialer_gate_reached", (company_id, key, contact.campaign_id)))
        _, dialable, _, history, listed, *reached = await simple_query(conn, ";\n".join(statements))
        if not dialable.ntuples or dialable.get_value(0, 0) != b"t":
            await conn.rollback()
            return CampaignNotDialable()
        instant = now()
        held = _held_by_policy(listed, withdrawn, reached, instant)
        if held is None:
            rows = [HistoryRow(kind, at) for kind, at in result_rows(conn, history)]
            decision = decide(subscriber_of(contact), instant, history_from_rows(rows, instant), rules)
            if not decision.allowed:
                state = ContactState.READY if decision.next_allowed_at is not None else ContactState.EXCLUDED
                held = HeldBack(decision.reasons, decision.next_allowed_at, instant, state,
                                None if state is ContactState.READY else ExcludedBy.BLOCKED)
        if held is not None:
            hold = await simple_query(conn, _STATEMENTS.execute_sql(
                "dialer_gate_hold", _hold_params(contact, company_id, worker_id, held)) + ";\nCOMMIT")
            return held if hold[0].ntuples else LeaseLost()
        channel_id = new_channel_id(contact.id, channel_prefix)
        admit = await simple_query(conn, _STATEMENTS.execute_sql(
            "dialer_gate_admit", (float(lease_seconds), contact.id, worker_id, trunk_id, channel_id, instant)
        ) + ";\nCOMMIT")
        admitted = [(int(admit[0].get_value(0, 0) or 0), int(admit[0].get_value(0, 1) or 0))
                    ] if admit[0].ntuples else []
    except BaseException:
        # A statement failed (or we were cancelled between round trips): end the transaction here; a
        # connection cut mid-statement is left to the pool, which discards it.
        if not conn.closed and conn.pgconn.transaction_status in (TransactionStatus.INTRANS,
                                                                  TransactionStatus.INERROR):
            await conn.rollback()
        raise
    if not admitted:
        return LeaseLost()
    attempt_id, counted = admitted[0]
    return Admitted(attempt_id=attempt_id, channel_id=channel_id, attempt_number=counted, decided_at=instant)


def _held_by_policy(
    listed: PGresult, withdrawn: bool, reached: Sequence[PGresult], instant: datetime
) -> HeldBack | None:
    """Held back before the rules are asked: the do-not-call list (excluded; `dnc remove` gives it back),
    a withdrawn call list (excluded; `lists restore` gives it back), then, where the campaign completes
    reached subscribers, a person already reached on another number (done) or another number in a call
    (wait)."""
    if listed.ntuples:
        return HeldBack((DO_NOT_CALL,), None, instant, ContactState.EXCLUDED, ExcludedBy.DO_NOT_CALL)
    if withdrawn:
        return HeldBack((LIST_WITHDRAWN,), None, instant, ContactState.EXCLUDED, ExcludedBy.WITHDRAWN)
    if reached:
        answered, in_call = (reached[0].get_value(0, column) == b"t" for column in (0, 1))
        if answered:
            return HeldBack((SUBSCRIBER_REACHED,), None, instant, ContactState.DONE, SUBSCRIBER_REACHED.code.value)
        if in_call:
            return HeldBack((SUBSCRIBER_IN_CALL,), instant + SUBSCRIBER_IN_CALL_WAIT, instant)
    return None


def _hold_params(contact: LeasedContact, company_id: int, worker_id: str, held: HeldBack) -> tuple[Any, ...]:
    return (held.outcome, company_id, contact.phone, held.state.value, held.next_allowed_at, contact.id, worker_id,
            held.decided_at, Jsonb([reason_json(r) for r in held.reasons]))


_NO_HISTORY = AnsweredHistory()


def closed_windows(
    contacts: Iterable[LeasedContact], now: datetime, rules: RuleSet
) -> list[tuple[LeasedContact, HeldBack]]:
    """Pure: the contacts whose calling window is closed at `now` (in any zone of their subscriber) and
    opens later. Judged without the caps history: a window never needs it, and a contact allowed here
    still passes the gate. Contacts no window ever opens for are left to the gate (it excludes them)."""
    held = []
    for contact in contacts:
        decision = decide(subscriber_of(contact), now, _NO_HISTORY, rules)
        if not decision.allowed and decision.next_allowed_at is not None and decision.next_allowed_at > now:
            held.append((contact, HeldBack(decision.reasons, decision.next_allowed_at, now)))
    return held


async def hold_closed_windows(
    conn: psycopg.AsyncConnection[Any], *, worker_id: str, held: Iterable[tuple[LeasedContact, HeldBack]]
) -> set[int]:
    """Give back, in the caller's transaction, contacts leased to `worker_id` whose window is closed
    (`closed_windows`): `ready` at their window's opening, each decision logged as the gate logs it.
    A worker's ready queue then holds contacts it may dial, and a list imported while its subscribers'
    windows are closed is sorted in a statement per lease instead of a gate per contact. Returns the ids
    given back."""
    rows = list(held)
    if not rows:
        return set()
    cursor = await conn.execute(_HOLD_MANY_SQL, {
        "ids": [contact.id for contact, _ in rows],
        "nexts": [hold.next_allowed_at for _, hold in rows],
        "reasons": [Jsonb([reason_json(r) for r in hold.reasons]) for _, hold in rows],
        "worker": worker_id,
        "at": rows[0][1].decided_at,
    })
    return {int(row[0]) for row in await cursor.fetchall()}


@dataclass(frozen=True, slots=True)
class AttemptRef:
    """An open attempt and what its close needs to know (kept in memory from the admission, or read
    back by the reconciler): the ledger's key and the attempt's number for the retry policy."""

    attempt_id: int
    contact_id: int
    campaign_id: int
    company_id: int
    subscriber_key: str
    phone: str
    attempt_number: int


@dataclass(frozen=True, slots=True)
class ClosedAttempt:
    """What closing an attempt did: the contact's next step and whether the ledger counted it."""

    attempt_id: int
    contact_id: int
    step: RetryStep
    human: bool


def attempt_columns(result: CallResult) -> dict[str, Any]:
    """The attempt row's columns for a finished call."""
    state = AttemptState.LOST if result.outcome is Outcome.LOST else AttemptState.ENDED
    return {
        "state": state.value,
        "outcome": result.outcome.value,
        "answered_at": result.answered_at,
        "ended_at": result.ended_at or datetime.now(UTC),
        "hangup_cause": result.hangup_cause,
        "amd_status": result.amd_status,
        "amd_cause": result.amd_cause,
        "billsec": result.billsec,
        "ring_seconds": None if result.ring_seconds is None else round(result.ring_seconds, 3),
    }


async def close_attempt(
    conn: HotConnection,
    *,
    ref: AttemptRef,
    result: CallResult,
    policy: RetryPolicy,
    now: datetime,
    complete_reached: bool = False,
) -> ClosedAttempt | None:
    """Record a call's end, its ledger row and the contact's next step, once, in one statement; with
    `complete_reached` (the campaign's `ReachedAction.COMPLETE`) a human answer also completes the
    subscriber's numbers called before in the campaign that wait for a retry.

    Returns None when the attempt was already closed (e.g. reconciled by another worker while this
    one stalled): the second report changes nothing.
    """
    human = counts_as_human(result)
    step = next_step(result.outcome, result.amd_status, max(1, ref.attempt_number), policy, now)
    params = {
        **attempt_columns(result), "attempt": ref.attempt_id, "company": ref.company_id,
        "key": ref.subscriber_key, "phone": ref.phone, "campaign": ref.campaign_id,
        "counted_at": result.answered_at or result.ended_at or now, "human": human,
        "contact_state": step.state.value, "next": step.next_attempt_at,
    }
    siblings = complete_reached and human
    if isinstance(conn, psycopg.AsyncConnection) and conn.autocommit and (
            conn.pgconn.transaction_status == TransactionStatus.IDLE):
        # The worker's hot path: the prepared statement, one send and one read (dialer.db.prepared).
        closed = await _close_prepared(conn, "dialer_close_reached" if siblings else "dialer_close", params)
    else:
        rows = await _execute(conn, _CLOSE_REACHED_SQL if siblings else _CLOSE_SQL, params)
        closed = bool(rows) and rows[0][0] != 0
    if not closed:
        return None
    return ClosedAttempt(attempt_id=ref.attempt_id, contact_id=ref.contact_id, step=step, human=human)


async def _close_prepared(conn: psycopg.AsyncConnection[Any], statement: str, params: Mapping[str, Any]) -> bool:
    sql = _STATEMENTS.execute_sql(statement, [params[name] for name in _CLOSE_PARAMS])
    result = (await _STATEMENTS.run(conn, lambda: simple_query(conn, sql)))[0]
    return bool(result.ntuples) and result.get_value(0, 0) not in (None, b"0")


async def undo_attempt(conn: HotConnection, *, attempt_id: int, contact_id: int, worker_id: str) -> None:
    """Nothing was dialled (the Originate never left us): forget the attempt and give the contact
    back to the queue as it was."""
    await _execute_only(
        conn,
        """WITH gone AS (DELETE FROM attempts WHERE id = %(attempt)s AND ended_at IS NULL RETURNING contact_id)
           UPDATE contacts SET attempts = greatest(attempts - 1, 0), state = 'ready', lease_owner = NULL,
                  lease_expires_at = NULL, updated_at = now()
            WHERE id = %(contact)s AND lease_owner = %(worker)s AND id IN (SELECT contact_id FROM gone)""",
        {"attempt": attempt_id, "contact": contact_id, "worker": worker_id},
    )
