"""What an import stores and counts: duplicates, DNC, invalid numbers, subscribers, extra parameters,
time zones, idempotence, whole-file errors; all against the real PostgreSQL and numbering registry."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.lists import (
    CallListError,
    ConcurrentImportError,
    EmptyFileError,
    ImportOptions,
    ImportProgress,
    MissingColumnError,
    StoppedCampaignError,
    UnknownCampaignError,
    UnreadableEncodingError,
    import_call_list,
)
from dialer.lists.store import _SUBSCRIBER_ZONES
from tests.integration.lists.helpers import Tenant, add_dnc, count, make_tenant, query


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ";", encoding: str = "utf-8") -> Path:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(text.getvalue().encode(encoding))
    return path


def report_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


async def test_duplicates_dnc_and_invalid_are_counted_and_reported(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    add_dnc(database_url, tenant.company_id, "+79130000001")
    # Another company's DNC entry does not apply to this company's campaigns.
    other = await make_tenant(database, company="other", campaign="other-campaign")
    add_dnc(database_url, other.company_id, "+79130000002")
    path = write_csv(tmp_path / "list.csv", [
        ["phone", "name"],
        ["8 (913) 000-00-01", "on DNC"],        # row 2
        ["89130000002", "fine"],                 # row 3
        ["+7 913 000-00-02", "repeat"],          # row 4: same number as row 3
        ["not a number", "x"],                   # row 5
        ["", "no phone"],                        # row 6
        ["", ""],                                # row 7: blank, skipped
        ["12345", "short"],                      # row 8
        ["+79130000001", "DNC again"],           # row 9
    ])  # fmt: skip
    summary = await import_call_list(database, path, "spring", options)
    assert summary.as_json() == {
        "total": 7, "imported": 1, "duplicates": 1, "invalid": 3, "dnc": 2, "timezone_unknown": 0,
        "reject_report": str(summary.reject_report),
    }  # fmt: skip
    assert summary.reject_report.parent == options.reports_dir
    rows = report_rows(summary.reject_report)
    assert rows[0] == ["row", "column", "value", "reason", "message"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
        ("2", "8 (913) 000-00-01", "dnc"),
        ("4", "'+7 913 000-00-02", "duplicate-in-file"),
        ("5", "not a number", "invalid-number"),
        ("6", "", "empty-phone"),
        ("8", "12345", "invalid-number"),
        ("9", "'+79130000001", "dnc"),
    ]
    assert query(database_url, "SELECT phone, name FROM contacts") == [("+79130000002", "fine")]
    [stored] = query(
        database_url,
        "SELECT total, imported, duplicates, invalid, dnc, timezone_unknown, reject_report FROM call_lists",
    )
    assert stored == (7, 1, 1, 3, 2, 0, str(summary.reject_report))


async def test_same_file_twice_adds_nothing(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [["phone"], ["89130000001"], ["89130000002"], ["bad"]])
    first = await import_call_list(database, path, "spring", options)
    before = query(database_url, "SELECT id, phone, call_list_id, created_at FROM contacts ORDER BY id")
    second = await import_call_list(database, path, "spring", options)
    assert (first.imported, first.invalid) == (2, 1)
    assert (second.total, second.imported, second.duplicates, second.invalid) == (3, 0, 2, 1)
    assert second.duplicates_existing == 2
    assert query(database_url, "SELECT id, phone, call_list_id, created_at FROM contacts ORDER BY id") == before
    assert second.reject_report != first.reject_report
    assert [r[3] for r in report_rows(second.reject_report)[1:]] == [
        "duplicate-existing", "duplicate-existing", "invalid-number",
    ]  # fmt: skip


async def test_several_numbers_per_row_are_contacts_of_one_subscriber(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [
        ["Телефон", "Телефон 2", "ФИО", "additional", "Долг"],
        ["89130000001; 8 (913) 000-00-02, +79130000003", "89130000004", "Иванов", "DEBT-1", "100"],
        ["89130000005", "", "Петров", "", "200"],
    ])  # fmt: skip
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.rows, summary.total, summary.imported) == (2, 5, 5)
    assert query(database_url, "SELECT phone, subscriber_key, name, extra FROM contacts ORDER BY phone") == [
        ("+79130000001", "DEBT-1", "Иванов", {"additional": "DEBT-1", "Долг": "100"}),
        ("+79130000002", "DEBT-1", "Иванов", {"additional": "DEBT-1", "Долг": "100"}),
        ("+79130000003", "DEBT-1", "Иванов", {"additional": "DEBT-1", "Долг": "100"}),
        ("+79130000004", "DEBT-1", "Иванов", {"additional": "DEBT-1", "Долг": "100"}),
        ("+79130000005", "+79130000005", "Петров", {"additional": "", "Долг": "200"}),
    ]


async def test_a_name_in_parts_is_the_contacts_name(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [
        ["Фамилия", "Имя", "Отчество", "Телефон"],
        ["Иванов", "Иван", "Иванович", "89130000001"],
        ["", "Мария", "", "89130000002"],
        ["", "", "", "89130000003"],
    ])  # fmt: skip
    await import_call_list(database, path, "spring", options)
    assert query(database_url, "SELECT name, extra FROM contacts ORDER BY phone") == [
        ("Иванов Иван Иванович", {"Фамилия": "Иванов", "Имя": "Иван", "Отчество": "Иванович"}),
        ("Мария", {"Фамилия": "", "Имя": "Мария", "Отчество": ""}),
        (None, {"Фамилия": "", "Имя": "", "Отчество": ""}),
    ]


async def test_a_subscriber_whose_numbers_span_zones_gets_all_of_them(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    """Where a subscriber lives is unknown when their numbers are in several zones: each contact of theirs
    carries every zone (the gate dials only when the window is open in each), across imports."""
    first = write_csv(tmp_path / "first.csv", [
        ["Телефон", "additional"],
        ["89130123456", "D-1"],  # Novosibirsk
        ["89151234567", "D-1"],  # Moscow
        ["89151234568", "D-2"],
        ["89151234569", "D-2"],  # both in Moscow
        ["89151234560", ""],  # no id: its own subscriber
    ])  # fmt: skip
    await import_call_list(database, first, "spring", options)
    zones = "SELECT phone, timezone, subscriber_zones FROM contacts ORDER BY phone"
    assert query(database_url, zones) == [
        ("+79130123456", "Asia/Novosibirsk", ["Asia/Novosibirsk", "Europe/Moscow"]),
        ("+79151234560", "Europe/Moscow", None),
        ("+79151234567", "Europe/Moscow", ["Asia/Novosibirsk", "Europe/Moscow"]),
        ("+79151234568", "Europe/Moscow", None),
        ("+79151234569", "Europe/Moscow", None),
    ]
    # A later list adds a Chita number to D-2: all of D-2's contacts get both zones.
    later = write_csv(tmp_path / "later.csv", [["Телефон", "additional"], ["89141234567", "D-2"]])
    await import_call_list(database, later, "spring", options)
    spread = "SELECT subscriber_key, phone, subscriber_zones FROM contacts WHERE subscriber_key = 'D-2' ORDER BY phone"
    assert query(database_url, spread) == [
        ("D-2", "+79141234567", ["Asia/Chita", "Europe/Moscow"]),
        ("D-2", "+79151234568", ["Asia/Chita", "Europe/Moscow"]),
        ("D-2", "+79151234569", ["Asia/Chita", "Europe/Moscow"]),
    ]


async def test_subscriber_zones_of_a_first_import_read_in_chunks_are_those_of_the_whole_campaign(
    database: AsyncEngine, database_url: str, tenant: Tenant, registry: object, tmp_path: Path
) -> None:
    """The import writes a subscriber's zones where one chunk holds all their numbers; the closing pass
    reads again only those it could not settle (numbers in several chunks, a number turned down), and
    leaves what the pass over every subscriber would: running that pass afterwards changes no row."""
    add_dnc(database_url, tenant.company_id, "+79130123458")
    rows = [["Телефон", "additional"],
            ["89130123456", "S-1"],  # Novosibirsk; S-1's Moscow number is chunks later
            ["89130123457", "S-2"], ["89151234568", "S-2"],  # Novosibirsk and Moscow, one chunk
            ["89151234569", "S-3"], ["89130123458", "S-3"],  # the Novosibirsk number is on the DNC list
            ["88005553535", "S-4"],  # one number of unknown zone: its candidates say it all
            *[[f"8915765{i:04d}", f"F-{i}"] for i in range(6)],
            ["89151234567", "S-1"]]  # fmt: skip
    path = write_csv(tmp_path / "list.csv", rows)
    small = ImportOptions(reports_dir=tmp_path, registry=registry, chunk_rows=3)  # type: ignore[arg-type]
    summary = await import_call_list(database, path, "spring", small)
    assert (summary.imported, summary.dnc) == (12, 1)
    both = ["Asia/Novosibirsk", "Europe/Moscow"]
    zones = ("SELECT subscriber_key, phone, subscriber_zones FROM contacts "
             "WHERE starts_with(subscriber_key, 'S') ORDER BY 2")
    assert query(database_url, zones) == [
        ("S-4", "+78005553535", None), ("S-1", "+79130123456", both), ("S-2", "+79130123457", both),
        ("S-1", "+79151234567", both), ("S-2", "+79151234568", both), ("S-3", "+79151234569", None),
    ]  # fmt: skip
    with psycopg.connect(database_url) as conn:
        every = {"campaign": tenant.campaign_id, "keys": None, "recheck": [], "recheck_all": True}
        full = conn.execute(_SUBSCRIBER_ZONES, every)
        assert full.rowcount == 0


async def test_subscriber_column_from_the_campaign_or_the_option(
    database: AsyncEngine, database_url: str, options: ImportOptions, tmp_path: Path
) -> None:
    await make_tenant(database, campaign="keyed", subscriber_column="debtor_id")
    path = write_csv(tmp_path / "list.csv", [["phone", "Debtor ID", "contract"], ["89130000001", "42", "C-7"]])
    await import_call_list(database, path, "keyed", options)
    assert query(database_url, "SELECT subscriber_key FROM contacts") == [("42",)]

    by_option = ImportOptions(reports_dir=options.reports_dir, registry=options.registry, subscriber_column="contract")
    path = write_csv(tmp_path / "two.csv", [["phone", "Debtor ID", "contract"], ["89130000002", "43", "C-8"]])
    await import_call_list(database, path, "keyed", by_option)
    assert query(database_url, "SELECT subscriber_key FROM contacts WHERE phone = '+79130000002'") == [("C-8",)]

    missing = ImportOptions(registry=options.registry, subscriber_column="inn")
    with pytest.raises(MissingColumnError, match=r"no subscriber column 'inn' \(a header, or column letters such as "
                                                 r"C\); headers found: 'phone', 'Debtor ID'"):
        await import_call_list(database, path, "keyed", missing)
    # Column letters, as the spreadsheet shows them, where no header has that name; never a phone column.
    for letters, phone, key in (("b", "89130000003", "44"), ("C", "89130000004", "C-9")):
        by_letter = ImportOptions(reports_dir=options.reports_dir, registry=options.registry,
                                  subscriber_column=letters)
        path = write_csv(tmp_path / f"{letters}.csv", [["phone", "Debtor ID", "contract"], [phone, "44", "C-9"]])
        await import_call_list(database, path, "keyed", by_letter)
        assert query(database_url, f"SELECT subscriber_key FROM contacts WHERE phone = '+7{phone[1:]}'") == [(key,)]
    named_b = write_csv(tmp_path / "named.csv", [["phone", "B", "Debtor ID"], ["89130000005", "by-name", "45"]])
    await import_call_list(database, named_b, "keyed", ImportOptions(
        reports_dir=options.reports_dir, registry=options.registry, subscriber_column="B"))
    assert query(database_url, "SELECT subscriber_key FROM contacts WHERE phone = '+79130000005'") == [("by-name",)]
    for letters in ("A", "D"):  # the phone column; no such column
        with pytest.raises(MissingColumnError, match=rf"no subscriber column '{letters}'"):
            await import_call_list(database, path, "keyed", ImportOptions(registry=options.registry,
                                                                          subscriber_column=letters))


async def test_time_zones_are_resolved_and_stored_with_their_source(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [
        ["phone", "timezone", "region"],
        ["89130123456", "", ""],                     # registry: Novosibirsk
        ["89130123457", "Asia/Omsk", ""],            # explicit zone
        ["89130123458", "", "Калининградская обл."],  # explicit region
        ["+79400000000", "", ""],                    # unallocated: every Russian zone is a candidate
        ["+1 212 555 0100", "", ""],                 # libphonenumber
        ["89130123459", "UTC+25", ""],               # unusable explicit zone: rejected, not guessed
    ])  # fmt: skip
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.imported, summary.invalid, summary.timezone_unknown) == (5, 1, 1)
    rows = query(database_url, "SELECT phone, timezone, tz_source, tz_candidates FROM contacts ORDER BY phone")
    assert rows[:2] == [
        ("+12125550100", "America/New_York", "phonenumbers", ["America/New_York"]),
        ("+79130123456", "Asia/Novosibirsk", "registry", ["Asia/Novosibirsk"]),
    ]
    assert rows[2:4] == [
        ("+79130123457", "Asia/Omsk", "explicit", ["Asia/Omsk"]),
        ("+79130123458", "Europe/Kaliningrad", "explicit", ["Europe/Kaliningrad"]),
    ]
    phone, zone, source, candidates = rows[4]
    assert (phone, zone, source, len(candidates)) == ("+79400000000", None, "candidates", 11)
    assert report_rows(summary.reject_report)[1][3] == "invalid-timezone"


async def test_a_messy_crm_export(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    """Floats written by a spreadsheet, notes after numbers, slashes and bars between them."""
    path = write_csv(tmp_path / "list.csv", [
        ["Телефон", "Клиент"],
        ["79130000001.0", "a"],                          # row 2: a float column
        ["7.9130000002E+10", "b"],                       # row 3: scientific, every digit there
        ["7.91300E+10", "c"],                            # row 4: scientific, digits lost
        ["8 913 000-00-03 (жена) / +7 913 000 00 04", "d"],  # row 5: two numbers, one with a note
        ["89130000005 | 89130000001", "e"],              # row 6: the second is row 2's number
    ])  # fmt: skip
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported, summary.invalid, summary.duplicates) == (7, 5, 1, 1)
    assert query(database_url, "SELECT phone, subscriber_key FROM contacts ORDER BY phone") == [
        ("+79130000001", "+79130000001"), ("+79130000002", "+79130000002"),
        ("+79130000003", "+79130000003"), ("+79130000004", "+79130000003"),
        ("+79130000005", "+79130000005"),
    ]  # fmt: skip
    rejects = [(r[0], r[2], r[3], r[4]) for r in report_rows(summary.reject_report)[1:]]
    assert rejects[0][:3] == ("4", "7.91300E+10", "invalid-number")
    assert "digits lost" in rejects[0][3]
    assert rejects[1][:3] == ("6", "89130000001", "duplicate-in-file")


async def test_how_people_write_numbers_in_a_crm(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    """Words between numbers, notes with digits, extensions after a comma, `+8` for the trunk prefix."""
    path = write_csv(tmp_path / "list.csv", [
        ["Телефон", "additional"],
        ["89130000001 или 8 (913) 000-00-02", "a"],
        ["+7 913 000 00 03 (звонить после 18)", "b"],
        ["8 913 0000004, доб. 5", "c"],
        ["+8 (913) 000-00-06", "d"],
        ["89130000007 7701234567", "e"],  # a number and ten digits (an id?): refused, not guessed
        ["89130000008 +7 913 000-00-09", "f"],  # a `+` starts a number
        ["+79130000010  79130000011", "g"],  # numbers written whole, spaces between them
    ])  # fmt: skip
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported, summary.invalid) == (10, 9, 1)
    assert query(database_url, "SELECT phone, subscriber_key FROM contacts ORDER BY phone") == [
        ("+79130000001", "a"), ("+79130000002", "a"), ("+79130000003", "b"), ("+79130000004", "c"),
        ("+79130000006", "d"), ("+79130000008", "f"), ("+79130000009", "f"), ("+79130000010", "g"),
        ("+79130000011", "g"),
    ]  # fmt: skip
    [(row, _, value, reason, _)] = report_rows(summary.reject_report)[1:]
    assert (row, value, reason) == ("6", "89130000007 7701234567", "invalid-number")


async def test_spreadsheet_numbers_with_a_decimal_comma(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    """A Russian locale's CSV writes a number column with decimal commas: one value, not two numbers."""
    path = tmp_path / "list.csv"
    path.write_bytes("Телефон;Клиент\r\n79130000001,0;a\r\n7,91300E+10;b\r\n7,9130000003E+10;c\r\n"
                     "79130000004,79130000005;d\r\n".encode("cp1251"))
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported, summary.invalid) == (5, 4, 1)
    assert [phone for (phone,) in query(database_url, "SELECT phone FROM contacts ORDER BY phone")] == [
        "+79130000001", "+79130000003", "+79130000004", "+79130000005"]
    [(row, _, value, reason, message)] = report_rows(summary.reject_report)[1:]
    assert (row, value, reason) == ("3", "7,91300E+10", "invalid-number") and "digits lost" in message


