"""The do-not-call list: companies by name, `default` on demand, files, waiting contacts excluded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance import Registry
from dialer.dnc import InvalidNumbersError, add_dnc_numbers, import_dnc_file, remove_dnc_numbers
from dialer.lists import (
    EmptyFileError,
    ImportOptions,
    MissingColumnError,
    UnknownCompanyError,
    import_call_list,
)
from tests.integration.lists.helpers import Tenant, count, make_tenant, query


async def test_default_company_is_created_on_demand(database: AsyncEngine, database_url: str) -> None:
    summary = await add_dnc_numbers(database, ["8 (913) 012-34-56", "+79130123456"])
    assert (summary.company, summary.total, summary.added, summary.already, summary.invalid) == (
        "default", 2, 1, 1, 0,
    )  # fmt: skip
    sql = "SELECT c.name, d.phone, d.source FROM dnc d JOIN companies c ON c.id = d.company_id"
    assert query(database_url, sql) == [("default", "+79130123456", "cli")]
    again = await add_dnc_numbers(database, ["+79130123456"])
    assert (again.added, again.already) == (0, 1)
    assert count(database_url, "companies") == 1


async def test_invalid_numbers_are_all_named_and_nothing_changes(database: AsyncEngine, database_url: str) -> None:
    await add_dnc_numbers(database, ["+79130123456"])
    with pytest.raises(InvalidNumbersError) as added:
        await add_dnc_numbers(database, ["bad", "+79130123457", "12"])
    assert (added.value.field, [n[:2] for n in added.value.numbers]) == ("phones.0", [(0, "bad"), (2, "12")])
    assert "nothing added" in added.value.message and "'12'" in added.value.message
    with pytest.raises(InvalidNumbersError) as removed:
        await remove_dnc_numbers(database, ["+79130123456", "oops"])
    assert removed.value.field == "phones.1" and "nothing removed" in removed.value.message
    assert query(database_url, "SELECT phone FROM dnc") == [("+79130123456",)]


async def test_unknown_company(database: AsyncEngine, database_url: str) -> None:
    with pytest.raises(UnknownCompanyError, match=r"unknown company 'ghost'"):
        await add_dnc_numbers(database, ["+79130123456"], "ghost")
    assert count(database_url, "dnc") == 0


async def test_waiting_contacts_of_the_company_are_excluded(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    other = await make_tenant(database, company="other", campaign="theirs")
    path = tmp_path / "list.csv"
    path.write_text("phone\n89130000001\n89130000002\n", encoding="utf-8")
    await import_call_list(database, path, "spring", options)
    await import_call_list(database, path, "theirs", options)
    summary = await add_dnc_numbers(database, ["89130000001"], "acme")
    assert summary.contacts_excluded == 1
    rows = query(
        database_url,
        "SELECT g.name, c.phone, c.state FROM contacts c JOIN campaigns g ON g.id = c.campaign_id "
        "ORDER BY g.name, c.phone",
    )
    assert rows == [
        ("spring", "+79130000001", "excluded"),
        ("spring", "+79130000002", "ready"),
        ("theirs", "+79130000001", "ready"),  # another company's campaign is not affected
        ("theirs", "+79130000002", "ready"),
    ]
    assert other.company == "other"


async def test_import_files(database: AsyncEngine, database_url: str, tenant: Tenant, tmp_path: Path) -> None:
    with_header = tmp_path / "dnc.csv"
    with_header.write_bytes("ФИО;Телефон\nИванов;8 (913) 000-00-01; \nПетров;89130000002, 89130000003\n"
                            "Сидоров;нет\nКузнецов;-\n".encode("cp1251"))  # fmt: skip
    summary = await import_dnc_file(database, with_header, "acme")
    # A placeholder (`нет`, `-`) is no number, not an invalid one.
    assert (summary.total, summary.added, summary.invalid) == (3, 3, 0)

    workbook = tmp_path / "dnc.xlsx"
    book = xlsxwriter.Workbook(str(workbook))
    sheet = book.add_worksheet()
    sheet.write_column(0, 0, [79130000004, 79130000001, "junk"])  # no header: one number per row
    book.close()
    summary = await import_dnc_file(database, workbook, "acme")
    assert (summary.total, summary.added, summary.already, summary.invalid) == (3, 1, 1, 1)
    assert (summary.invalid_examples[0].row, summary.invalid_examples[0].value) == (3, "junk")

    upload = io.BytesIO(b"msisdn\n+79130000005\n")
    summary = await import_dnc_file(database, upload, "acme", filename="upload.csv")
    assert summary.added == 1
    assert query(database_url, "SELECT source FROM dnc WHERE phone = '+79130000005'") == [("file:upload.csv",)]
    assert count(database_url, "dnc") == 5


async def test_bad_files(database: AsyncEngine, database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("name;sum\nA;1\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match="no phone column"):
        await import_dnc_file(database, path)
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(EmptyFileError):
        await import_dnc_file(database, path)
    # A header alone, as `lists import` says it.
    path.write_text("Стоп-лист\nФИО;Телефон\n;;\n", encoding="utf-8")
    with pytest.raises(EmptyFileError, match=r"dnc.csv: no data rows under the header \(row 2\)"):
        await import_dnc_file(database, path)
    assert count(database_url, "dnc") == 0
    # A row whose phone is a placeholder is a data row: nothing to add, no error.
    path.write_text("ФИО;Телефон\nИванов;нет\n", encoding="utf-8")
    assert (await import_dnc_file(database, path)).total == 0


async def test_files_are_read_as_a_call_list_import_reads_them(
    database: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    # A title row above the header (a CRM's export), then a file of numbers after a name column.
    path = tmp_path / "stop.csv"
    path.write_text("Стоп-лист на 01.12.2026\n\nФИО;Мобильный телефон\nИванов;+7 913 000-00-11\n", encoding="utf-8")
    summary = await import_dnc_file(database, path)
    assert (summary.total, summary.added, summary.invalid) == (1, 1, 0)
    path.write_text("Петров;8 913 000-00-12\nСидоров;89130000013\nКузнецов;нет\n", encoding="utf-8")
    summary = await import_dnc_file(database, path)
    assert (summary.total, summary.added, summary.invalid) == (2, 2, 0)
    assert sorted(p for (p,) in query(database_url, "SELECT phone FROM dnc")) == [
        "+79130000011", "+79130000012", "+79130000013"]


async def test_numbers_of_the_registry_libphonenumber_does_not_know_can_be_listed(
    database: AsyncEngine, database_url: str, registry: Registry, tmp_path: Path
) -> None:
    # +7 930 000-00-00 is allocated (Moscow) but missing from libphonenumber's ranges: a call list
    # holding it imports it with the registry, so its owner must be able to opt out of it too.
    with pytest.raises(InvalidNumbersError):
        await add_dnc_numbers(database, ["8 (930) 000-00-00"])
    listed = await add_dnc_numbers(database, ["8 (930) 000-00-00"], registry=registry)
    assert (listed.added, listed.invalid) == (1, 0)
    path = tmp_path / "dnc.csv"
    path.write_text("+79300010000\n+79300060000\n")
    from_file = await import_dnc_file(database, path, registry=registry)
    assert (from_file.added, from_file.invalid) == (2, 0)
    assert query(database_url, "SELECT phone FROM dnc ORDER BY phone") == [
        ("+79300000000",),
        ("+79300010000",),
        ("+79300060000",),
    ]


async def test_an_area_code_column_is_read_as_the_call_list_reads_it(
    database: AsyncEngine, database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    """A number listed as `Код города` + `Телефон` in the stop list is the one the call list dials."""
    stop = tmp_path / "stop.csv"
    stop.write_text("ФИО;Код города;Телефон\nИванов;495;123-45-67\nПетров;3812\n", encoding="utf-8")
    summary = await import_dnc_file(database, stop, "acme")
    assert (summary.total, summary.added, summary.invalid) == (1, 1, 0)
    calls = tmp_path / "calls.csv"
    calls.write_text("ФИО;Код города;Телефон\nИванов;(495);1234567\nСидоров;495;123-45-68\n", encoding="utf-8")
    result = await import_call_list(database, calls, tenant.campaign, ImportOptions())
    assert (result.imported, result.dnc) == (1, 1)
    assert query(database_url, "SELECT phone FROM contacts") == [("+74951234568",)]
