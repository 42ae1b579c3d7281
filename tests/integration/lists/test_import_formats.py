"""Every supported file shape lands the same contacts: encodings, delimiters, XLSX; corrupt files fail whole."""

from __future__ import annotations

import codecs
import csv
import html
import io
import json
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.lists import CorruptWorkbookError, ImportOptions, SheetNotFoundError, import_call_list
from tests.integration.lists.helpers import Tenant, count, query

TABLE = [
    ["Телефон", "ФИО", "additional", "Комментарий"],
    ["8 (913) 012-34-56", "Иванов Иван", "D-1", "первый, с запятой; и точкой с запятой"],
    ["+7 914 123 45 67", "Петров Пётр", "D-2", 'кавычки "внутри"\r\nи перевод строки'],
    ["79151234567", "Сидоров", "D-3", ""],
]
EXPECTED = [
    ("+79130123456", "Иванов Иван", "D-1", "первый, с запятой; и точкой с запятой", "Asia/Novosibirsk"),
    ("+79141234567", "Петров Пётр", "D-2", 'кавычки "внутри"\r\nи перевод строки', "Asia/Chita"),
    ("+79151234567", "Сидоров", "D-3", "", "Europe/Moscow"),
]


def csv_bytes(delimiter: str, encoding: str, bom: bytes = b"") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(TABLE)
    return bom + text.getvalue().encode(encoding)


def stored(url: str) -> list[tuple[str, str, str, str, str]]:
    return [
        (r[0], r[1], r[2], r[3]["Комментарий"], r[4])
        for r in query(url, "SELECT phone, name, subscriber_key, extra, timezone FROM contacts ORDER BY phone")
    ]


ENCODINGS = {
    "utf-8": ("utf-8", b""),
    "utf-8-bom": ("utf-8", codecs.BOM_UTF8),
    "windows-1251": ("cp1251", b""),
    "utf-16-bom": ("utf-16-le", codecs.BOM_UTF16_LE),
    "koi8-r": ("koi8_r", b""),
}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
async def test_csv_encodings_and_delimiters(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path,
    encoding: str, delimiter: str,
) -> None:
    codec, bom = ENCODINGS[encoding]
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes(delimiter, codec, bom))
    summary = await import_call_list(database, path, "spring", options)
    assert summary.as_json() | {"reject_report": None} == {
        "total": 3, "imported": 3, "duplicates": 0, "invalid": 0, "dnc": 0, "timezone_unknown": 0,
        "reject_report": None,
    }
    assert stored(database_url) == EXPECTED
    assert summary.rows == 3


async def test_a_sheet_named_for_a_text_file_is_an_error(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes(";", "utf-8"))
    with pytest.raises(SheetNotFoundError, match=r"list\.csv: a sheet \('Должники'\) was named, but this is a text"):
        named = ImportOptions(reports_dir=options.reports_dir, registry=options.registry, sheet="Должники")
        await import_call_list(database, path, "spring", named)
    assert count(database_url, "contacts") == 0


async def test_xlsx_with_numbers_as_numbers_and_a_named_sheet(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.xlsx"
    book = xlsxwriter.Workbook(str(path))
    cover = book.add_worksheet("Обложка")
    cover.write(0, 0, "Выгрузка из CRM")  # the first sheet has no phone column
    sheet = book.add_worksheet("Должники")
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    sheet.write_number(3, 0, 79151234567)  # a number cell, as Excel stores typed-in numbers
    sheet.write_string(4, 0, "89161234567")
    sheet.write_string(4, 3, "=SUM(A1:A2)")  # never interpreted
    book.close()

    options = ImportOptions(reports_dir=options.reports_dir, registry=options.registry, sheet="Должники")
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported) == (4, 4)
    assert stored(database_url)[:3] == EXPECTED
    [(extra,)] = query(database_url, "SELECT extra FROM contacts WHERE phone = '+79161234567'")
    assert extra == {"additional": "", "Комментарий": "=SUM(A1:A2)"}
    assert summary.source_format == "workbook, sheet 'Должники'"

    with pytest.raises(SheetNotFoundError, match="no sheet named 'Nope'"):
        await import_call_list(database, path, "spring", ImportOptions(registry=options.registry, sheet="Nope"))

    # Unnamed, the sheet is found past the cover (the numbers are now duplicates of the first import).
    unnamed = ImportOptions(reports_dir=options.reports_dir, registry=options.registry)
    summary = await import_call_list(database, path, "spring", unnamed)
    assert (summary.total, summary.imported, summary.source_format) == (4, 0, "workbook, sheet 'Должники'")


