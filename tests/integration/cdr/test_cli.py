"""`dialer cdr export` and `dialer cdr reconcile` as a user runs them (the console script, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cdr import CdrRecord, CdrWriter
from cdr.export import COLUMNS
from cdr.summary import SUMMARY_COLUMNS, TRUNK_COLUMNS
from dialer.reservations import installation_prefix
from tests.integration.cdr.factories import tenant

DIALER = str(Path(sys.executable).with_name("dialer"))
T0 = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)  # 09:30 in Moscow


async def dialer(database_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DIALER_LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(DIALER, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8-sig"), err.decode()


async def seed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        spring = await tenant(conn, company="Рога и копыта", campaign="spring", timezone="Europe/Moscow")
        other = await tenant(conn, company="other", campaign="autumn", timezone="Asia/Vladivostok")
    writer = CdrWriter(engine)
    for i in range(5):
        writer.submit(CdrRecord(
            channel_id=f"s-{i}", phone=f"+7900000000{i}", created_at=T0 + timedelta(hours=i), outcome="answered",
            campaign_id=spring.campaign_id, company_id=spring.company_id, trunk="sbx", billsec=30 + i,
            answered_at=T0 + timedelta(hours=i, seconds=5), ended_at=T0 + timedelta(hours=i, seconds=35 + i),
            subscriber_key="=HYPERLINK(\"http://evil\",\"x\")" if i == 0 else f"sub-{i}", disposition="ANSWERED",
        ))
    writer.submit(CdrRecord(channel_id="o-1", phone="+79110000001", created_at=T0, outcome="busy",
                            campaign_id=other.campaign_id, company_id=other.company_id))
    await writer.aclose()


async def test_export_csv_filters_escapes_and_uses_the_company_zone(
    database: AsyncEngine, database_url: str
) -> None:
    await seed(database)
    code, out, err = await dialer(database_url, "cdr", "export", "--campaign", "spring", "--format", "csv",
                                  "--since", "2026-11-20T08:00:00+03:00", "--until", "2026-11-20T07:30:00Z")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [name for name, _ in COLUMNS]
    data = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [d["channel_id"] for d in data] == ["s-0"]  # 06:30Z in, 07:30Z excluded (until is exclusive)
    first = data[0]
    assert first["created_at"] == "2026-11-20T09:30:00+03:00"
    assert first["report_timezone"] == "Europe/Moscow"
    assert first["company"] == "Рога и копыта"
    assert first["subscriber_key"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert first["phone"] == "'+79000000000"  # a leading + starts a formula in Excel: escaped too
    assert first["billsec"] == "30"
    assert "exported 1 CDR rows" in err


def _text_marked_cells(path: Path) -> set[str]:
    """References of the cells of the first sheet styled with Excel's text marker (`quotePrefix`)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as book:
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    xfs = styles.findall("m:cellXfs/m:xf", ns)
    quoted = {str(i) for i, xf in enumerate(xfs) if xf.get("quotePrefix") == "1"}
    return {c.get("r", "") for c in sheet.iterfind(".//m:c", ns) if c.get("s") in quoted}


