"""`dialer trunks ...`: Asterisk servers and dial strings that campaigns dial through."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cli.common import console
from dialer.cli.dbrun import run_db
from dialer.trunks import (
    TrunkConfig,
    TrunkSpec,
    add_trunk,
    get_trunk,
    list_trunks,
    remove_trunk,
    update_trunk,
)

app = typer.Typer(help="Trunks: an Asterisk server (AMI) plus a dial string, with CPS and channel limits.",
                  no_args_is_help=True)

_ARGS = {"name": "NAME"}


def _print(trunk: TrunkConfig) -> None:
    for key, value in trunk.public().items():
        console.print(f"{key:>13}: {value}", highlight=False)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Trunk name (letters, digits, _ . -).")],
    ami: Annotated[str, typer.Option("--ami", help="ami://user:secret@host:port")],
    dial: Annotated[str, typer.Option("--dial", help="Dial string with {number}, e.g. PJSIP/{number}@carrier.")],
    cps: Annotated[float, typer.Option("--cps", help="Calls per second the carrier accepts.")] = 10.0,
    max_channels: Annotated[int, typer.Option("--max-channels", help="Concurrent calls at most.")] = 30,
    caller_id: Annotated[str | None, typer.Option("--caller-id", help="Default caller id.")] = None,
) -> None:
    """Add a trunk."""
    spec = TrunkSpec(name=name, ami=ami, dial=dial, cps=str(cps), max_channels=max_channels, caller_id=caller_id)

    async def work(session: AsyncSession) -> TrunkConfig:
        return await add_trunk(session, spec)

    trunk = run_db(work, arguments=_ARGS)
    console.print(f"trunk {trunk.name!r} added ({trunk.ami.redacted()}, {trunk.cps_limit.normalize():f} cps, "
                  f"{trunk.max_channels} channels)", highlight=False)


@app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="Trunk name.")],
    ami: Annotated[str | None, typer.Option("--ami", help="ami://user:secret@host:port")] = None,
    dial: Annotated[str | None, typer.Option("--dial", help="Dial string with {number}.")] = None,
    cps: Annotated[float | None, typer.Option("--cps", help="Calls per second.")] = None,
    max_channels: Annotated[int | None, typer.Option("--max-channels", help="Concurrent calls at most.")] = None,
    caller_id: Annotated[str | None, typer.Option("--caller-id", help="Default caller id ('' clears).")] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="Dial through it or not.")] = None,
) -> None:
    """Change a trunk; running workers pick the change up at once."""
    given = {"ami": ami, "dial": dial, "cps": None if cps is None else str(cps), "max_channels": max_channels,
             "caller_id": caller_id, "enabled": enabled}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise typer.BadParameter("give at least one setting to change", param_hint="options")

    async def work(session: AsyncSession) -> TrunkConfig:
        return await update_trunk(session, name, changes)

    trunk = run_db(work, arguments=_ARGS)
    console.print(f"trunk {trunk.name!r} updated: {', '.join(sorted(changes))}", highlight=False)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """List trunks."""
    trunks = run_db(list_trunks)
    if as_json:
        typer.echo(json.dumps([t.public() for t in trunks], ensure_ascii=False))
        return
    table = Table(*(Column(h, overflow="fold") for h in ("name", "AMI", "dial", "cps", "channels", "caller id",
                                                          "enabled")))
    for t in trunks:
        table.add_row(t.name, t.ami.redacted(), t.dial_template, f"{t.cps_limit.normalize():f}", str(t.max_channels),
                      t.caller_id or "", "yes" if t.enabled else "no")
    console.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Trunk name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Show one trunk."""

    async def work(session: AsyncSession) -> TrunkConfig:
        return await get_trunk(session, name)

    trunk = run_db(work, arguments=_ARGS)
    if as_json:
        typer.echo(json.dumps(trunk.public(), ensure_ascii=False))
    else:
        _print(trunk)


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Trunk name.")]) -> None:
    """Remove a trunk that no campaign uses."""

    async def work(session: AsyncSession) -> None:
        await remove_trunk(session, name)

    run_db(work, arguments=_ARGS)
    console.print(f"trunk {name!r} removed", highlight=False)
