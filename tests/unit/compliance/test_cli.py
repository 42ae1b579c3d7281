"""`dialer compliance check`: the typer sub-app with CliRunner, and the real console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compliance import RUSSIA_ZONES
from dialer.cli.compliance_cmd import app
from dialer.settings import get_settings

DIALER = Path(sys.executable).parent / "dialer"
runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No registry setting, no database: only what a test passes counts."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DIALER_REGISTRY", raising=False)
    monkeypatch.setenv("DIALER_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def check(*args: str, registry: Path | None = None) -> tuple[int, str, str]:
    extra = ["--registry", str(registry)] if registry is not None else []
    result = runner.invoke(app, ["check", *args, *extra])
    return result.exit_code, result.stdout, result.stderr


def test_json_outside_window(def_registry_path: Path) -> None:
    code, out, _ = check("+79131234567", "--at", "2026-04-20T14:14:00Z", "--json", registry=def_registry_path)
    assert code == 0
    assert json.loads(out) == {
        "phone": "+79131234567",
        "timezone": "Asia/Novokuznetsk",
        "tz_source": "registry",
        "candidates": ["Asia/Novokuznetsk"],
        "local_time": "2026-04-20T21:14:00+07:00",
        "at": "2026-04-20T14:14:00Z",
        "rules": "fz230-twin",
        "allowed": False,
        "reasons": [{"code": "outside-window", "message": "local 21:14 Asia/Novokuznetsk, window 09:10-19:50"}],
        "next_allowed_at": "2026-04-21T02:10:00Z",
    }


def test_json_caps_and_law_rules(def_registry_path: Path) -> None:
    code, out, _ = check(
        "8 (913) 123-45-67",
        "--at",
        "2026-04-20T12:00:00+07:00",
        "--rules",
        "fz230-law",
        "--answered-today",
        "0",
        "--answered-week",
        "2",
        "--json",
        registry=def_registry_path,
    )
    assert code == 0
    result = json.loads(out)
    assert result["phone"] == "+79131234567"
    assert result["allowed"] is False
    assert [reason["code"] for reason in result["reasons"]] == ["cap-week"]
    assert result["next_allowed_at"] == "2026-04-27T01:00:00Z"  # Monday 08:00 local


def test_allowed_sentence_and_explicit_tz() -> None:
    code, out, _ = check("+79131234567", "--at", "2026-04-20T05:00:00Z", "--tz", "Asia/Omsk")
    assert code == 0
    assert out.strip() == (
        "+79131234567 at 2026-04-20T05:00:00Z (local 2026-04-20 11:00:00 Asia/Omsk, from explicit), "
        "rules fz230-twin: allowed."
    )


def test_not_allowed_sentence(def_registry_path: Path) -> None:
    code, out, _ = check("+79003450000", "--at", "2026-04-20T18:00:00Z", "--rules", "tcpa", registry=def_registry_path)
    assert code == 0
    assert "local 2026-04-20 20:00:00 Europe/Kaliningrad, from registry" in out
    assert "not allowed (outside-window: local 20:00 Europe/Kaliningrad, window 08:00-21:00)" not in out
    assert "rules tcpa: allowed." in out
    code, out, _ = check("+79003450000", "--at", "2026-04-20T19:00:00Z", "--rules", "tcpa", registry=def_registry_path)
    assert "not allowed (outside-window: local 21:00 Europe/Kaliningrad, window 08:00-21:00)" in out
    assert "next allowed at 2026-04-21T06:00:00Z (2026-04-21 08:00:00 local)." in out


def test_without_any_registry_a_mobile_has_all_russian_zones() -> None:
    code, out, _ = check("+79131234567", "--at", "2026-04-20T07:20:00Z", "--json")
    assert code == 0
    result = json.loads(out)
    assert (result["timezone"], result["tz_source"], result["local_time"]) == (None, "candidates", None)
    assert result["candidates"] == list(RUSSIA_ZONES)
    assert result["allowed"] is True  # 07:10-07:50 UTC is inside 09:10-19:50 from UTC+2 to UTC+12
    code, out, _ = check("+79131234567", "--at", "2026-04-20T07:50:00Z", "--json")
    result = json.loads(out)
    assert result["allowed"] is False
    assert result["next_allowed_at"] == "2026-04-21T07:10:00Z"


def test_without_any_registry_a_warning_says_so_once(tmp_path: Path) -> None:
    code, out, err = check("+79131234567", "--at", "2026-04-20T07:20:00Z", "--json")
    assert code == 0
    assert json.loads(out)["tz_source"] == "candidates"
    assert len(err.splitlines()) == 1
    assert err.startswith("warning: no numbering registry loaded:")
    assert "--registry" in err
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("phone\n+79131234567\n+79141234567\n+12125551234\n", encoding="utf-8")
    code, out, err = check("--file", str(numbers), "--at", "2026-04-20T07:20:00Z")
    assert code == 0
    assert len(out.splitlines()) == 3
    assert err.count("no numbering registry loaded") == 1


def test_no_registry_warning_when_it_does_not_matter(def_registry_path: Path) -> None:
    for args, registry in (
        (["+79131234567", "--at", "2026-04-20T07:20:00Z"], def_registry_path),
        (["+79131234567", "--at", "2026-04-20T07:20:00Z", "--tz", "Asia/Omsk"], None),
        (["+12125551234", "--at", "2026-04-20T07:20:00Z"], None),
    ):
        code, _, err = check(*args, registry=registry)
        assert code == 0
        assert "registry" not in err, args


def test_a_number_of_a_registry_range_unknown_to_libphonenumber(def_registry_path: Path) -> None:
    # +7 930 000-xx-xx is allocated in the registry (Moscow) but missing from libphonenumber's metadata.
    code, out, err = check("+79300000000", "--at", "2026-04-20T10:00:00Z", "--json", registry=def_registry_path)
    assert code == 0, err
    assert json.loads(out)["tz_source"] == "registry"
    code, out, err = check("+79300000000", "--at", "2026-04-20T10:00:00Z", "--json")
    assert code == 2
    assert out == ""
    assert "PHONE: '+79300000000' is not a valid phone number" in " ".join(err.split())


def test_a_file_that_is_not_a_registry_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "numbers.csv"
    bogus.write_text("phone\n+79131234567\n", encoding="utf-8")
    code, out, err = check("+79131234567", "--json", registry=bogus)
    assert code == 2
    assert out == ""
    assert "line 1: not a numbering registry header" in " ".join(err.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["123", "--at", "2026-04-20T05:00:00Z"], "PHONE: '123' is not a possible phone number"),
        (["+70001234567", "--at", "2026-04-20T05:00:00Z"], "PHONE: '+70001234567' is not a valid phone number"),
        (["8913123456", "--at", "2026-04-20T05:00:00Z"], "PHONE: '8913123456' is not a valid phone number"),
        (["+79131234567", "--at", "yesterday"], "--at: 'yesterday' is not an ISO 8601 instant"),
        (["+79131234567", "--at", "0001-01-01T00:00:00+14:00"], "is out of range (years 1900 to 2200)"),
        (["+79131234567", "--at", "9999-12-31T23:59:59-12:00"], "is out of range (years 1900 to 2200)"),
        (["+79131234567", "--region", "Нарния"], "--region: 'Нарния' names no Russian region"),
        (["+79131234567", "--tz", "Mars/Base"], "--tz: 'Mars/Base' is neither an IANA time zone"),
        (["+79131234567", "--rules", "fz999"], "unknown rule set 'fz999'"),
        (["--at", "2026-04-20T05:00:00Z"], "give either PHONE or --file"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    code, out, err = check(*args)
    assert code == 2
    assert out == ""
    assert message in " ".join(err.split())


def test_file_gives_one_json_object_per_line(tmp_path: Path, def_registry_path: Path) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(
        "phone;timezone;region\n+79131234567;;\n123;;\n+79001750000;Europe/Moscow;\n89003450000;;Омская обл.\n\n",
        encoding="utf-8",
    )
    code, out, err = check("--file", str(numbers), "--at", "2026-04-20T05:00:00Z", registry=def_registry_path)
    assert code == 2  # one row was invalid
    assert f"{numbers}: line 3: phone: '123' is not a possible phone number" in " ".join(err.split())
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(item["line"], item["phone"], item["timezone"], item["tz_source"]) for item in lines] == [
        (2, "+79131234567", "Asia/Novokuznetsk", "registry"),
        (4, "+79001750000", "Europe/Moscow", "explicit"),
        (5, "+79003450000", "Asia/Omsk", "explicit"),
    ]
    assert [item["allowed"] for item in lines] == [True, False, True]


def test_file_without_header(tmp_path: Path) -> None:
    numbers = tmp_path / "plain.csv"
    numbers.write_text("+12125551234\n+4930123456\n", encoding="utf-8")
    code, out, _ = check("--file", str(numbers), "--at", "2026-06-10T14:00:00Z", "--rules", "tcpa")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(item["line"], item["timezone"], item["allowed"]) for item in lines] == [
        (1, "America/New_York", True),
        (2, "Europe/Berlin", True),
    ]
    # A row number or a name before the number: the first cell written as a number is the phone.
    numbers.write_text("1;Smith;+1 212 555 1234\n2;Müller;+49 30 123456\n", encoding="utf-8")
    code, out, _ = check("--file", str(numbers), "--at", "2026-06-10T14:00:00Z", "--rules", "tcpa")
    assert code == 0
    assert [(item["line"], item["phone"]) for item in map(json.loads, out.splitlines())] == [
        (1, "+12125551234"), (2, "+4930123456")]


def test_file_is_read_as_a_call_list_import_reads_it(tmp_path: Path, def_registry_path: Path) -> None:
    # A CRM export: Windows-1251, a title row, the law's name for the phone column, two numbers in a
    # cell, a note in brackets, a region in the time zone column, a bad number, a row without one.
    crm = tmp_path / "crm.csv"
    crm.write_bytes(
        "Выгрузка абонентов от 01.12.2026\n\nАбонентский номер;Часовой пояс;ФИО\n"
        "8 913 123-45-67 или 8 (914) 123-45-67;;Иванов\n"
        "+7 913 123 45 67 (звонить после 18);Омская обл.;Петров\n"
        "12345;;Сидоров\n;;Пустой\n".encode("cp1251")
    )
    code, out, err = check("--file", str(crm), "--at", "2026-04-20T05:00:00Z", registry=def_registry_path)
    assert code == 2
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(item["line"], item["column"], item["phone"], item["timezone"], item["tz_source"]) for item in lines] == [
        (4, "Абонентский номер", "+79131234567", "Asia/Novokuznetsk", "registry"),
        (4, "Абонентский номер", "+79141234567", "Asia/Chita", "registry"),
        (5, "Абонентский номер", "+79131234567", "Asia/Omsk", "explicit"),
    ]
    said = " ".join(err.split())
    assert f"{crm}: line 6: Абонентский номер: '12345' is not a possible phone number" in said
    assert f"{crm}: line 7: Абонентский номер: no phone number in the row" in said


def test_file_may_be_a_workbook_sheet(tmp_path: Path, def_registry_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "list.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("notes").write_row(0, 0, ["nothing to dial here"])
    sheet = book.add_worksheet("Абоненты")
    sheet.write_row(0, 0, ["Телефон", "Регион"])
    sheet.write_row(1, 0, [79001750000, "Камчатский край"])  # a number cell, as spreadsheets store them
    book.close()
    code, out, err = check("--file", str(path), "--sheet", "Абоненты", "--at", "2026-04-20T21:00:00Z",
                           registry=def_registry_path)
    assert code == 0, err
    [item] = [json.loads(line) for line in out.splitlines()]
    assert (item["line"], item["phone"], item["timezone"], item["allowed"]) == (2, "+79001750000", "Asia/Kamchatka",
                                                                                False)
    code, out, err = check("--file", str(path), "--sheet", "missing", registry=def_registry_path)
    assert (code, out) == (2, "")
    assert "missing" in err
    code, out, err = check("+79001750000", "--sheet", "Абоненты")
    assert (code, out) == (2, "")
    assert "--sheet goes with --file" in err


def test_tz_and_region_options_apply_to_rows_that_name_no_zone(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("phone,timezone\n+79131234567,\n+79141234567,Asia/Tokyo\n", encoding="utf-8")
    code, out, err = check("--file", str(numbers), "--at", "2026-04-20T05:00:00Z", "--tz", "Asia/Omsk")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(item["timezone"], item["tz_source"]) for item in lines] == [
        ("Asia/Omsk", "explicit"), ("Asia/Tokyo", "explicit"),
    ]
    code, out, err = check("--file", str(numbers), "--tz", "Mars/Base")
    assert (code, out) == (2, "")
    assert "--tz: 'Mars/Base'" in err


def run_dialer(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in {"DIALER_REGISTRY", "DATABASE_URL"}}
    environment.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "250", **env})
    environment["DIALER_HOME"] = os.environ["DIALER_HOME"]  # the isolated one of `isolated_settings`
    return subprocess.run(
        [str(DIALER), *args], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_real_entry_point_with_registry_setting(def_registry_path: Path) -> None:
    done = run_dialer(
        "compliance", "check", "+79001750000", "--at", "2026-04-20T21:00:00Z", "--json",
        DIALER_REGISTRY=str(def_registry_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["timezone"], result["tz_source"], result["local_time"]) == (
        "Asia/Kamchatka",
        "registry",
        "2026-04-21T09:00:00+12:00",
    )
    assert result["allowed"] is False
    assert result["next_allowed_at"] == "2026-04-20T21:10:00Z"


def test_real_entry_point_invalid_phone_exits_2() -> None:
    done = run_dialer("compliance", "check", "not-a-phone", "--at", "2026-04-20T05:00:00Z", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "PHONE: 'not-a-phone' is not a phone number" in " ".join(done.stderr.split())


@pytest.mark.parametrize("content", ["", "phone\n", "phone;region\n\n;\n"])
def test_a_file_without_numbers_is_an_error(tmp_path: Path, content: str) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(content, encoding="utf-8")
    code, out, err = check("--file", str(numbers))
    assert (code, out) == (2, "")
    assert f"--file: {numbers} has no numbers" in " ".join(err.split())


def test_rules_nested_too_deeply_are_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "deep.toml"
    rules.write_text("a = " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    code, out, err = check("+79131234567", "--rules", str(rules))
    assert (code, out) == (2, "")
    assert "nested too deeply" in err and "Traceback" not in err


def test_a_header_without_a_phone_column_is_named(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("x,y\n+79131234567,1\n", encoding="utf-8")
    code, out, err = check("--file", str(numbers))
    assert (code, out) == (2, "")
    assert "--file: numbers.csv: no phone column" in " ".join(err.split())
    assert "headers found in row 1: 'x', 'y'" in err
