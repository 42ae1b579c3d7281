"""`dialer call NUMBER`: place one test call through the AMI layer and print its CallResult."""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from dialer.cli.common import console, fail, settings
from dialer.runtime import run

__all__ = ["call"]

# The sandbox's simulated network until a trunk is named (asterisk/conf/extensions.conf [pstn-sim]).
DEFAULT_CHANNEL = "Local/{number}@pstn-sim"
DEFAULT_AMI = "ami://dialer:dialer@127.0.0.1:5038"
_NUMBER = re.compile(r"\+?[0-9]{3,20}\Z")


def call(
    number: Annotated[str, typer.Argument(help="Number to dial: digits, optionally with a leading +.")],
    trunk: Annotated[str | None, typer.Option("--trunk", help="Dial through this trunk (see `dialer trunks`).")]
    = None,
    channel: Annotated[str | None, typer.Option(
        "--channel", help=f"Dial string template with {{number}} when no --trunk (default {DEFAULT_CHANNEL}).")]
    = None,
    ami: Annotated[str | None, typer.Option(
        "--ami", help="ami://user:secret@host:port when no --trunk (default: the first configured AMI "
                      f"server, else {DEFAULT_AMI}).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    timeout: Annotated[int, typer.Option("--timeout", min=1, max=600, help="Seconds to ring before giving up.")]
    = 30,
    context: Annotated[str, typer.Option("--context", help="Dialplan context of the answered leg.")]
    = "dialer-answered",
    caller_id: Annotated[str | None, typer.Option("--caller-id", help="Caller id, e.g. '\"Name\" <7495...>'.")]
    = None,
    var: Annotated[list[str] | None, typer.Option(
        "--var", help="Channel variable NAME=VALUE for the call (repeatable).")] = None,
) -> None:
    """Place one call and print how it ended (outcome, hangup cause, billsec, AMD)."""
    from ami import AmiClient, AmiError, AmiOptions, OriginateRequest, UnsafeFieldError, parse_ami_url

    if not _NUMBER.match(number):
        fail(f"NUMBER: {number!r} is not a phone number (digits, optionally a leading +)")
    if trunk is not None and (channel is not None or ami is not None):
        fail("--trunk: give either --trunk or --channel/--ami, not both")
    variables: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"--var: {item!r} is not NAME=VALUE")
        variables[name] = value

    if trunk is not None:
        template, ami_url, trunk_caller_id = _trunk(trunk)
        caller_id = caller_id or trunk_caller_id
    else:
        template = channel or DEFAULT_CHANNEL
        configured = settings().ami_servers
        ami_url = ami or (configured[0].url if configured else DEFAULT_AMI)
    if "{number}" not in template:
        fail(f"--channel: {template!r} must contain {{number}}, e.g. {DEFAULT_CHANNEL}")
    try:
        host, port, user, secret = parse_ami_url(ami_url)
    except ValueError as exc:
        fail(f"--ami: {exc}")
    try:
        request = OriginateRequest(
            channel=template.replace("{number}", number), context=context, exten="s", caller_id=caller_id,
            timeout_s=timeout, variables=variables,
        )
    except UnsafeFieldError as exc:
        fail(f"--var/--caller-id: {exc}")
    except ValueError as exc:
        fail(str(exc))

    async def place() -> dict[str, object]:
        options = AmiOptions(first_connect_timeout=5.0)
        async with AmiClient(host, port, user, secret, name="cli", options=options) as client:
            handle = await client.originate(request)
            return (await handle.result()).as_dict()

    try:
        result = run(place())
    except AmiError as exc:
        fail(f"call not placed via {host}:{port}: {exc}")
    if json_:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    cause = result["hangup_cause"]
    console.print(f"outcome: [bold]{result['outcome']}[/]", highlight=False)
    console.print(f"hangup cause: {cause} ({result['hangup_cause_text']})" if cause is not None
                  else "hangup cause: -", highlight=False)
    for key in ("ring_seconds", "billsec", "amd_status", "amd_cause", "channel_id", "started_at", "answered_at",
                "ended_at"):
        if result[key] is not None:
            console.print(f"{key.replace('_', ' ')}: {result[key]}", highlight=False)


def _trunk(name: str) -> tuple[str, str, str | None]:
    from sqlalchemy.ext.asyncio import AsyncSession

    from dialer.cli.dbrun import run_db
    from dialer.trunks import TrunkConfig, get_trunk

    async def work(session: AsyncSession) -> TrunkConfig:
        return await get_trunk(session, name)

    found = run_db(work, arguments={"name": "--trunk"})
    return found.dial_template, found.ami.url(), found.caller_id
