"""Pointed at a database it cannot use, every CLI command says so in one line and exits 1, and the
HTTP API answers 503 with the same words.

An empty database (DATABASE_URL set, `dialer db upgrade` not run yet) and a server that is not
there are what a new installation meets first: no traceback, the fix named."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from dialer.api import create_app
from dialer.db.session import make_engine
from tests.integration.control.cli import DIALER

# One command per way into the database (dialer.cli.dbrun, and the commands with their own).
COMMANDS: list[tuple[str, ...]] = [
    ("campaigns", "list"),
    ("contacts", "why", "+79131234567"),
    ("dnc", "add", "--company", "default", "+79131234567"),
    ("lists", "import", "{list}", "--campaign", "debts"),
    ("cdr", "export", "--format", "csv", "--output", "{out}"),
    ("run", "--until-done", "--metrics-port", "0"),
]


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    name = f"dialer_empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _run_all(url: str, tmp_path: Path) -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Each command as its own process, all at once (a command is mostly interpreter start-up)."""
    call_list = tmp_path / "list.csv"
    call_list.write_text("phone\n+79131234567\n", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": url, "DIALER_HOME": str(tmp_path), "COLUMNS": "250", "NO_COLOR": "1"}
    running = {}
    for command in COMMANDS:
        args = [a.format(list=call_list, out=tmp_path / "cdr.csv") for a in command]
        running[command] = subprocess.Popen([str(DIALER), *args], env=env, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)
    done = {}
    for command, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        done[command] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


def test_a_database_without_the_schema_names_the_upgrade(empty_database_url: str, tmp_path: Path) -> None:
    for command, done in _run_all(empty_database_url, tmp_path).items():
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, (command, done.stderr)
        assert "database schema missing or outdated" in done.stderr, (command, done.stderr)
        assert "run `dialer db upgrade`" in done.stderr, (command, done.stderr)
    with psycopg.connect(empty_database_url) as conn:  # nothing was created behind the user's back
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://postgres@127.0.0.1:{port}/dialer?connect_timeout=5"
    for command, done in _run_all(url, tmp_path).items():
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, (command, done.stderr)
        assert "database unreachable (DATABASE_URL)" in done.stderr, (command, done.stderr)


async def _api_errors(url: str) -> list[tuple[int, dict[str, str | None]]]:
    engine = make_engine(url)
    try:
        transport = httpx.ASGITransport(app=create_app(engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://dialer.test") as http:
            responses = [await http.get("/campaigns"), await http.get("/trunks"),
                         await http.post("/companies", json={"name": "acme"})]
    finally:
        await engine.dispose()
    return [(r.status_code, r.json()["error"]) for r in responses]


async def test_the_api_answers_503_naming_the_fix(empty_database_url: str) -> None:
    for status, body in await _api_errors(empty_database_url):
        assert status == 503 and body["type"] == "database_unavailable", body
        assert body["message"] is not None and "run `dialer db upgrade`" in body["message"], body
    for status, body in await _api_errors("postgresql://postgres@127.0.0.1:1/dialer"):
        assert status == 503 and body["message"] is not None, body
        assert body["message"].startswith("database unreachable"), body
