"""`dialer campaigns ...`: create and configure campaigns, change their status, watch their counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.campaign_stats import CampaignStats, campaign_stats
from dialer.campaigns import (
    CampaignConfig,
    CampaignSpec,
    CampaignSummary,
    change_status,
    create_campaign,
    delete_campaign,
    get_campaign,
    list_campaigns,
    update_campaign,
)
from dialer.cli.common import console
from dialer.cli.dbrun import run_db
from dialer.companies import DEFAULT_COMPANY
from dialer.db.models import CampaignStatus
from dialer.lifecycle import Action

app = typer.Typer(help="Campaigns: settings, lifecycle (start, pause, resume, stop) and live counts.",
                  no_args_is_help=True)

_ARGS = {"name": "NAME", "action": "action"}

Name = Annotated[str, typer.Argument(help="Campaign name.")]
TrunkOpt = Annotated[list[str], typer.Option("--trunk", help="Trunk to dial through; repeat for several.")]
RulesOpt = Annotated[str | None, typer.Option(
    "--rules", help="fz230-twin | fz230-law | tcpa | FILE.toml (default: the company's rules).")]
CpsOpt = Annotated[float | None, typer.Option("--cps", help="Campaign CPS limit (trunk limits apply too).")]
ChannelsOpt = Annotated[int | None, typer.Option("--max-channels", help="Campaign concurrent call limit.")]
AttemptsOpt = Annotated[int | None, typer.Option("--max-attempts", help="Attempts per contact at most.")]
RetryOpt = Annotated[str | None, typer.Option(
    "--retry", help="Delays by outcome, e.g. busy=10m,no_answer=30m,congestion=2m,machine=1h.")]
SubscriberOpt = Annotated[str | None, typer.Option(
    "--subscriber-column", help="Call list column holding the subscriber id caps count by (a header, or column "
                                "letters such as C).")]
ContextOpt = Annotated[str | None, typer.Option("--answered-context", help="Dialplan context of answered calls.")]
CallerIdOpt = Annotated[str | None, typer.Option("--caller-id", help="Caller id (default: the trunk's).")]
TimeoutOpt = Annotated[int | None, typer.Option("--dial-timeout", help="Seconds to ring before giving up.")]
MachineOpt = Annotated[str | None, typer.Option(
    "--machine", help="On an answering machine: retry | complete | hangup | message.")]
ReachedOpt = Annotated[str | None, typer.Option(
    "--reached", help="Once a person answered one of a subscriber's numbers: continue (the others stay, within "
                      "the caps) | complete (the others are not dialled again in this campaign).")]
AmdOpt = Annotated[bool | None, typer.Option(
    "--amd/--no-amd", help="Run answering-machine detection on answered calls (default: on).")]
AmdParamsOpt = Annotated[str | None, typer.Option(
    "--amd-params", help="AMD's 9 values joined by '/', empty keeps amd.conf's, e.g. "
    "2500/1600/800/5000/100/50/5/576/5000 or ///7000 ('' clears).")]
RouteOpt = Annotated[str | None, typer.Option(
    "--route", help="A person after AMD: playback:FILE | queue:NAME | agi:SCRIPT-or-URL | "
    "exten:EXTEN@CONTEXT ('' clears).")]
MachineMessageOpt = Annotated[str | None, typer.Option(
    "--machine-message", help="Sound file left on an answering machine (required with --machine message).")]
NotsureOpt = Annotated[bool | None, typer.Option(
    "--notsure-as-machine/--notsure-as-person", help="Treat AMD NOTSURE as a machine (default: as a person).")]
ScheduleOpt = Annotated[str | None, typer.Option(
    "--schedule", help="Calling hours in the company's zone, e.g. 'mon-fri 09:00-18:00, sat 10:00-14:00'.")]


@app.command("create")
def create(
    name: Name,
    trunk: TrunkOpt,
    company: Annotated[str, typer.Option("--company", help="Company (created on first use).")] = DEFAULT_COMPANY,
    rules: RulesOpt = None,
    cps: CpsOpt = None,
    max_channels: ChannelsOpt = None,
    max_attempts: AttemptsOpt = None,
    retry: RetryOpt = None,
    subscriber_column: SubscriberOpt = None,
    answered_context: ContextOpt = None,
    caller_id: CallerIdOpt = None,
    dial_timeout: TimeoutOpt = None,
    machine: MachineOpt = None,
    reached: ReachedOpt = None,
    schedule: ScheduleOpt = None,
    amd: AmdOpt = None,
    amd_params: AmdParamsOpt = None,
    route: RouteOpt = None,
    machine_message: MachineMessageOpt = None,
    notsure_as_machine: NotsureOpt = None,
) -> None:
    """Create a campaign (draft); `start` it when its list is imported."""
    given = _given(
        cps=cps, max_channels=max_channels, max_attempts=max_attempts, retry=retry,
        subscriber_column=subscriber_column, answered_context=answered_context, caller_id=caller_id,
        dial_timeout=dial_timeout, machine=machine, reached=reached, schedule=schedule, amd=amd, amd_params=amd_params,
        route=route, machine_message=machine_message, notsure_as_machine=notsure_as_machine,
    )
    spec = CampaignSpec(name=name, trunks=tuple(trunk), company=company, rules=rules, **given)

    async def work(session: AsyncSession) -> CampaignConfig:
        return await create_campaign(session, spec)

    config = run_db(work, arguments=_ARGS)
    console.print(f"campaign {config.name!r} created ({config.status.value}, company {config.company.name!r}, "
                  f"rules {config.rules.name}, trunks {', '.join(t.name for t in config.trunks)})",
                  highlight=False)


def _given(**values: Any) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if v is not None}
    if "cps" in out:
        out["cps"] = str(out["cps"])
    return out


@app.command("set")
def set_(
    name: Name,
    trunk: Annotated[list[str] | None, typer.Option("--trunk", help="Replace the trunks (repeat).")] = None,
    rules: RulesOpt = None,
    cps: CpsOpt = None,
    max_channels: ChannelsOpt = None,
    max_attempts: AttemptsOpt = None,
    retry: RetryOpt = None,
    subscriber_column: SubscriberOpt = None,
    answered_context: ContextOpt = None,
    caller_id: CallerIdOpt = None,
    dial_timeout: TimeoutOpt = None,
    machine: MachineOpt = None,
    reached: ReachedOpt = None,
    schedule: ScheduleOpt = None,
    amd: AmdOpt = None,
    amd_params: AmdParamsOpt = None,
    route: RouteOpt = None,
    machine_message: MachineMessageOpt = None,
    notsure_as_machine: NotsureOpt = None,
) -> None:
    """Change settings of a campaign; running workers pick them up at once."""
    changes = _given(
        rules=rules, cps=cps, max_channels=max_channels, max_attempts=max_attempts, retry=retry,
        subscriber_column=subscriber_column, answered_context=answered_context, caller_id=caller_id,
        dial_timeout=dial_timeout, machine=machine, reached=reached, schedule=schedule, amd=amd, amd_params=amd_params,
        route=route, machine_message=machine_message, notsure_as_machine=notsure_as_machine,
    )
    if trunk:
        changes["trunks"] = tuple(trunk)
    if not changes:
        raise typer.BadParameter("give at least one setting to change", param_hint="options")

    async def work(session: AsyncSession) -> CampaignConfig:
        return await update_campaign(session, name, changes)

    config = run_db(work, arguments=_ARGS)
    console.print(f"campaign {config.name!r} updated: {', '.join(sorted(changes))}", highlight=False)


def _lifecycle(name: str, action: Action) -> None:
    async def work(session: AsyncSession) -> CampaignStatus:
        return await change_status(session, name, action)

    status = run_db(work, arguments=_ARGS)
    console.print(f"campaign {name!r} is {status.value}", highlight=False)


@app.command("start")
def start(name: Name) -> None:
    """draft/finished -> running: workers begin dialing."""
    _lifecycle(name, Action.START)


@app.command("pause")
def pause(name: Name) -> None:
    """running -> paused: no new calls from now; calls in progress finish."""
    _lifecycle(name, Action.PAUSE)


@app.command("resume")
def resume(name: Name) -> None:
    """paused -> running."""
    _lifecycle(name, Action.RESUME)


@app.command("stop")
def stop(name: Name) -> None:
    """Stop for good (a stopped campaign cannot be started again)."""
    _lifecycle(name, Action.STOP)


@app.command("delete")
def delete(name: Name) -> None:
    """Delete a campaign that is not running or paused, with its contacts (the caps ledger stays)."""

    async def work(session: AsyncSession) -> None:
        await delete_campaign(session, name)

    run_db(work, arguments=_ARGS)
    console.print(f"campaign {name!r} deleted", highlight=False)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """List campaigns."""

    async def work(session: AsyncSession) -> list[CampaignSummary]:
        return await list_campaigns(session)

    campaigns = run_db(work)
    if as_json:
        typer.echo(json.dumps([c.public() for c in campaigns], ensure_ascii=False))
        return
    table = Table("name", "status", "company", "trunks", "created (UTC)")
    for c in campaigns:
        table.add_row(c.name, c.status.value, c.company, ", ".join(c.trunks),
                      c.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@dataclass(frozen=True, slots=True)
class _Shown:
    config: CampaignConfig
    stats: CampaignStats


@app.command("show")
def show(
    name: Name,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Settings and live counts: contacts by state and by result, attempts by outcome, held back by
    window/caps."""

    async def work(session: AsyncSession) -> _Shown:
        config = await get_campaign(session, name)
        return _Shown(config, await campaign_stats(session, config.id, datetime.now(UTC)))

    shown = run_db(work, arguments=_ARGS)
    if as_json:
        typer.echo(json.dumps(shown.config.public() | {"stats": shown.stats.public()}, ensure_ascii=False))
        return
    console.print(f"[bold]campaign {shown.config.name}[/]")
    settings = Table(Column(), Column(overflow="fold"), show_header=False)
    for key, value in shown.config.public().items():
        settings.add_row(key, "-" if value is None else ", ".join(value) if isinstance(value, list) else str(value))
    console.print(settings)
    stats = shown.stats
    console.print("[bold]contacts by state[/]")
    counts = Table("state", "contacts")
    for state, n in stats.contacts.items():
        counts.add_row(state, str(n))
    counts.add_row("ready now", str(stats.ready_now))
    counts.add_row("ready later", str(stats.ready_later))
    counts.add_row("total", str(stats.total_contacts))
    console.print(counts)
    console.print("[bold]results (`dialer contacts export` has them per contact)[/]")
    results = Table("result", "contacts")
    for result, n in stats.results.items():
        results.add_row(result, str(n))
    console.print(results)
    console.print("[bold]attempts by outcome[/]")
    attempts = Table("outcome", "attempts")
    for outcome, n in stats.attempts.items():
        attempts.add_row(outcome, str(n))
    attempts.add_row("total", str(stats.total_attempts))
    console.print(attempts)
    console.print("[bold]held back now (latest decision of each waiting contact)[/]")
    held = Table("by", "reason", "contacts")
    for kind, n in stats.held_back_by_kind.items():
        held.add_row("kind", kind, str(n))
    for reason, n in stats.held_back.items():
        held.add_row("code", reason, str(n))
    if not stats.held_back:
        held.add_row("", "none", "0")
    console.print(held)
