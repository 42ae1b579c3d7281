"""Bad input on the CLI, found by fuzzing: one line naming the option, exit 1, no traceback, no secret
shown, nothing stored; and values that are valid survive storing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
import typer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dialer.cli.dbrun import run_db
from dialer.settings import get_settings
from dialer.trunks import parse_ami_url
from tests.integration.control.cli import dialer

AMI = "ami://u:s@127.0.0.1:5038"
DIAL = "Local/{number}@pstn-sim"


def refused(url: str, *args: str) -> str:
    """stderr of a command that must fail cleanly."""
    done = dialer(url, *args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: "), done.stderr
    return done.stderr


def stored_trunks(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [name for (name,) in conn.execute("SELECT name FROM trunks ORDER BY name")]


# Each value check has its unit tests (tests/unit/control/test_input_trunks.py); here the console
# script shows that the CLI words them (a subprocess each, so a few representatives).
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dial", DIAL, "--caller-id", "a\r\nAction: Logoff"], "--caller-id: 'a\\r\\nAction: Logoff' cannot be sent"),
        (["--dial", "Local/{number:>99999999999}@x"], "--dial: 'Local/{number:>99999999999}@x': the format spec"),
    ],
)
def test_trunks_add_refuses_what_cannot_be_sent(database_url: str, args: list[str], message: str) -> None:
    stderr = refused(database_url, "trunks", "add", "zz", "--ami", AMI, *args)
    assert message in stderr
    assert stored_trunks(database_url) == []


def test_caller_id_too_long_names_the_limit(database_url: str) -> None:
    stderr = refused(database_url, "trunks", "add", "zz", "--ami", AMI, "--dial", DIAL, "--caller-id", "x" * 101)
    assert "longer than 100 characters" in stderr


def test_trunks_set_refuses_and_keeps_the_trunk(database_url: str) -> None:
    added = dialer(database_url, "trunks", "add", "t1", "--ami", AMI, "--dial", DIAL, "--caller-id", "+7495")
    assert added.returncode == 0, added.stderr
    assert "--caller-id:" in refused(database_url, "trunks", "set", "t1", "--caller-id", "a\r\nb")
    assert "--dial:" in refused(database_url, "trunks", "set", "t1", "--dial", "Local/{number:d}@x")
    shown = json.loads(dialer(database_url, "trunks", "show", "t1", "--json").stdout)
    assert (shown["dial"], shown["caller_id"]) == (DIAL, "+7495")


def test_secret_not_shown(database_url: str) -> None:
    ami = "ami://u:TOPSECRET@h:99999"
    done = dialer(database_url, "trunks", "add", "cz2", "--ami", ami, "--dial", DIAL)
    assert done.returncode == 1 and "--ami:" in done.stderr, done.stderr
    assert "SECRET" not in done.stderr + done.stdout


def test_encoded_secret_survives_storing(database_url: str) -> None:
    ami, secret = "ami://u:s%2Fx%23y@h:5038", "s/x#y"
    done = dialer(database_url, "trunks", "add", "t1", "--ami", ami, "--dial", DIAL)
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout and "u:***@h:5038" in done.stdout
    with psycopg.connect(database_url) as conn:
        (stored,) = conn.execute("SELECT ami_url FROM trunks WHERE name = 't1'").fetchone() or ("",)
    loaded = parse_ami_url(stored)
    assert (loaded.user, loaded.secret, loaded.host, loaded.port) == ("u", secret, "h", 5038)


def test_control_characters_in_the_ami_user(database_url: str) -> None:
    stderr = refused(database_url, "trunks", "add", "t1", "--ami", "ami://u%0D%0AAction: x:s@h:5038", "--dial", DIAL)
    assert "--ami:" in stderr and "the AMI user must not contain control characters" in stderr
    assert stored_trunks(database_url) == []


def test_markup_in_a_value_is_shown_verbatim(database_url: str) -> None:
    stderr = refused(database_url, "trunks", "add", "a[/x]b", "--ami", AMI, "--dial", DIAL)
    assert "NAME: 'a[/x]b'" in stderr


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """run_db in this process, pointed at the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_run_db_words_a_refused_value(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(text("INSERT INTO trunks (name, ami_url, dial_template) VALUES ('probe', 'a', 'b')"))
        await session.execute(text("SELECT CAST(:v AS integer)"), {"v": "99999999999"})

    with pytest.raises(typer.Exit) as info:
        run_db(work)
    assert info.value.exit_code == 1
    stderr = capsys.readouterr().err
    assert stderr.strip() == 'error: the database refused a value: value "99999999999" is out of range for type integer'
    assert stored_trunks(cli_database) == []  # rolled back


def test_run_db_keeps_bugs_visible(cli_database: str) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(text("SELECT 'a bug' AS"))

    with pytest.raises(Exception, match="syntax error"):
        run_db(work)
