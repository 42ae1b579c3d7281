"""Live counts of `campaigns show`: contacts by state, attempts by outcome, held back by reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.campaign_stats import campaign_stats
from dialer.db.session import session_scope
from tests.integration.control.helpers import make_campaign, make_trunk

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _seed(url: str, campaign_id: int) -> None:
    later, earlier = NOW + timedelta(hours=2), NOW - timedelta(minutes=1)
    rows = [  # (id, state, next_attempt_at)
        (1, "ready", earlier), (2, "ready", later), (3, "ready", later), (4, "ready", later),
        (5, "dialing", earlier), (6, "done", earlier), (7, "failed", earlier), (8, "ready", later),
    ]
    with psycopg.connect(url) as conn:
        for cid, state, at in rows:
            conn.execute(
                "INSERT INTO contacts (id, campaign_id, phone, subscriber_key, tz_source, state, next_attempt_at)"
                " VALUES (%s, %s, %s, %s, 'registry', %s, %s)",
                (cid, campaign_id, f"+7913000000{cid}", str(cid), state, at),
            )
        for n, (cid, outcome) in enumerate([(5, None), (6, "answered"), (7, "busy"), (7, "busy"), (2, "no_answer")]):
            conn.execute(
                "INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id, outcome)"
                " VALUES (%s, %s, 'w', %s, %s)",
                (cid, campaign_id, f"ch-{n}", outcome),
            )

        # Contact 6's answer was a person's (the caps ledger); a row not counted as human does not count.
        for channel, human in (("ch-1", True), ("ch-2", False)):
            conn.execute(
                "INSERT INTO compliance_ledger (company_id, subscriber_key, phone, campaign_id, attempt_id,"
                " answered_at, human) SELECT g.company_id, c.subscriber_key, c.phone, g.id, a.id, %s, %s"
                " FROM attempts a JOIN contacts c ON c.id = a.contact_id JOIN campaigns g ON g.id = a.campaign_id"
                " WHERE a.channel_id = %s",
                (NOW, human, channel),
            )

        def log(cid: int, at: datetime, allowed: bool, codes: list[str]) -> None:
            conn.execute(
                "INSERT INTO decision_log (contact_id, at, allowed, reasons) VALUES (%s, %s, %s, %s)",
                (cid, at, allowed, Jsonb([{"code": c, "message": c} for c in codes])),
            )

        log(2, NOW - timedelta(hours=1), False, ["outside-window"])
        log(3, NOW - timedelta(hours=3), False, ["outside-window"])
        log(3, NOW - timedelta(hours=1), False, ["cap-day", "cap-week"])  # the latest decision counts
        log(4, NOW - timedelta(hours=1), True, [])  # dialed: not held back
        log(6, NOW - timedelta(hours=1), False, ["outside-window"])  # done since: not waiting
        log(8, NOW - timedelta(hours=1), False, [])


async def test_counts(database: AsyncEngine, database_url: str) -> None:
    await make_trunk(database)
    config = await make_campaign(database)
    _seed(database_url, config.id)
    async with session_scope(database) as session:
        stats = await campaign_stats(session, config.id, NOW)
    assert dict(stats.contacts) == {"ready": 5, "dialing": 1, "done": 1, "failed": 1, "excluded": 0}
    assert (stats.ready_now, stats.ready_later, stats.total_contacts) == (1, 4, 8)
    assert dict(stats.attempts) == {"answered": 1, "busy": 2, "in_flight": 1, "no_answer": 1}
    assert dict(stats.held_back) == {"cap-day": 1, "cap-week": 1, "outside-window": 1, "unspecified": 1}
    assert dict(stats.held_back_by_kind) == {"caps": 1, "other": 1, "window": 1}
    assert stats.public()["attempts_total"] == 5
    assert stats.public()["results"] == {"reached": 1, "completed": 0, "not_reached": 1, "excluded": 0, "pending": 6}
