"""Registry files stored in PostgreSQL: import, idempotence, dates, loading back; and through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance import Registry, read_registry_file
from dialer.db.models import RegistryFile as RegistryFileRow
from dialer.db.models import RegistryRange
from dialer.db.session import session_scope
from dialer.errors import ConflictError
from dialer.registry_store import import_registry, list_registry_files, load_registry

DIALER = Path(sys.executable).parent / "dialer"
HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"


def small_file(tmp_path: Path, name: str, region: str) -> Path:
    path = tmp_path / name
    path.write_text(
        f"{HEADER}\n913;1200000;1399999;200000;ПАО МТС;{region};{region};7740000076\n", encoding="utf-8-sig"
    )
    return path


async def test_import_and_load_the_real_def_file(database: AsyncEngine, def_registry_path: Path) -> None:
    parsed = read_registry_file(def_registry_path)
    async with session_scope(database) as session:
        result = await import_registry(session, parsed, date(2026, 4, 20))
    assert result.imported
    assert result.rows == len(parsed.rows)
    async with session_scope(database) as session:
        stored = await session.scalar(select(func.count()).select_from(RegistryRange))
        file_row = await session.scalar(select(RegistryFileRow))
        registry = await load_registry(session)
    assert stored == len(parsed.rows)
    assert file_row is not None
    assert (file_row.kind, file_row.name, file_row.row_count) == ("DEF-9xx", "DEF-9xx.csv", len(parsed.rows))
    assert file_row.file_date is not None
    assert file_row.file_date.date() == date(2026, 4, 20)
    assert registry is not None
    from_file = Registry.from_files([def_registry_path])
    assert list(registry) == list(from_file)
    entry = registry.lookup("+79131234567")
    assert entry is not None
    assert entry.zones == ("Asia/Novokuznetsk",)

    # The same file again changes nothing.
    async with session_scope(database) as session:
        again = await import_registry(session, parsed, date(2026, 4, 21))
        assert not again.imported
        assert await session.scalar(select(func.count()).select_from(RegistryRange)) == len(parsed.rows)


async def test_newer_file_replaces_older_and_older_needs_force(database: AsyncEngine, tmp_path: Path) -> None:
    old = read_registry_file(small_file(tmp_path, "DEF-9xx-old.csv", "Омская обл."))
    new = read_registry_file(small_file(tmp_path, "DEF-9xx-new.csv", "Томская обл."))
    async with session_scope(database) as session:
        assert await load_registry(session) is None
        await import_registry(session, old, date(2026, 1, 1))
    async with session_scope(database) as session:
        result = await import_registry(session, new, date(2026, 4, 1))
        assert result.superseded == 1
    async with session_scope(database) as session:
        registry = await load_registry(session)
        assert registry is not None
        assert registry.lookup("+79131300000").zones == ("Asia/Tomsk",)  # type: ignore[union-attr]
        files = await list_registry_files(session)
    assert [(item["name"], item["ranges_in_use"]) for item in files] == [
        ("DEF-9xx-new.csv", 1),
        ("DEF-9xx-old.csv", 0),
    ]

    older = read_registry_file(small_file(tmp_path, "DEF-9xx-older.csv", "Курская обл."))
    with pytest.raises(ConflictError, match="a newer DEF-9xx registry is in use"):
        async with session_scope(database) as session:
            await import_registry(session, older, date(2025, 12, 1))
    async with session_scope(database) as session:
        await import_registry(session, older, date(2025, 12, 1), force=True)
    async with session_scope(database) as session:
        registry = await load_registry(session)
    assert registry is not None
    assert registry.lookup("+79131300000").zones == ("Europe/Moscow",)  # type: ignore[union-attr]


def run_dialer(database_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "DIALER_REGISTRY"}
    environment.update(
        {"DATABASE_URL": database_url, "DIALER_HOME": str(home), "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "250"}
    )
    return subprocess.run(
        [str(DIALER), *args], env=environment, capture_output=True, text=True, timeout=180, check=False
    )


def test_cli_import_list_and_check_from_the_database(
    database_url: str, def_registry_path: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    # Before any import: a mobile number has all Russian zones as candidates.
    before = run_dialer(
        database_url, home, "compliance", "check", "+79131234567", "--at", "2026-04-20T05:00Z", "--json"
    )
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["tz_source"] == "candidates"

    imported = run_dialer(database_url, home, "registry", "import", str(def_registry_path), "--date", "2026-04-20")
    assert imported.returncode == 0, imported.stderr
    assert "DEF-9xx.csv: imported 16629 ranges (DEF-9xx, dated 2026-04-20)" in imported.stdout

    again = run_dialer(database_url, home, "registry", "import", str(def_registry_path))
    assert again.returncode == 0, again.stderr
    assert "already imported" in again.stdout

    listed = run_dialer(database_url, home, "registry", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    files = json.loads(listed.stdout)
    assert [(item["kind"], item["file_date"], item["rows"]) for item in files] == [("DEF-9xx", "2026-04-20", 16629)]

    after = run_dialer(database_url, home, "compliance", "check", "+79131234567", "--at", "2026-04-20T05:00Z", "--json")
    assert after.returncode == 0, after.stderr
    result = json.loads(after.stdout)
    assert (result["timezone"], result["tz_source"], result["allowed"]) == ("Asia/Novokuznetsk", "registry", True)


def test_cli_import_of_a_bad_file_exits_2(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "DEF-bad.csv"
    bad.write_text(f"{HEADER}\n913;12x0000;1399999;1;X;Омская обл.;Омская область;1\n", encoding="utf-8")
    done = run_dialer(database_url, tmp_path / "home", "registry", "import", str(bad))
    assert done.returncode == 2
    assert f"{bad}: line 2: От: expected up to 7 digits" in " ".join(done.stderr.split())
