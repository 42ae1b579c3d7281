"""`dialer lists import` and `dialer dnc` through the real console script against the test database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from dialer.lists.store import LOCK_CAMPAIGN_IMPORT
from tests.integration.lists.helpers import Tenant, count, query

REPO = Path(__file__).resolve().parents[3]
DIALER = REPO / ".venv" / "bin" / "dialer"
CONTRACT_KEYS = ["total", "imported", "duplicates", "invalid", "dnc", "timezone_unknown", "reject_report"]


@pytest.fixture
def cli_env(database_url: str, def_registry_path: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    env.update(
        DATABASE_URL=database_url,
        DIALER_HOME=str(tmp_path / "home"),
        DIALER_REGISTRY=str(def_registry_path),
        DIALER_CONFIG=str(tmp_path / "none.toml"),
    )
    (tmp_path / "none.toml").write_text("[dialer]\n")
    return env


def dialer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DIALER), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def last_json(stdout: str) -> dict[str, object]:
    lines = stdout.rstrip("\n").split("\n")
    parsed = json.loads(lines[-1])
    assert isinstance(parsed, dict)
    # Exactly one JSON object in the output, and it is the last line.
    assert sum(1 for line in lines if line.lstrip().startswith("{")) == 1
    return parsed


def test_json_contract(cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("Телефон;ФИО;additional\r\n8 (913) 012-34-56;Иванов;D1\r\n89130123456;Иванов;D1\r\nабв;x;y\r\n"
                     .encode("cp1251"))
    done = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring", "--json")
    assert done.returncode == 0, done.stderr
    summary = last_json(done.stdout)
    assert list(summary) == CONTRACT_KEYS
    assert {k: summary[k] for k in CONTRACT_KEYS[:-1]} == {
        "total": 3, "imported": 1, "duplicates": 1, "invalid": 1, "dnc": 0, "timezone_unknown": 0,
    }  # fmt: skip
    report = Path(str(summary["reject_report"]))
    assert report.parent == tmp_path / "home" / "reports" and report.name.startswith("spring-")
    assert report.read_text(encoding="utf-8-sig").splitlines()[1:] == [
        "3,Телефон,89130123456,duplicate-in-file,the number appears earlier in this file",
        "4,Телефон,абв,invalid-number,not a phone number",
    ]
    assert "imported" in done.stdout.split("\n")[0].lower()
    assert query(database_url, "SELECT phone, timezone FROM contacts") == [("+79130123456", "Asia/Novosibirsk")]

    explicit = tmp_path / "rejects" / "mine.csv"
    again = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring", "--json", "--reject-report",
                   str(explicit))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["imported"] == 0
    assert last_json(again.stdout)["reject_report"] == str(explicit) and explicit.exists()

    plain = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring")
    assert plain.returncode == 0 and "{" not in plain.stdout


def test_xlsx_sheet_and_subscriber_column_options(
    cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path
) -> None:
    import xlsxwriter

    path = tmp_path / "list.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("cover").write(0, 0, "title")
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, ["phone", "inn"])
    sheet.write_row(1, 0, [79130123456, "7701"])
    book.close()
    done = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring", "--sheet", "data",
                  "--subscriber-column", "INN", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["imported"] == 1
    assert query(database_url, "SELECT subscriber_key FROM contacts") == [("7701",)]


def test_a_list_split_over_sheets_names_the_sheets_not_read(
    cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path
) -> None:
    import xlsxwriter

    path = tmp_path / "list.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for name, number in (("Лист1", 79130123456), ("Лист2", 79130123457), ("Лист3", 79130123458)):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["Телефон"])
        sheet.write_row(1, 0, [number])
    book.close()
    done = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring")
    assert done.returncode == 0, done.stderr
    assert "not read           sheets 'Лист2', 'Лист3' hold a list too; import each with --sheet NAME" in done.stdout
    assert query(database_url, "SELECT phone FROM contacts") == [("+79130123456",)]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"name;sum\nA;1\n", ["--campaign", "spring"], "no phone column"),
        (b"phone\n89130123456\n", ["--campaign", "nope"], "unknown campaign 'nope'"),
        (b"PK\x03\x04broken", ["--campaign", "spring"], "not a readable XLSX/XLS workbook"),
        (b"", ["--campaign", "spring"], "the file is empty"),
    ],
    ids=["no-phone-column", "unknown-campaign", "corrupt-xlsx", "empty"],
)
def test_whole_file_errors_exit_non_zero_and_store_nothing(
    cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path,
    content: bytes, args: list[str], message: str,
) -> None:
    path = tmp_path / ("list.xlsx" if content.startswith(b"PK") else "list.csv")
    path.write_bytes(content)
    done = dialer(cli_env, "lists", "import", str(path), *args, "--json")
    assert done.returncode == 1
    assert message in done.stderr and done.stderr.startswith("error:")
    assert done.stdout == ""
    assert count(database_url, "contacts") == count(database_url, "call_lists") == 0


def _big_list(path: Path, rows: int) -> None:
    with path.open("w", encoding="cp1251", newline="") as out:
        out.write("Телефон;ФИО;additional\r\n")
        for i in range(rows):
            national = f"9{(i * 7919777 + 3) % 10**9:09d}"  # distinct numbers
            out.write(f"8 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]};Имя {i};D{i}\r\n")


def _copying_into_contacts(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_progress_copy "
            "WHERE relid = 'contacts'::regclass AND datname = current_database()"
        ).fetchone()
    return bool(row and row[0])


def _import_running(url: str) -> bool:
    """True while a backend holds an import's campaign lock (it ends when its transaction does)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.classid = %s AND d.datname = current_database()",
            (LOCK_CAMPAIGN_IMPORT,),
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.slow
def test_killed_import_leaves_nothing_and_a_rerun_succeeds(
    cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path
) -> None:
    rows = 200_000
    path = tmp_path / "big.csv"
    _big_list(path, rows)
    process = subprocess.Popen(
        [str(DIALER), "lists", "import", str(path), "--campaign", "spring", "--json"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # Kill it while it is writing contacts (some chunks already sent, the transaction open).
        while not _copying_into_contacts(database_url):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never reached the contacts table"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while _import_running(database_url):  # PostgreSQL rolls the import back when its client vanishes
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert count(database_url, "contacts") == count(database_url, "call_lists") == 0
    reports = tmp_path / "home" / "reports"
    assert not reports.exists() or not list(reports.iterdir())

    done = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring", "--json")
    assert done.returncode == 0, done.stderr
    summary = last_json(done.stdout)
    assert (summary["total"], summary["imported"], summary["duplicates"]) == (rows, rows - summary["invalid"], 0)
    assert count(database_url, "contacts") == summary["imported"]
    assert count(database_url, "call_lists") == 1


def test_dnc_commands(cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path) -> None:
    added = dialer(cli_env, "dnc", "add", "8 (913) 012-34-56", "+79130123457", "--company", "acme", "--json")
    assert added.returncode == 0, added.stderr
    assert last_json(added.stdout) | {"company": "acme"} == {
        "company": "acme", "total": 2, "added": 2, "already": 0, "invalid": 0, "contacts_excluded": 0,
    }  # fmt: skip
    bad = dialer(cli_env, "dnc", "add", "+79130123458", "oops", "--company", "acme")
    assert bad.returncode == 2 and "'oops'" in bad.stderr
    assert count(database_url, "dnc") == 2
    # Allocated in the registry (DIALER_REGISTRY), unknown to libphonenumber: listed all the same.
    registry_only = dialer(cli_env, "dnc", "add", "8 930 000-00-00", "--company", "acme")
    assert registry_only.returncode == 0, registry_only.stderr
    assert count(database_url, "dnc") == 3

    listing = tmp_path / "dnc.csv"
    listing.write_text("89130123457\n89130123459\nне номер\n", encoding="utf-8")  # no header: one number per line
    imported = dialer(cli_env, "dnc", "import", str(listing), "--company", "acme", "--json")
    assert imported.returncode == 0, imported.stderr
    assert {k: v for k, v in last_json(imported.stdout).items() if k != "company"} == {
        "total": 3, "added": 1, "already": 1, "invalid": 1, "contacts_excluded": 0,
    }  # fmt: skip
    unknown = dialer(cli_env, "dnc", "add", "+79130123450", "--company", "nobody")
    assert unknown.returncode == 1 and "unknown company 'nobody'" in unknown.stderr
    listed = dialer(cli_env, "dnc", "list", "--company", "acme", "--json")
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["phone"], e["source"]) for e in entries] == [  # in number order
        ("+79130123456", "cli"), ("+79130123457", "cli"), ("+79130123459", "file:dnc.csv"), ("+79300000000", "cli")]
    assert "4 numbers on the do-not-call list" in listed.stderr
    plain = dialer(cli_env, "dnc", "list", "--company", "acme")
    assert plain.stdout.splitlines()[0].split("\t")[:2] == ["+79130123456", "cli"]

    default = dialer(cli_env, "dnc", "add", "+79130123450")
    assert default.returncode == 0, default.stderr
    assert query(database_url, "SELECT c.name FROM dnc d JOIN companies c ON c.id = d.company_id "
                               "WHERE d.phone = '+79130123450'") == [("default",)]  # fmt: skip

    path = tmp_path / "list.csv"
    path.write_text("phone\n89130123456\n89130123459\n89130123460\n", encoding="utf-8")
    done = dialer(cli_env, "lists", "import", str(path), "--campaign", "spring", "--json")
    assert done.returncode == 0, done.stderr
    assert (last_json(done.stdout)["dnc"], last_json(done.stdout)["imported"]) == (2, 1)



