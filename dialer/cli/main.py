"""Entry point of the `dialer` console script."""

from __future__ import annotations

import sys

import typer

from dialer.cli import (
    api_cmd,
    call_cmd,
    campaigns_cmd,
    cdr_cmd,
    companies_cmd,
    compliance_cmd,
    contacts_cmd,
    db_cmd,
    dnc_cmd,
    lists_cmd,
    registry_cmd,
    run_cmd,
    trunks_cmd,
)
from dialer.cli.common import err_console
from dialer.errors import DialerError
from dialer.runtime import configure_logging
from dialer.settings import get_settings

app = typer.Typer(
    name="dialer",
    help="Outbound dialer engine for Asterisk with FZ-230 compliance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("call")(call_cmd.call)
app.command("run")(run_cmd.run)
app.command("api")(api_cmd.api)
for _name, _module in [
    ("db", db_cmd),
    ("compliance", compliance_cmd),
    ("registry", registry_cmd),
    ("companies", companies_cmd),
    ("trunks", trunks_cmd),
    ("campaigns", campaigns_cmd),
    ("lists", lists_cmd),
    ("dnc", dnc_cmd),
    ("contacts", contacts_cmd),
    ("cdr", cdr_cmd),
]:
    app.add_typer(_module.app, name=_name)


def main() -> None:
    """Run the CLI; product errors become one line on stderr and exit code 1."""
    try:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
        app()
    except DialerError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