async def test_export_xlsx_to_a_file(database: AsyncEngine, database_url: str, tmp_path: Path) -> None:
    await seed(database)
    target = tmp_path / "cdr.xlsx"
    code, _, err = await dialer(database_url, "cdr", "export", "--format", "xlsx", "--output", str(target))
    assert code == 0, err
    sheet = CalamineWorkbook.from_path(str(target)).get_sheet_by_name("cdr").to_python()
    header, *rows = sheet
    assert header == [name for name, _ in COLUMNS]
    by_channel = {r[header.index("channel_id")]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(by_channel) == {"s-0", "s-1", "s-2", "s-3", "s-4", "o-1"}
    assert by_channel["s-0"]["created_at"] == datetime(2026, 11, 20, 9, 30)  # Moscow wall clock
    assert by_channel["o-1"]["created_at"] == datetime(2026, 11, 20, 16, 30)  # Vladivostok wall clock
    assert by_channel["o-1"]["report_timezone"] == "Asia/Vladivostok"
    # A string cell is never evaluated: the value as it is, with Excel's own text marker (not shown).
    assert by_channel["s-0"]["subscriber_key"] == "=HYPERLINK(\"http://evil\",\"x\")"
    assert by_channel["s-0"]["phone"] == "+79000000000"
    marked = _text_marked_cells(target)
    row = 2 + [r[header.index("channel_id")] for r in rows].index("s-0")
    assert {f"{letter}{row}" for letter in ("G", "H")} <= marked  # phone, subscriber_key
    assert f"F{row}" not in marked  # the campaign's name is no formula
    assert by_channel["s-4"]["billsec"] == 34

    book = CalamineWorkbook.from_path(str(target))
    assert book.sheet_names == ["cdr", "summary", "trunks"]  # the CDR rows stay the first sheet
    summary_header, *summary = book.get_sheet_by_name("summary").to_python()
    assert summary_header == [name for name, _ in SUMMARY_COLUMNS]
    lines = [dict(zip(summary_header, r, strict=True)) for r in summary]
    assert [(line["day"], line["company"], line["campaign"]) for line in lines] == [
        (date(2026, 11, 20), "other", "autumn"),  # 16:30 in Vladivostok
        (date(2026, 11, 20), "Рога и копыта", "spring"),  # 09:30 to 13:30 in Moscow
        ("total", "", ""),
    ]
    other, spring, total = lines
    assert (other["calls"], other["busy"], other["answered"], other["asr"]) == (1, 1, 0, 0)
    assert (spring["calls"], spring["answered"], spring["answered_human"], spring["asr"]) == (5, 5, 5, 1)
    assert spring["aht_seconds"] == pytest.approx((30 + 31 + 32 + 33 + 34) / 5)
    assert spring["talk_minutes"] == pytest.approx(160 / 60)
    assert (total["calls"], total["answered"], total["busy"]) == (6, 5, 1)
    assert total["asr"] == pytest.approx(5 / 6)
    trunk_header, *trunks = book.get_sheet_by_name("trunks").to_python()
    assert trunk_header == [name for name, _ in TRUNK_COLUMNS]
    by_trunk = {r[0]: dict(zip(trunk_header, r, strict=True)) for r in trunks}
    assert sorted(by_trunk) == ["", "sbx"]  # the busy call of `other` has no trunk
    sbx = by_trunk["sbx"]
    assert (sbx["calls"], sbx["peak_cps"], sbx["peak_channels"], sbx["answered"], sbx["asr"]) == (5, 1, 1, 5, 1)
    assert (sbx["first_call_utc"], sbx["last_call_utc"]) == (T0.replace(tzinfo=None),
                                                            (T0 + timedelta(hours=4)).replace(tzinfo=None))
    assert sbx["avg_cps"] == pytest.approx(4 / (4 * 3600))


async def test_export_errors_name_the_option(database: AsyncEngine, database_url: str) -> None:
    await seed(database)
    cases = [
        (["--format", "csv", "--campaign", "nope"], "--campaign 'nope': no such campaign"),
        (["--format", "csv", "--since", "yesterday"], "--since 'yesterday': not an ISO 8601"),
        (["--format", "csv", "--since", "2026-11-21", "--until", "2026-11-20"], "is not before until 2026-11-20"),
        (["--format", "xlsx"], "--output FILE is required with --format xlsx"),
    ]
    for args, message in cases:
        code, _, err = await dialer(database_url, "cdr", "export", *args)
        assert code != 0, args
        assert message in " ".join(err.split()), (args, err)


async def test_reconcile_reports_as_json_and_rebuilds(database: AsyncEngine, database_url: str) -> None:
    await seed(database)
    recent = datetime.now(UTC) - timedelta(minutes=10)
    async with database.begin() as conn:
        ours = f"{await installation_prefix(conn)}lost-1"
        for unique_id in (ours, "dlr-other-dialer-1"):  # by default, only this installation's calls
            await conn.execute(text(
                "INSERT INTO asterisk_cdr (unique_id, disposition, start_at, answer_at, end_at, duration, billsec, "
                "raw) VALUES (:id, 'ANSWERED', :s, :s, :e, 7, 7, "
                "'{\"Channel\": \"Local/79001234560@pstn-sim-1;1\", \"AMDStatus\": \"HUMAN\"}')"
            ), {"id": unique_id, "s": recent, "e": recent + timedelta(seconds=7)})
    code, out, err = await dialer(database_url, "cdr", "reconcile", "--since",
                                  (recent - timedelta(minutes=1)).isoformat(), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["mismatches"]["missing_in_dialer"] == 1
    assert report["repaired"] == 1
    assert report["items"][0]["channel_id"] == ours
    async with database.connect() as conn:
        rows = (await conn.execute(text("SELECT channel_id, phone, outcome, billsec, amd_status, source FROM cdr "
                                        "WHERE source = 'asterisk'"))).all()
    assert [tuple(r) for r in rows] == [(ours, "+79001234560", "answered", 7, "HUMAN", "asterisk")]
    code, out, err = await dialer(database_url, "cdr", "reconcile")
    assert code == 0, err
    assert "missing_in_dialer: 0" in out
    code, _, err = await dialer(database_url, "cdr", "reconcile", "--since", "soon")
    assert code == 1
    assert "--since 'soon'" in err
    for grace in ("inf", "1e309", "-1"):
        code, _, err = await dialer(database_url, "cdr", "reconcile", "--grace", grace)
        assert code == 2 and "--grace" in err and "Traceback" not in err, (grace, err)