def test_dnc_remove_gives_back_the_contacts_the_list_excluded(
    cli_env: dict[str, str], tenant: Tenant, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone\n89130123456\n89130123457\n89130123458\n", encoding="utf-8")
    assert dialer(cli_env, "lists", "import", str(path), "--campaign", "spring").returncode == 0
    with psycopg.connect(database_url, autocommit=True) as conn:  # excluded by compliance (no window ever)
        conn.execute("UPDATE contacts SET state = 'excluded', last_outcome = 'blocked' WHERE phone = '+79130123458'")
    added = dialer(cli_env, "dnc", "add", "89130123456", "89130123457", "89130123458", "--company", "acme", "--json")
    assert last_json(added.stdout)["contacts_excluded"] == 2, added.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:  # nothing else to dial: a worker finished it
        conn.execute("UPDATE campaigns SET status = 'finished' WHERE name = 'spring'")

    bad = dialer(cli_env, "dnc", "remove", "+79130123456", "oops", "--company", "acme")
    assert bad.returncode == 2 and "'oops'" in bad.stderr and "nothing removed" in " ".join(bad.stderr.split())
    assert count(database_url, "dnc") == 3

    removed = dialer(cli_env, "dnc", "remove", "8 (913) 012-34-56", "+79130123457", "+79130123458", "+79130123499",
                     "--company", "acme", "--json")
    assert removed.returncode == 0, removed.stderr
    assert last_json(removed.stdout) == {
        "company": "acme", "total": 4, "removed": 3, "not_listed": 1, "contacts_restored": 2,
    }  # fmt: skip
    assert count(database_url, "dnc") == 0
    assert query(database_url, "SELECT phone, state, last_outcome FROM contacts ORDER BY phone") == [
        ("+79130123456", "ready", None), ("+79130123457", "ready", None), ("+79130123458", "excluded", "blocked")]
    assert query(database_url, "SELECT status FROM campaigns WHERE name = 'spring'") == [("running",)]
    unknown = dialer(cli_env, "dnc", "remove", "+79130123456", "--company", "nobody")
    assert unknown.returncode == 1 and "unknown company 'nobody'" in unknown.stderr


def test_registry_from_the_database_and_finished_campaign_reopens(
    cli_env: dict[str, str], tenant: Tenant, database_url: str, def_registry_path: Path, tmp_path: Path
) -> None:
    """Without DIALER_REGISTRY the imported registry is used; an import reopens a finished campaign."""
    env = {k: v for k, v in cli_env.items() if k != "DIALER_REGISTRY"}
    stored = dialer(env, "registry", "import", str(def_registry_path))
    assert stored.returncode == 0, stored.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE campaigns SET status = 'finished' WHERE name = 'spring'")
    path = tmp_path / "list.csv"
    path.write_text("phone\n+79130123456\n", encoding="utf-8")
    done = dialer(env, "lists", "import", str(path), "--campaign", "spring", "--json")
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["timezone_unknown"] == 0
    assert query(database_url, "SELECT timezone, tz_source FROM contacts") == [("Asia/Novosibirsk", "registry")]
    assert query(database_url, "SELECT status FROM campaigns WHERE name = 'spring'") == [("running",)]
