"""`dialer db ...`: the database in use, its migrations and the embedded server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import typer

from dialer.cli.common import console, db_url, settings
from dialer.db import migrate
from dialer.db.embedded import EmbeddedPostgres
from dialer.db.url import libpq_url
from dialer.retention import PruneSummary, prune_decisions
from dialer.runtime import run

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


@app.command("prune")
def prune(
    older_than_days: int = typer.Option(
        90, "--older-than-days", min=1, max=36_500, help="Remove decision log entries older than this many days."
    ),
    json_output: bool = typer.Option(False, "--json", help="End the output with one JSON summary line."),
) -> None:
    """Remove old entries of the decision log (hold-backs), keeping each contact's latest decision;
    attempts, CDRs and the caps ledger are kept. Safe while workers run; run it from cron."""

    async def main() -> PruneSummary:
        before = datetime.now(UTC) - timedelta(days=older_than_days)
        async with await psycopg.AsyncConnection.connect(libpq_url(db_url()), autocommit=True) as conn:
            return await prune_decisions(conn, before)

    summary = run(main())
    console.print(f"decision log: {summary.removed:,} entries from before {summary.before:%Y-%m-%d %H:%M} UTC "
                  "removed (each contact's latest decision kept)", highlight=False, soft_wrap=True)
    if json_output:
        typer.echo(json.dumps(summary.as_json()))
