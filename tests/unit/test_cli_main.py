"""The `dialer` entry point imports only the module of the command that runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.main import get_command

from dialer.cli.main import COMMANDS, build_app


def test_every_command_is_registered() -> None:
    root = get_command(build_app())
    assert sorted(root.commands) == sorted(COMMANDS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["campaigns", "run", "db"])
def test_a_command_imports_only_its_own_module(command: str) -> None:
    probe = (
        "import json, sys\n"
        "from dialer.cli.main import build_app\n"
        f"build_app([{command!r}])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('dialer.cli.') and m.endswith('_cmd'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == [COMMANDS[command][0]]
