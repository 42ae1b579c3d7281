"""The migrations produce exactly the schema of the models, and the hot queries use their indexes."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from dialer.db.models import Base
from dialer.db.url import sqlalchemy_url


def test_migrations_match_models(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_next_eligible_contacts_is_an_index_scan(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO companies (name) VALUES ('c')")
        conn.execute("INSERT INTO campaigns (company_id, name) VALUES (1, 'x'), (1, 'y')")
        conn.execute(
            """INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source, state, next_attempt_at)
               SELECT 1 + (g % 2), '+7900' || lpad(g::text, 7, '0'), g::text, 'registry',
                      CASE WHEN g % 3 = 0 THEN 'done' ELSE 'ready' END, now() - (g || ' s')::interval
               FROM generate_series(1, 20000) g"""
        )
        conn.execute("ANALYZE contacts")
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                """EXPLAIN SELECT id FROM contacts
                   WHERE campaign_id = 1 AND state = 'ready' AND next_attempt_at <= now()
                   ORDER BY next_attempt_at LIMIT 100 FOR UPDATE SKIP LOCKED"""
            )
        )
    assert "ix_contacts_eligible" in plan, plan
    assert "Sort" not in plan, plan
