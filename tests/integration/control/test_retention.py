"""Decision log retention (`dialer db prune`): old hold-backs go, each contact's latest decision stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from dialer.retention import prune_decisions
from tests.integration.control.cli import dialer

NOW = datetime.now(UTC)
REASONS = Jsonb([{"code": "outside-window", "message": "closed"}])


def seed(url: str) -> None:
    """Contact 1: five decisions 200 to 100 days old. Contact 2: one 300 days old. Contact 3: one 200
    days old and one of today. Contact 4: two of the same old instant (the later id is the latest)."""
    days = {1: [200, 175, 150, 125, 100], 2: [300], 3: [200, 0], 4: [150, 150]}
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO companies (id, name) VALUES (1, 'default')")
        conn.execute("INSERT INTO campaigns (id, company_id, name) VALUES (1, 1, 'debts')")
        for contact in days:
            conn.execute("INSERT INTO contacts (id, campaign_id, phone, subscriber_key, tz_source) "
                         "VALUES (%s, 1, %s, %s, 'unknown')", (contact, f"+7913000000{contact}", str(contact)))
        for contact, ages in days.items():
            for age in ages:
                conn.execute("INSERT INTO decision_log (contact_id, at, worker_id, allowed, reasons) "
                             "VALUES (%s, %s, 'w1', false, %s)", (contact, NOW - timedelta(days=age), REASONS))


def left(url: str) -> dict[int, list[int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT contact_id, id FROM decision_log ORDER BY contact_id, id").fetchall()
    kept: dict[int, list[int]] = {}
    for contact, row_id in rows:
        kept.setdefault(contact, []).append(row_id)
    return kept


async def test_prune_keeps_each_contacts_latest_and_everything_recent(database_url: str) -> None:
    seed(database_url)
    before = left(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        summary = await prune_decisions(conn, NOW - timedelta(days=120), batch=2)  # several ranges
    assert summary.removed == 4 + 0 + 1 + 1
    assert left(database_url) == {
        1: before[1][-1:],  # the 100 days old, newer than the cut-off
        2: before[2],  # its only decision, however old
        3: before[3][-1:],  # today's
        4: before[4][-1:],  # of two at one instant, the later id
    }


async def test_cli_prune(database_url: str) -> None:
    seed(database_url)
    before = left(database_url)
    pruned = dialer(database_url, "db", "prune", "--older-than-days", "160", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout.strip().splitlines()[-1])["removed"] == 2 + 1 + 0
    assert left(database_url) == {1: before[1][2:], 2: before[2], 3: before[3][-1:], 4: before[4]}
    again = dialer(database_url, "db", "prune", "--older-than-days", "160", "--json")
    assert json.loads(again.stdout.strip().splitlines()[-1])["removed"] == 0
    refused = dialer(database_url, "db", "prune", "--older-than-days", "0")
    assert refused.returncode == 2 and "--older-than-days" in refused.stderr
