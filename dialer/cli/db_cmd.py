"""`dialer db ...`: the database in use, its migrations and the embedded server."""

from __future__ import annotations

import typer

from dialer.cli.common import console, db_url, settings
from dialer.db import migrate
from dialer.db.embedded import EmbeddedPostgres

app = typer.Typer(help="Database: URL in use, migrations, the embedded PostgreSQL.", no_args_is_help=True)


@app.command("url")
def url() -> None:
    """Print the database URL in use (starts the embedded server when DATABASE_URL is unset)."""
    typer.echo(db_url())


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Alembic revision to migrate to.")) -> None:
    """Apply the schema migrations."""
    target = db_url()
    migrate.upgrade(target, revision)
    console.print(f"database migrated to {revision}")


@app.command("stop")
def stop() -> None:
    """Stop the embedded PostgreSQL server (no effect with DATABASE_URL)."""
    if settings().database_url:
        console.print("DATABASE_URL is set: no embedded server to stop")
        return
    stopped = EmbeddedPostgres(settings().pg_dir).stop()
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
