"""PostgreSQL for tests: one embedded server per machine, a migrated template, a fresh database per test."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.db import migrate
from dialer.db.embedded import EmbeddedPostgres
from dialer.db.session import make_engine

TEST_HOME = Path(os.environ.get("DIALER_TEST_HOME", "~/.cache/dialer-tests")).expanduser()


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(migrate.MIGRATIONS.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _server_url(database: str) -> str:
    explicit = os.environ.get("DIALER_TEST_DATABASE_URL")
    if explicit:
        base = explicit.rsplit("/", 1)[0]
        return f"{base}/{database}"
    return EmbeddedPostgres(TEST_HOME / "pg").ensure_running().url(database)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of the maintenance database of the test server."""
    return _server_url("postgres")


@pytest.fixture(scope="session")
def template_database(pg_admin_url: str) -> str:
    """A database migrated to head, used as the template of every test database."""
    name = f"dialer_tpl_{_migrations_digest()}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(4242)")
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                # Left by a run whose migration failed: it would hide the next run's own error.
                conn.execute(f'DROP DATABASE IF EXISTS "{name}_tmp" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}_tmp"')
                migrate.upgrade(pg_admin_url.rsplit("/", 1)[0] + f"/{name}_tmp")
                conn.execute(f'ALTER DATABASE "{name}_tmp" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(4242)")
    return name


def _create_database(pg_admin_url: str, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def _drop_database(pg_admin_url: str, name: str) -> None:
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """URL of a fresh database, migrated to head, dropped after the test."""
    name = _create_database(pg_admin_url, template_database)
    yield pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    _drop_database(pg_admin_url, name)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An AsyncEngine on a fresh migrated database."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of the test's own, for tests that stop or restart the server (the shared one
    serves every other test)."""
    pg = EmbeddedPostgres(tmp_path / "pg")
    try:
        yield pg
    finally:
        pg.stop()
