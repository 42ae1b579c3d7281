"""`dialer call NUMBER`: one test call through the AMI layer, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.asterisk_fixture import AsteriskSandbox

pytestmark = pytest.mark.asterisk


def dialer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dialer.cli.main", *args], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("number", "outcome", "cause"), [
    ("79001234561", "busy", 17),
    ("79001234563", "congestion", 34),
    ("+79001234564", "invalid_number", 1),
])
def test_call_json(asterisk: AsteriskSandbox, number: str, outcome: str, cause: int) -> None:
    done = dialer("call", number, "--json", "--ami", asterisk.ami_url)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == outcome and result["hangup_cause"] == cause
    assert {"outcome", "hangup_cause", "billsec", "ring_seconds", "channel_id"} <= set(result)
    assert result["billsec"] == 0 and result["channel_id"].startswith("cli-")


def test_call_answered_human_text(asterisk: AsteriskSandbox) -> None:
    done = dialer("call", "79001234560", "--ami", asterisk.ami_url, "--channel", "Local/{number}@pstn-sim",
                  "--var", "SIM_HOLD=1", "--var", "DIALER_HOLD=1", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert "outcome: answered" in done.stdout and "amd status: HUMAN" in done.stdout


def test_call_through_a_trunk(asterisk: AsteriskSandbox, database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    added = dialer("trunks", "add", "sim", "--ami", asterisk.ami_url, "--dial", "Local/{number}@pstn-sim", env=env)
    assert added.returncode == 0, added.stderr
    done = dialer("call", "79001234561", "--trunk", "sim", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "busy"
    missing = dialer("call", "79001234561", "--trunk", "nope", env=env)
    assert missing.returncode != 0 and "nope" in missing.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["call", "12ab"], "NUMBER"),
    (["call", "79001234561", "--ami", "ami://nouser@127.0.0.1:5038"], "--ami"),
    (["call", "79001234561", "--channel", "Local/fixed@pstn-sim"], "{number}"),
    (["call", "79001234561", "--var", "NOEQUALS"], "--var"),
    (["call", "79001234561", "--var", "A=1,B=2"], "--var"),
    (["call", "79001234561", "--trunk", "x", "--ami", "ami://a:b@127.0.0.1:5038"], "--trunk"),
])
def test_bad_input_names_the_option_and_exits_non_zero(args: list[str], message: str) -> None:
    done = dialer(*args)
    assert done.returncode != 0
    assert message in done.stderr


def test_unreachable_ami_fails_cleanly() -> None:
    done = dialer("call", "79001234561", "--ami", "ami://a:b@127.0.0.1:1")
    assert done.returncode == 1 and "call not placed" in done.stderr
