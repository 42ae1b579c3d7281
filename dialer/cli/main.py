"""Entry point of the `dialer` console script."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

from dialer.cli import db_cmd
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
app.add_typer(db_cmd.app, name="db")

# Sub-apps mounted by name: (module in dialer.cli, command name, kind).
_SUBAPPS: list[tuple[str, str]] = [
    ("compliance_cmd", "compliance"),
    ("registry_cmd", "registry"),
    ("companies_cmd", "companies"),
    ("lists_cmd", "lists"),
    ("dnc_cmd", "dnc"),
    ("trunks_cmd", "trunks"),
    ("campaigns_cmd", "campaigns"),
    ("contacts_cmd", "contacts"),
    ("cdr_cmd", "cdr"),
]
for _module, _name in _SUBAPPS:
    if importlib.util.find_spec(f"dialer.cli.{_module}") is not None:
        app.add_typer(importlib.import_module(f"dialer.cli.{_module}").app, name=_name)

for _module, _func, _name in [("call_cmd", "call", "call"), ("run_cmd", "run", "run"), ("api_cmd", "api", "api")]:
    if importlib.util.find_spec(f"dialer.cli.{_module}") is not None:
        app.command(_name)(getattr(importlib.import_module(f"dialer.cli.{_module}"), _func))


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
