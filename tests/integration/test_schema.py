"""The migrations produce exactly the schema of the models, and the hot queries use their indexes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
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


def _seed(conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO companies (name) VALUES ('c')")
    conn.execute("INSERT INTO campaigns (company_id, name) VALUES (1, 'x'), (1, 'y')")
    conn.execute("INSERT INTO call_lists (campaign_id, filename, sha256) VALUES (1, 'a.csv', 'a'), (2, 'b.csv', 'b')")


def _contacts(conn: psycopg.Connection[Any], rows: list[tuple[int, int | None]]) -> None:
    columns = "campaign_id, call_list_id, phone, subscriber_key, tz_source"
    with conn.cursor().copy(f"COPY contacts ({columns}) FROM STDIN") as cp:
        for i, (campaign, call_list) in enumerate(rows):
            cp.write_row((campaign, call_list, f"+7900000{i:04d}", str(i), "registry"))


@pytest.mark.parametrize(
    ("rows", "detail"),
    [
        ([(1, 1)] * 50 + [(3, 1)] + [(2, 2)] * 50, 'Key (campaign_id)=(3) is not present in table "campaigns"'),
        ([(1, 1), (2, None), (1, 7)], 'Key (call_list_id)=(7) is not present in table "call_lists"'),
    ],
)
def test_contacts_must_reference_existing_campaigns_and_call_lists(
    database_url: str, rows: list[tuple[int, int | None]], detail: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _seed(conn)
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
            _contacts(conn, rows)
        assert caught.value.diag.message_detail is not None and detail in caught.value.diag.message_detail
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source) "
                "VALUES (9, '+79000000001', 'k', 'x')"
            )
        _contacts(conn, [(1, 1), (2, None)])
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE contacts SET campaign_id = 5 WHERE call_list_id = 1")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE contacts SET call_list_id = 8 WHERE campaign_id = 2")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE call_lists SET id = 10 WHERE id = 1")
        conn.execute("UPDATE contacts SET campaign_id = 2, call_list_id = 2 WHERE call_list_id = 1")
        conn.execute("UPDATE call_lists SET id = 10 WHERE id = 1")  # no longer referenced
        assert conn.execute("SELECT campaign_id, call_list_id FROM contacts ORDER BY id").fetchall() == [
            (2, 2),
            (2, None),
        ]


def test_deleting_a_campaign_deletes_its_contacts_and_a_call_list_releases_them(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _seed(conn)
        _contacts(conn, [(1, 1)] * 3 + [(2, 2)] * 2)
        conn.execute(
            "INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id) "
            "SELECT id, campaign_id, 'w', 'ch-' || id FROM contacts"
        )
        conn.execute("DELETE FROM call_lists WHERE id = 2")
        assert conn.execute("SELECT campaign_id, call_list_id FROM contacts WHERE campaign_id = 2").fetchall() == [
            (2, None),
            (2, None),
        ]
        conn.execute("DELETE FROM campaigns WHERE id = 1")
        assert conn.execute("SELECT DISTINCT campaign_id FROM contacts").fetchall() == [(2,)]
        assert conn.execute("SELECT DISTINCT campaign_id FROM attempts").fetchall() == [(2,)]


def test_a_campaign_being_filled_cannot_be_deleted_until_the_import_ends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as importer, psycopg.connect(database_url) as deleter:
        _seed(importer)
        with importer.transaction():
            _contacts(importer, [(1, 1)] * 10)
            # The import holds its campaign and call list as a foreign key would (FOR KEY SHARE).
            deleter.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                deleter.execute("DELETE FROM campaigns WHERE id = 1")
            deleter.rollback()
        deleter.execute("DELETE FROM campaigns WHERE id = 1")
        deleter.commit()
        assert importer.execute("SELECT count(*) FROM contacts").fetchone() == (0,)


def test_identifiers_compare_byte_by_byte(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        collations = conn.execute(
            """SELECT table_name || '.' || column_name, collation_name FROM information_schema.columns
               WHERE column_name IN ('phone', 'subscriber_key') AND table_schema = 'public'"""
        ).fetchall()
    assert collations and all(collation == "C" for _, collation in collations), collations


def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    from alembic import command

    from dialer.db.migrate import alembic_config

    config = alembic_config(database_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    test_migrations_match_models(database_url)


def test_attempts_recorded_before_0005_get_their_subscriber(database_url: str) -> None:
    from alembic import command

    from dialer.db.migrate import alembic_config

    config = alembic_config(database_url)
    command.downgrade(config, "0004_cdr_mismatches")
    with psycopg.connect(database_url, autocommit=True) as conn:
        _seed(conn)
        _contacts(conn, [(1, 1), (2, 2)])
        conn.execute("INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id) "
                     "SELECT id, campaign_id, 'w', 'ch-' || id FROM contacts")
    command.upgrade(config, "head")
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT company_id, subscriber_key FROM attempts ORDER BY id").fetchall() == [
            (1, "0"), (1, "1")]
        # Recorded since: from the contact, whatever the writer passed.
        conn.execute("INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id, subscriber_key) "
                     "SELECT id, campaign_id, 'w', 'new-' || id, 'forged' FROM contacts WHERE subscriber_key = '1'")
        assert conn.execute("SELECT company_id, subscriber_key FROM attempts WHERE channel_id = 'new-2'"
                            ).fetchall() == [(1, "1")]
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO attempts (contact_id, campaign_id, worker_id, channel_id) "
                         "VALUES (999, 1, 'w', 'nobody')")


def test_contacts_are_vacuumed_early_with_their_indexes(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        options = conn.execute("SELECT reloptions FROM pg_class WHERE relname = 'contacts'").fetchone()
    assert options is not None and set(options[0]) == {
        "autovacuum_vacuum_scale_factor=0.01", "autovacuum_vacuum_threshold=1000", "vacuum_index_cleanup=on"}