@pytest.mark.parametrize("damage", ["truncated", "garbage-with-zip-signature", "not-a-workbook"])
async def test_corrupt_xlsx_fails_whole_and_stores_nothing(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path, damage: str
) -> None:
    good = tmp_path / "good.xlsx"
    book = xlsxwriter.Workbook(str(good))
    book.add_worksheet().write_row(0, 0, ["phone"])
    book.close()
    data = good.read_bytes()
    path = tmp_path / "list.xlsx"
    path.write_bytes(
        {
            "truncated": data[: len(data) // 2],
            "garbage-with-zip-signature": b"PK\x03\x04" + bytes(range(256)) * 20,
            "not-a-workbook": b"phone\n89131234567\n",
        }[damage]
    )
    with pytest.raises(CorruptWorkbookError, match=r"^list\.xlsx: not a readable XLSX"):
        await import_call_list(database, path, "spring", options)
    assert count(database_url, "contacts") == count(database_url, "call_lists") == 0
    assert options.reports_dir is not None and not list(options.reports_dir.glob("*"))


async def test_upload_stream_and_callers_connection(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions
) -> None:
    """The HTTP API passes the uploaded stream; a caller may also pass its own connection."""
    upload = io.BytesIO(csv_bytes(";", "cp1251"))
    named = ImportOptions(reports_dir=options.reports_dir, registry=options.registry, filename="crm.csv")
    async with database.connect() as conn:
        summary = await import_call_list(conn, upload, "spring", named)
        await conn.commit()
    assert (summary.filename, summary.imported) == ("crm.csv", 3)
    assert query(database_url, "SELECT filename, total, imported FROM call_lists") == [("crm.csv", 3, 3)]
    assert json.loads(json.dumps(summary.as_json()))["reject_report"].endswith("-rejects.csv")


async def test_legacy_xls(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    import xlwt  # type: ignore[import-untyped]

    path = tmp_path / "list.xls"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Лист1")
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            # The last number as a number cell, as Excel stores typed-in numbers.
            sheet.write(r, c, 79151234567 if (r, c) == (3, 0) else value)
    book.save(str(path))
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported) == (3, 3)
    assert stored(database_url) == EXPECTED


def html_table(rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        return "<td>" + html.escape(str(value)).replace("\r\n", "<br>") + "</td>"

    return "<table border=1>" + "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>\n" for row in rows) + "</table>"


@pytest.mark.parametrize("charset", ["utf-8", "windows-1251"])
async def test_html_export_named_xls(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path, charset: str
) -> None:
    """Web CRMs (Bitrix24) export "Excel" as an HTML page named .xls: read as the sheet Excel shows. A title
    table before the list is passed over."""
    path = tmp_path / "LEAD_20261203.xls"
    page = (f'<meta http-equiv="Content-type" content="text/html;charset={charset}" />\n'
            + html_table([["Выгрузка лидов"], ["за декабрь"]]) + html_table(TABLE))
    path.write_bytes(page.encode(charset))
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported, summary.invalid) == (3, 3, 0)
    assert stored(database_url) == [
        (phone, name, key, comment.replace("\r\n", "\n"), zone) for phone, name, key, comment, zone in EXPECTED
    ]
    named = ImportOptions(reports_dir=options.reports_dir, registry=options.registry, sheet="Лист1")
    with pytest.raises(SheetNotFoundError, match=r"LEAD_20261203\.xls: a sheet .* but this is an HTML page"):
        await import_call_list(database, path, "spring", named)
    assert count(database_url, "contacts") == 3


def ods_bytes(rows: list[list[str]], number_at: tuple[int, int]) -> bytes:
    """A LibreOffice Calc sheet: a cell's lines are paragraphs; the cell at `number_at` is a number."""

    def cell(r: int, c: int, value: str) -> str:
        if (r, c) == number_at:
            return f'<table:table-cell office:value-type="float" office:value="{value}"/>'
        paragraphs = "".join(f"<text:p>{html.escape(line)}</text:p>" for line in value.split("\r\n"))
        return f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>'

    body = "".join(
        "<table:table-row>" + "".join(cell(r, c, v) for c, v in enumerate(row)) + "</table:table-row>"
        for r, row in enumerate(rows)
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Лист1">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
        ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        book.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        book.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


async def test_libreoffice_ods(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.ods"
    path.write_bytes(ods_bytes(TABLE, number_at=(3, 0)))
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported) == (3, 3)
    # A cell's paragraphs are its lines.
    assert stored(database_url) == [tuple(v.replace("\r\n", "\n") for v in row) for row in EXPECTED]
