"""Entry point of the `dialer` console script."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

import typer
from rich.markup import escape

from dialer.cli.common import err_console
from dialer.db.errors import refused_value_message, unusable_database_message
from dialer.errors import DialerError
from dialer.runtime import configure_logging
from dialer.settings import get_settings

__all__ = ["COMMANDS", "build_app", "main"]

# Each command's module and, for a single command, its function (else the module's `app` group). A
# command imports only its own module: start-up is mostly imports, and one module needs a fraction.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "call": ("dialer.cli.call_cmd", "call"),
    "run": ("dialer.cli.run_cmd", "run"),
    "api": ("dialer.cli.api_cmd", "api"),
    "db": ("dialer.cli.db_cmd", None),
    "compliance": ("dialer.cli.compliance_cmd", None),
    "registry": ("dialer.cli.registry_cmd", None),
    "companies": ("dialer.cli.companies_cmd", None),
    "trunks": ("dialer.cli.trunks_cmd", None),
    "campaigns": ("dialer.cli.campaigns_cmd", None),
    "lists": ("dialer.cli.lists_cmd", None),
    "dnc": ("dialer.cli.dnc_cmd", None),
    "contacts": ("dialer.cli.contacts_cmd", None),
    "cdr": ("dialer.cli.cdr_cmd", None),
}


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The CLI with the named commands (default: all of them)."""
    app = typer.Typer(name="dialer", no_args_is_help=True, pretty_exceptions_enable=False)

    @app.callback()
    def dialer() -> None:
        """Outbound dialer engine for Asterisk with FZ-230 compliance."""

    for name in COMMANDS if names is None else names:
        module_name, function = COMMANDS[name]
        module = importlib.import_module(module_name)
        if function is None:
            app.add_typer(module.app, name=name)
        else:
            app.command(name)(getattr(module, function))
    return app


def main() -> None:
    """Run the CLI; product errors become one line on stderr and exit code 1."""
    try:
        command = sys.argv[1] if len(sys.argv) > 1 else None
        # Imported before logging is set up: libraries log their own set-up at import (alembic).
        app = build_app([command] if command in COMMANDS else None)
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
        app()
    except DialerError as exc:
        _exit_with(str(exc))
    except Exception as exc:
        message = unusable_database_message(exc) or refused_value_message(exc)
        if message is None:
            raise
        _exit_with(message)


def _exit_with(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
