"""The CLI contracts of issue 7 through the real console script: trunks, companies, campaigns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.integration.control.cli import dialer

AMI = "ami://dialer:dialer@127.0.0.1:5038"
DIAL = "Local/{number}@pstn-sim"


def add_trunk(url: str, name: str = "sim", *extra: str) -> None:
    done = dialer(url, "trunks", "add", name, "--ami", AMI, "--dial", DIAL, "--cps", "5", "--max-channels", "10",
                  *extra)
    assert done.returncode == 0, done.stderr


def test_trunks_add_list_show_remove(database_url: str) -> None:
    add_trunk(database_url)
    listed = json.loads(dialer(database_url, "trunks", "list", "--json").stdout)
    assert listed == [{
        "id": listed[0]["id"], "name": "sim", "ami": "ami://dialer:***@127.0.0.1:5038", "dial": DIAL,
        "cps": 5.0, "max_channels": 10, "caller_id": None, "enabled": True,
    }]
    table = dialer(database_url, "trunks", "list")
    assert "sim" in table.stdout and "dialer:***" in table.stdout and "dialer:dialer" not in table.stdout
    assert json.loads(dialer(database_url, "trunks", "show", "sim", "--json").stdout)["cps"] == 5.0
    changed = dialer(database_url, "trunks", "set", "sim", "--cps", "3", "--disabled")
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(dialer(database_url, "trunks", "show", "sim", "--json").stdout)
    assert (shown["cps"], shown["enabled"]) == (3.0, False)
    bad = dialer(database_url, "trunks", "set", "sim", "--ami", "ami://x")
    assert bad.returncode == 1 and "--ami: 'ami://x': the AMI user is missing" in bad.stderr
    again = dialer(database_url, "trunks", "add", "sim", "--ami", AMI, "--dial", DIAL)
    assert again.returncode == 1 and "trunk 'sim' already exists" in again.stderr
    assert dialer(database_url, "trunks", "remove", "sim").returncode == 0
    missing = dialer(database_url, "trunks", "show", "sim")
    assert missing.returncode == 1 and "trunk 'sim' does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ami", "http://u:s@h:1", "--dial", DIAL], "--ami: 'http://u:***@h:1': the scheme must be ami://"),
        (["--ami", "ami://u@h:1", "--dial", DIAL], "--ami: 'ami://u@h:1': the AMI secret is missing"),
        (["--ami", "ami://u:s@h", "--dial", DIAL], "--ami: 'ami://u:***@h': the port is missing"),
        (["--ami", AMI, "--dial", "Local/100@pstn-sim"], "--dial: 'Local/100@pstn-sim' must contain {number}"),
        (["--ami", AMI, "--dial", DIAL, "--cps", "0"], "--cps: '0.0' must be greater than zero"),
        (["--ami", AMI, "--dial", DIAL, "--max-channels", "0"], "--max-channels: 0 must be between 1"),
    ],
)
def test_trunks_add_rejects_naming_the_option(database_url: str, args: list[str], message: str) -> None:
    done = dialer(database_url, "trunks", "add", "t", *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert json.loads(dialer(database_url, "trunks", "list", "--json").stdout) == []


def test_campaign_create_with_every_option_and_show(database_url: str, tmp_path: Path) -> None:
    add_trunk(database_url, "sim")
    add_trunk(database_url, "sim2")
    rules = tmp_path / "acme.toml"
    rules.write_text('extends = "fz230-law"\n[caps]\nday = 1\n', encoding="utf-8")
    done = dialer(
        database_url, "campaigns", "create", "debts", "--company", "acme", "--trunk", "sim", "--trunk", "sim2",
        "--rules", str(rules), "--cps", "2.5", "--max-channels", "4", "--max-attempts", "5",
        "--retry", "busy=10m,no_answer=30m,congestion=2m", "--subscriber-column", "debtor",
        "--answered-context", "dialer-answered", "--caller-id", "+74950000000", "--dial-timeout", "20",
        "--machine", "message", "--machine-message", "dialer/prompt-message", "--schedule", "mon-fri 09:00-18:00",
        "--reached", "complete",
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(dialer(database_url, "campaigns", "show", "debts", "--json").stdout)
    assert shown["status"] == "draft" and shown["company"] == "acme" and shown["timezone"] == "Europe/Moscow"
    assert shown["trunks"] == ["sim", "sim2"] and shown["rules"] == "file:acme.toml"
    assert shown["cps"] == 2.5 and shown["max_channels"] == 4 and shown["max_attempts"] == 5
    assert shown["retry"].startswith("busy=10m,no_answer=30m,congestion=2m,")
    assert shown["machine"] == "message" and shown["subscriber_column"] == "debtor" and shown["reached"] == "complete"
    assert shown["dial_timeout"] == 20 and shown["schedule"] == "mon-fri 09:00-18:00"
    assert shown["stats"]["contacts_total"] == 0 and shown["stats"]["attempts"] == {}
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT rules_toml FROM campaigns WHERE name = 'debts'").fetchone()
    assert stored == (rules.read_text(encoding="utf-8"),)
    text = dialer(database_url, "campaigns", "show", "debts")
    assert text.returncode == 0 and "contacts by state" in text.stdout and "held back" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trunk", "nope"], "--trunk: unknown trunk(s) 'nope'"),
        (["--trunk", "sim", "--retry", "busy=10"], "--retry (busy): '10' is not a duration"),
        (["--trunk", "sim", "--retry", "ringing=1m"], "--retry: unknown outcome 'ringing'"),
        (["--trunk", "sim", "--retry", "invalid_number=1h"], "--retry: 'invalid_number' is never retried"),
        (["--trunk", "sim", "--rules", "fz231"], "--rules: unknown rule set 'fz231'"),
        (["--trunk", "sim", "--rules", "missing.toml"], "--rules: rules file 'missing.toml' does not exist"),
        (["--trunk", "sim", "--max-attempts", "0"], "--max-attempts: must be between 1 and 100"),
        (["--trunk", "sim", "--machine", "beep"], "--machine: 'beep' is not one of retry|complete|hangup|message"),
        (["--trunk", "sim", "--reached", "never"], "--reached: 'never' is not one of continue|complete"),
        (["--trunk", "sim", "--schedule", "weekdays"], "--schedule: 'weekdays' must be 'DAYS HH:MM-HH:MM'"),
        (["--trunk", "sim", "--dial-timeout", "1"], "--dial-timeout: 1 s must be between 5 and 300 s"),
        (["--trunk", "sim", "--answered-context", "bad context"], "--answered-context: 'bad context'"),
    ],
)
def test_campaign_create_rejects_naming_the_option(
    database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    with psycopg.connect(database_url) as conn:  # the trunk CLI is tested above; this saves a process
        conn.execute("INSERT INTO trunks (name, ami_url, dial_template) VALUES ('sim', %s, %s)", (AMI, DIAL))
    done = dialer(database_url, "campaigns", "create", "c", *args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert message in done.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM companies").fetchone() == (0,)


def test_campaign_rules_file_errors_name_the_key(database_url: str, tmp_path: Path) -> None:
    add_trunk(database_url)
    bad = tmp_path / "bad.toml"
    bad.write_text("[windows]\nmonday = '09:00-18:00'\n", encoding="utf-8")
    done = dialer(database_url, "campaigns", "create", "c", "--trunk", "sim", "--rules", str(bad))
    assert done.returncode == 1
    assert "--rules: bad.toml: windows: unknown key(s) monday" in done.stderr


def test_lifecycle_through_the_cli(database_url: str) -> None:
    add_trunk(database_url)
    assert dialer(database_url, "campaigns", "create", "c", "--trunk", "sim").returncode == 0
    steps = [
        ("pause", 1, "is draft: cannot pause (allowed now: start, stop)"),
        ("start", 0, "campaign 'c' is running"),
        ("start", 1, "is running: cannot start"),
        ("pause", 0, "campaign 'c' is paused"),
        ("resume", 0, "campaign 'c' is running"),
        ("stop", 0, "campaign 'c' is stopped"),
        ("resume", 1, "a stopped campaign is final"),
        ("start", 1, "a stopped campaign is final"),
    ]
    for verb, code, message in steps:
        done = dialer(database_url, "campaigns", verb, "c")
        assert done.returncode == code, (verb, done.stdout, done.stderr)
        assert message in (done.stdout if code == 0 else done.stderr), (verb, done.stdout, done.stderr)
    missing = dialer(database_url, "campaigns", "start", "nope")
    assert missing.returncode == 1 and "campaign 'nope' does not exist" in missing.stderr
    listed = json.loads(dialer(database_url, "campaigns", "list", "--json").stdout)
    assert [(c["name"], c["status"], c["company"]) for c in listed] == [("c", "stopped", "default")]


def test_set_and_delete(database_url: str) -> None:
    add_trunk(database_url, "sim")
    add_trunk(database_url, "sim2")
    assert dialer(database_url, "campaigns", "create", "c", "--trunk", "sim").returncode == 0
    assert json.loads(dialer(database_url, "campaigns", "show", "c", "--json").stdout)["reached"] == "continue"
    done = dialer(database_url, "campaigns", "set", "c", "--trunk", "sim2", "--cps", "1", "--retry", "busy=5m",
                  "--reached", "complete")
    assert done.returncode == 0, done.stderr
    shown = json.loads(dialer(database_url, "campaigns", "show", "c", "--json").stdout)
    assert shown["trunks"] == ["sim2"] and shown["cps"] == 1.0 and shown["retry"].startswith("busy=5m,")
    assert shown["reached"] == "complete"
    used = dialer(database_url, "trunks", "remove", "sim2")
    assert used.returncode == 1 and "used by campaign(s) 'c'" in used.stderr
    assert dialer(database_url, "campaigns", "start", "c").returncode == 0
    running = dialer(database_url, "campaigns", "delete", "c")
    assert running.returncode == 1 and "stop it before deleting it" in running.stderr
    assert dialer(database_url, "campaigns", "stop", "c").returncode == 0
    assert dialer(database_url, "campaigns", "delete", "c").returncode == 0
    assert json.loads(dialer(database_url, "campaigns", "list", "--json").stdout) == []


def _companies(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`dialer companies ...`, or its module directly until main.py mounts it."""
    done = dialer(url, "companies", *args)
    if "No such command 'companies'" not in done.stderr:
        return done
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "250"}
    code = "from dialer.cli.companies_cmd import app; app(prog_name='dialer companies')"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_companies(database_url: str) -> None:
    done = _companies(database_url, "add", "acme", "--timezone", "Asia/Novosibirsk", "--rules", "tcpa")
    assert done.returncode == 0, done.stderr
    bad = _companies(database_url, "add", "x", "--timezone", "Mars/Olympus")
    assert bad.returncode == 1 and "--timezone: 'Mars/Olympus' is not an IANA time zone" in bad.stderr
    again = _companies(database_url, "add", "acme")
    assert again.returncode == 1 and "company 'acme' already exists" in again.stderr
    child = _companies(database_url, "add", "acme-south", "--parent", "acme")
    assert child.returncode == 0, child.stderr
    listed = {c["name"]: c for c in json.loads(_companies(database_url, "list", "--json").stdout)}
    assert listed["acme"]["timezone"] == "Asia/Novosibirsk" and listed["acme"]["rules"] == "tcpa"
    assert listed["acme-south"]["parent_id"] == listed["acme"]["id"]
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO trunks (name, ami_url, dial_template) VALUES ('sim', %s, %s)", (AMI, DIAL))
    created = dialer(database_url, "campaigns", "create", "c", "--company", "acme", "--trunk", "sim")
    assert created.returncode == 0, created.stderr
    shown = json.loads(dialer(database_url, "campaigns", "show", "c", "--json").stdout)
    assert (shown["company"], shown["timezone"], shown["rules"]) == ("acme", "Asia/Novosibirsk", "tcpa")
