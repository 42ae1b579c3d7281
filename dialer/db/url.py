"""Which PostgreSQL to use: DATABASE_URL, else the embedded server in $DIALER_HOME/pg."""

from __future__ import annotations

from dialer.db.embedded import EmbeddedPostgres
from dialer.settings import Settings


def database_url(settings: Settings) -> str:
    """The libpq-style URL in use, starting (or reusing) the embedded server when none is configured."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.pg_dir).ensure_running().url()


def sqlalchemy_url(url: str) -> str:
    """The same URL with SQLAlchemy's psycopg 3 driver name."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def libpq_url(url: str) -> str:
    """The URL as psycopg.connect() takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
