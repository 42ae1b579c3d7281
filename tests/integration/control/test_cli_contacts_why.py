"""`dialer contacts why PHONE` through the real console script, on a contact with a known history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from tests.integration.control.cli import dialer

AMI = "ami://dialer:dialer@127.0.0.1:5038"
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 13:00 in Novosibirsk
NEXT = datetime(2099, 3, 3, 3, 0, tzinfo=UTC)  # 10:00 the next day in Novosibirsk, 06:00 in Moscow
# The subscriber also has a Moscow number: the window (09:10-19:50) must be open in both zones.
OPENS = datetime(2099, 3, 3, 6, 10, tzinfo=UTC)


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO companies (id, name) VALUES (1, 'default')")
        conn.execute("INSERT INTO trunks (id, name, ami_url, dial_template) VALUES (1, 'sim', %s, 'Local/{number}@x')",
                     (AMI,))
        conn.execute("INSERT INTO campaigns (id, company_id, name, status) VALUES (1, 1, 'debts', 'running'),"
                     " (2, 1, 'other', 'paused')")
        conn.execute(
            """INSERT INTO contacts (id, campaign_id, phone, subscriber_key, name, timezone, tz_source,
                                     tz_candidates, state, next_attempt_at, attempts, last_outcome, subscriber_zones)
               VALUES (10, 1, '+79131234567', 'D-1', 'Ivan', 'Asia/Novosibirsk', 'registry',
                       '{Asia/Novosibirsk}', 'ready', %s, 2, 'busy', '{Asia/Novosibirsk,Europe/Moscow}'),
                      (11, 2, '+79131234567', 'D-1', NULL, NULL, 'unknown', '{}', 'ready', %s, 0, NULL, NULL)""",
            (NEXT, T0),
        )
        conn.execute(
            """INSERT INTO attempts (contact_id, campaign_id, trunk_id, worker_id, channel_id, state, created_at,
                                     ended_at, outcome, hangup_cause, amd_status, billsec)
               VALUES (10, 1, 1, 'w1', 'dlr-10-a', 'ended', %s, %s, 'no_answer', 19, NULL, 0),
                      (10, 1, 1, 'w2', 'dlr-10-b', 'ended', %s, %s, 'busy', 17, NULL, 0)""",
            (T0, T0 + timedelta(seconds=30), T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=5)),
        )
        conn.execute(
            """INSERT INTO decision_log (contact_id, at, worker_id, allowed, reasons, next_allowed_at)
               VALUES (10, %s, 'w1', false, %s, %s)""",
            (T0 - timedelta(hours=5), Jsonb([{"code": "outside-window", "zone": "Asia/Novosibirsk",
                                              "message": "local 08:00 Asia/Novosibirsk, window 09:10-19:50"}]),
             T0 - timedelta(hours=4)),
        )


def test_why_json_has_attempts_holds_zone_and_next_dial(database_url: str) -> None:
    seed(database_url)
    done = dialer(database_url, "contacts", "why", "8 (913) 123-45-67", "--campaign", "debts", "--json")
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["campaign"] == "debts" and report["phone"] == "+79131234567"
    assert report["timezone"] == "Asia/Novosibirsk" and report["tz_source"] == "registry"
    assert report["subscriber_zones"] == ["Asia/Novosibirsk", "Europe/Moscow"]
    assert report["state"] == "ready" and report["attempts_made"] == 2
    assert [(a["worker"], a["trunk"], a["outcome"], a["hangup_cause"], a["hangup_text"], a["billsec"])
            for a in report["attempts"]] == [
        ("w1", "sim", "no_answer", 19, "User alerting, no answer", 0),
        ("w2", "sim", "busy", 17, "User busy", 0),
    ]
    [decision] = report["decisions"]
    assert decision["allowed"] is False
    assert decision["reasons"][0]["code"] == "outside-window"
    assert "window 09:10-19:50" in decision["reasons"][0]["message"]
    assert datetime.fromisoformat(report["next_attempt_at"]) == NEXT
    assert datetime.fromisoformat(report["next_dial"]["at"]) == OPENS
    assert report["next_dial"]["at_local"].startswith("2099-03-03T13:10:00+07:00")
    assert "when the subscriber's calling window opens" in report["next_dial"]["explanation"]


def test_why_text_and_every_campaign(database_url: str) -> None:
    seed(database_url)
    done = dialer(database_url, "contacts", "why", "+79131234567")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "in campaign debts" in out and "in campaign other" in out
    assert "Asia/Novosibirsk (source: registry)" in out
    assert "Asia/Novosibirsk, Europe/Moscow (numbers in several zones" in out
    assert "held back" in out and "outside-window" in out
    assert "17 User busy" in out
    assert "2099-03-03 06:10:00 UTC" in out and "2099-03-03 13:10:00 +0700" in out
    assert "not before the campaign is resumed" in out  # the paused campaign
    as_json = json.loads(dialer(database_url, "contacts", "why", "+79131234567", "--json").stdout)
    assert [r["campaign"] for r in as_json] == ["debts", "other"]


def test_why_errors(database_url: str) -> None:
    seed(database_url)
    bad = dialer(database_url, "contacts", "why", "12")
    assert bad.returncode == 1 and "PHONE: " in bad.stderr
    unknown = dialer(database_url, "contacts", "why", "+79130000000")
    assert unknown.returncode == 1 and "no contact with phone +79130000000" in unknown.stderr
    campaign = dialer(database_url, "contacts", "why", "+79131234567", "--campaign", "nope")
    assert campaign.returncode == 1 and "campaign 'nope' does not exist" in campaign.stderr


def test_a_subscriber_at_a_cap_is_dialled_when_the_cap_allows(database_url: str) -> None:
    """The next dial of a due contact counts the subscriber's answered calls (any number, any campaign
    of the company), as the gate will: here one today, under rules open all day with one a day."""
    seed(database_url)
    rules = '[windows]\neveryday = "00:00-24:00"\n[caps]\nday = 1\n'
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO campaigns (id, company_id, name, status, rules, rules_toml) "
                     "VALUES (3, 1, 'daily', 'running', 'file:daily.toml', %s)", (rules,))
        conn.execute("INSERT INTO contacts (id, campaign_id, phone, subscriber_key, timezone, tz_source, tz_candidates,"
                     " state, next_attempt_at) VALUES (12, 3, '+79139990000', 'D-1', 'Asia/Novosibirsk', 'registry',"
                     " '{Asia/Novosibirsk}', 'ready', now() - interval '1 minute')")
        answered = conn.execute(  # subscriber D-1 answered on its other number, in another campaign
            "INSERT INTO compliance_ledger (company_id, subscriber_key, phone, campaign_id, answered_at) "
            "VALUES (1, 'D-1', '+79131234567', 1, now()) RETURNING answered_at").fetchone()
    assert answered is not None
    local = answered[0].astimezone(ZoneInfo("Asia/Novosibirsk"))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    done = dialer(database_url, "contacts", "why", "+79139990000", "--json")
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert datetime.fromisoformat(report["next_dial"]["at"]) == midnight
    assert "when the subscriber's caps allow another call" in report["next_dial"]["explanation"]
