"""Bad input end to end: an unclosed quote, a stray byte in UTF-8, CRM header spellings, `00` numbers.

One bad row never fails the file nor swallows the rows after it, and what was wrong is in the report.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.lists import ImportOptions, import_call_list
from tests.integration.lists.helpers import Tenant, query


def report_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]


async def test_an_unclosed_quote_loses_no_row(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b'phone;name\n89131234567;"Ivan\n89131234568;Petr\n89131234569;Sid\n')
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.rows, summary.total, summary.imported, summary.invalid) == (3, 3, 3, 0)
    assert query(database_url, "SELECT phone, name FROM contacts ORDER BY phone") == [
        ("+79131234567", "Ivan"),
        ("+79131234568", "Petr"),
        ("+79131234569", "Sid"),
    ]
    [note] = report_rows(summary.reject_report)
    assert note[:4] == ["2", "name", "Ivan", "quote-repaired"]
    assert note[4].startswith("unclosed quote: ")


async def test_an_unclosed_quote_in_a_middle_cell_keeps_the_row_s_other_cells(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(
        "Телефон;ФИО;additional\n89131234560;А;D-0\n89131234567;\"Иван;D-1\n89131234568;Пётр;D-2\n"
        "89131234569;\"Сидор, мл.\";D-3\n".encode()
    )
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported) == (4, 4)
    assert query(database_url, "SELECT phone, name, subscriber_key FROM contacts ORDER BY phone") == [
        ("+79131234560", "А", "D-0"),
        ("+79131234567", "Иван", "D-1"),
        ("+79131234568", "Пётр", "D-2"),
        ("+79131234569", "Сидор, мл.", "D-3"),
    ]
    assert [r[:4] for r in report_rows(summary.reject_report)] == [["3", "ФИО", "Иван", "quote-repaired"]]


async def test_a_quoted_cell_over_the_limit_rejects_its_row_only(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    from dialer.lists.csv_reader import MAX_QUOTED_LINES

    path = tmp_path / "list.csv"
    numbers = [f"8913{i:07d}" for i in range(MAX_QUOTED_LINES + 100)]
    path.write_text("phone\n" + '"' + "\n".join(numbers) + "\n", encoding="utf-8")
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported, summary.invalid) == (len(numbers), len(numbers) - 1, 1)
    [reject] = report_rows(summary.reject_report)
    assert reject[:4] == ["2", "phone", numbers[0], "quoted-cell-too-long"]
    assert "10,000 lines" in reject[4]


async def test_a_stray_byte_in_a_small_utf8_file_affects_its_row_only(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"phone,name\n89131234567,\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\n89131234568,\xff\n")
    summary = await import_call_list(database, path, "spring", options)
    assert summary.source_format == "CSV, UTF-8, ','-separated"
    assert (summary.imported, summary.invalid) == (1, 1)
    assert query(database_url, "SELECT phone, name FROM contacts") == [("+79131234567", "Иван")]
    assert [r[:4] for r in report_rows(summary.reject_report)] == [["3", "phone", "89131234568", "bad-encoding"]]


async def test_crm_header_spellings_and_someone_else_s_phone(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "Ф.И.О.;Контактный телефон;Моб. телефон;Тел.;Телефон оператора;additional\n"
        "Иванов Иван;8 (913) 000-00-01;+7 913 000 00 02;;8 (913) 999-99-99;D-1\n",
        encoding="utf-8",
    )
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported) == (2, 2)
    assert query(database_url, "SELECT phone, name, subscriber_key, extra FROM contacts ORDER BY phone") == [
        ("+79130000001", "Иванов Иван", "D-1", {"Телефон оператора": "8 (913) 999-99-99", "additional": "D-1"}),
        ("+79130000002", "Иванов Иван", "D-1", {"Телефон оператора": "8 (913) 999-99-99", "additional": "D-1"}),
    ]


async def test_a_number_with_the_00_international_prefix(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone\n00380501234568\n0079131234567\n8 (913) 123-45-68\n", encoding="utf-8")
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.imported, summary.invalid) == (3, 0)
    assert query(database_url, "SELECT phone FROM contacts ORDER BY phone") == [
        ("+380501234568",), ("+79131234567",), ("+79131234568",),
    ]  # fmt: skip
