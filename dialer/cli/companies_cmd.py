"""`dialer companies ...`: companies with their time zone and default rules."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cli.common import console
from dialer.cli.dbrun import run_db
from dialer.companies import DEFAULT_TIMEZONE, CompanyConfig, add_company, list_companies

app = typer.Typer(help="Companies: time zone of campaign schedules, default rules, caps scope.",
                  no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Company name.")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Europe/Moscow.")] = DEFAULT_TIMEZONE,
    rules: Annotated[str | None, typer.Option("--rules", help="fz230-twin | fz230-law | tcpa | FILE.toml")] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent company.")] = None,
) -> None:
    """Add a company."""

    async def work(session: AsyncSession) -> CompanyConfig:
        return await add_company(session, name, timezone=timezone, rules=rules, parent=parent)

    company = run_db(work, arguments={"name": "NAME"})
    console.print(f"company {company.name!r} added ({company.timezone}, rules {company.rules.name})",
                  highlight=False)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """List companies."""
    companies = run_db(list_companies)
    if as_json:
        typer.echo(json.dumps([c.public() for c in companies], ensure_ascii=False))
        return
    names = {c.id: c.name for c in companies}
    table = Table("name", "time zone", "rules", "parent")
    for c in companies:
        table.add_row(c.name, c.timezone, c.rules.name, names.get(c.parent_id or 0, "-"))
    console.print(table)