async def test_the_shortest_international_numbers_are_contacts(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    """E.164 sets no minimum length: Niue's numbers have 7 digits with the country code."""
    path = write_csv(tmp_path / "list.csv", [
        ["phone"],
        ["+683 4002"],   # Niue
        ["+690 7001"],   # Tokelau: possible length, but no such range
        ["+683 400"],    # a digit short
    ])  # fmt: skip
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported, summary.invalid) == (3, 1, 2)
    assert query(database_url, "SELECT phone, timezone FROM contacts") == [("+6834002", "Pacific/Niue")]
    assert [row[3] for row in report_rows(summary.reject_report)[1:]] == ["invalid-number", "invalid-number"]


async def test_formula_looking_values_are_stored_exactly(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    values = ["=HYPERLINK(\"http://evil\",\"click\")", "+1+1", "-2", "@SUM(A1)", "=cmd|' /C calc'!A0"]
    path = write_csv(tmp_path / "list.csv", [["phone", "a", "b", "c", "d", "name"], ["89130000001", *values]])
    await import_call_list(database, path, "spring", options)
    [(extra, name)] = query(database_url, "SELECT extra, name FROM contacts")
    assert extra == dict(zip(["a", "b", "c", "d"], values[:4], strict=True))
    assert name == values[4]


async def test_a_ten_megabyte_line(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    comment = "долг " * (2 * 1024 * 1024)  # 10 MB of characters in one cell
    numbers = ";".join(f"8913{i:07d}" for i in range(20_000))  # and 20,000 numbers in one cell
    path = tmp_path / "list.csv"
    path.write_text(f"phone,comment\n89140000001,{comment}\n\"{numbers}\",short\n", encoding="utf-8")
    assert path.stat().st_size > 10 * 1024 * 1024
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.total, summary.imported) == (20_001, 20_001)
    [(length,)] = query(database_url, "SELECT length(extra->>'comment') FROM contacts WHERE phone = '+79140000001'")
    assert length == len(comment)


async def test_chunked_import_is_consistent_across_chunks(
    database: AsyncEngine, database_url: str, tenant: Tenant, registry: object, tmp_path: Path
) -> None:
    """Repeats across chunk boundaries are in-file duplicates; a repeated DNC number stays DNC."""
    add_dnc(database_url, tenant.company_id, "+79130000007")
    rows = [["phone"]] + [[f"8913000{i:04d}"] for i in range(40)] + [["89130000003"], ["89130000007"]]
    path = write_csv(tmp_path / "list.csv", rows)
    small = ImportOptions(reports_dir=tmp_path, registry=registry, chunk_rows=7)  # type: ignore[arg-type]
    summary = await import_call_list(database, path, "spring", small)
    assert (summary.total, summary.imported, summary.duplicates_in_file, summary.dnc) == (42, 39, 1, 2)
    assert count(database_url, "contacts") == 39


async def test_progress_is_reported(
    database: AsyncEngine, tenant: Tenant, registry: object, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [["phone"]] + [[f"8913000{i:04d}"] for i in range(100)])
    steps: list[ImportProgress] = []
    small = ImportOptions(reports_dir=tmp_path, registry=registry, chunk_rows=30)  # type: ignore[arg-type]
    await import_call_list(database, path, "spring", small, progress=steps.append)
    assert [s.phase for s in steps][-1] == "finishing"
    reading = [s for s in steps if s.phase == "reading"]
    assert len(reading) >= 3
    assert [s.rows for s in reading] == sorted(s.rows for s in reading)
    assert reading[-1].position == reading[-1].size == path.stat().st_size


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", EmptyFileError, r"^list\.csv: the file is empty$"),
        (b"\xef\xbb\xbf\r\n\r\n", EmptyFileError, r"^list\.csv: the file is empty$"),
        (b"phone;name\r\n", EmptyFileError, r"^list\.csv: no data rows under the header \(row 1\)$"),
        ("имя;сумма\nИванов;1\n".encode("cp1251"), MissingColumnError,
         r"^list\.csv: no phone column .*; headers found in row 1: 'имя', 'сумма'$"),
        (bytes(range(256)) * 4, UnreadableEncodingError, r"^list\.csv: binary data"),
    ],
    ids=["empty", "only-bom", "header-only", "no-phone-column", "binary"],
)  # fmt: skip
async def test_whole_file_errors_store_nothing(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path,
    content: bytes, error: type[CallListError], message: str,
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        await import_call_list(database, path, "spring", options)
    assert count(database_url, "contacts") == count(database_url, "call_lists") == 0
    assert options.reports_dir is not None and not list(options.reports_dir.glob("*"))


async def test_unknown_campaign(database: AsyncEngine, tenant: Tenant, options: ImportOptions, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", [["phone"], ["89130000001"]])
    with pytest.raises(UnknownCampaignError, match=r"^unknown campaign 'autumn'; campaigns: spring$"):
        await import_call_list(database, path, "autumn", options)


async def test_a_stopped_campaign_takes_no_contacts(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [["phone"], ["89130000001"]])
    await import_call_list(database, path, "spring", options)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE campaigns SET status = 'stopped' WHERE name = 'spring'")
    more = write_csv(tmp_path / "more.csv", [["phone"], ["89130000002"]])
    with pytest.raises(StoppedCampaignError, match=r"^campaign 'spring' is stopped, which is final"):
        await import_call_list(database, more, "spring", options)
    assert count(database_url, "contacts") == count(database_url, "call_lists") == 1


async def test_a_header_below_a_title_row(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    rows = [["Выгрузка должников на 01.04"], [], ["Телефон", "ФИО"], ["89130000001", "A"]]
    path = write_csv(tmp_path / "list.csv", rows)
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.rows, summary.imported) == (1, 1)


async def test_bad_bytes_reject_their_rows_only(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("phone;name\n89130000001;Иванов\n".encode("cp1251") + b"89130000002;\x98\n")
    summary = await import_call_list(database, path, "spring", options)
    assert (summary.imported, summary.invalid) == (1, 1)
    assert report_rows(summary.reject_report)[1][:4] == ["3", "phone", "89130000002", "bad-encoding"]


async def test_a_concurrent_writer_makes_the_import_fail_whole(
    database: AsyncEngine, database_url: str, tenant: Tenant, registry: object, tmp_path: Path
) -> None:
    """Imports into one campaign are serialized; a writer that bypasses the lock cannot slip a duplicate in."""
    path = write_csv(tmp_path / "list.csv", [["phone"]] + [[f"8913000{i:04d}"] for i in range(60)])
    small = ImportOptions(reports_dir=tmp_path / "r", registry=registry, chunk_rows=10)  # type: ignore[arg-type]

    def sneak_in(step: ImportProgress) -> None:
        if step.phase == "reading" and step.rows == 10:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO contacts (campaign_id, phone, subscriber_key, tz_source) "
                    "VALUES (%s, '+79130000059', 'x', 'registry')",
                    (tenant.campaign_id,),
                )

    with pytest.raises(ConcurrentImportError, match="nothing was stored, run the import again"):
        await import_call_list(database, path, "spring", small, progress=sneak_in)
    assert count(database_url, "contacts") == 1 and count(database_url, "call_lists") == 0
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").glob("*"))


async def test_psycopg_connection_inside_the_callers_transaction(
    database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [["phone"], ["89130000001"]])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        async with conn.transaction():
            summary = await import_call_list(conn, path, "spring", options)
            await conn.execute("SELECT 1")
        assert summary.imported == 1
    assert count(database_url, "contacts") == 1


async def test_large_checks_go_through_the_staging_table(
    database: AsyncEngine, database_url: str, tenant: Tenant, registry: object, tmp_path: Path
) -> None:
    """Thousands of numbers to check (a re-import, a company with a DNC list) are staged with COPY."""
    from dialer.lists.chunks import find_header, read_chunks
    from dialer.lists.copy_format import ContactLines
    from dialer.lists.rows import RowInterpreter
    from dialer.lists.sources import open_source, row_source
    from dialer.lists.store import INLINE_KEYS_MAX, KeyChecks
    from dialer.lists.timezones import ZoneResolver

    rows = INLINE_KEYS_MAX * 3
    path = write_csv(tmp_path / "list.csv", [["phone"]] + [[f"8913{i:07d}"] for i in range(rows)])
    with open_source(path) as file:
        source = row_source(file, None)
        it = iter(source)
        plan = find_header(it, "list.csv", "additional", False)
        interpreter = RowInterpreter(plan, ZoneResolver(None))
        [chunk] = read_chunks(source, it, interpreter, ContactLines(1, 1), KeyChecks(True, True), rows, "list.csv")
    assert chunk.keys.count == rows and chunk.keys.copy_text.count(b"\n") == rows and not chunk.keys.idx

    add_dnc(database_url, tenant.company_id, "+79130000005")
    options = ImportOptions(reports_dir=tmp_path / "r", registry=registry, chunk_rows=rows)  # type: ignore[arg-type]
    first = await import_call_list(database, path, "spring", options)
    second = await import_call_list(database, path, "spring", options)
    assert (first.imported, first.dnc) == (rows - 1, 1)
    assert (second.imported, second.duplicates_existing, second.dnc) == (0, rows - 1, 1)


async def test_an_unwritable_report_path_stores_nothing(
    database: AsyncEngine, database_url: str, tenant: Tenant, registry: object, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [["phone"], ["89130000001"]])
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    options = ImportOptions(reject_report=blocker / "r.csv", registry=registry)  # type: ignore[arg-type]
    with pytest.raises(CallListError, match=r"cannot write the reject report .*not-a-directory/r\.csv"):
        await import_call_list(database, path, "spring", options)
    assert count(database_url, "contacts") == count(database_url, "call_lists") == 0


@pytest.mark.timeout(120)
async def test_the_subscriber_zones_pass_stays_linear_when_the_statistics_say_contacts_is_empty(
    database: AsyncEngine, database_url: str, tenant: Tenant, options: ImportOptions, tmp_path: Path
) -> None:
    """After an import rolled back or a campaign deleted, ANALYZE (autovacuum) records `contacts` as empty
    while its pages remain; the planner then joined the next import's contacts to its subscribers in a
    nested loop, quadratic: a 200,000-row import ran for hours. It must finish in seconds."""
    pairs = 20_000
    rows = [["Телефон", "additional"]]
    for i in range(pairs):  # each subscriber: a Novosibirsk number and a Moscow one
        rows += [[f"8913{i:07d}", f"S-{i}"], [f"8915{i:07d}", f"S-{i}"]]
    path = write_csv(tmp_path / "big.csv", rows)
    await import_call_list(database, path, "spring", options)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM contacts")
        conn.execute("DELETE FROM call_lists")
        conn.execute("ANALYZE contacts")
        stats = conn.execute("SELECT reltuples, relpages FROM pg_class WHERE relname = 'contacts'").fetchone()
    assert stats is not None and stats[0] == 0 and stats[1] > 0, stats

    await import_call_list(database, path, "spring", options)
    assert query(database_url, "SELECT count(*), count(subscriber_zones) FROM contacts") == [(2 * pairs, 2 * pairs)]
