"""A campaign's results, one row per contact (`dialer contacts export`, `GET /campaigns/{name}/contacts/export`)."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb
from python_calamine import CalamineWorkbook
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.api import create_app
from tests.integration.control.cli import dialer

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 13:00 in Novosibirsk
NEXT = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


def seed(url: str) -> None:
    """Campaign `spring` of a Novosibirsk company: one contact for each result, and a contact of
    another campaign that must not show."""
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO companies (id, name, timezone) VALUES (1, 'acme', 'Asia/Novosibirsk')")
        conn.execute("INSERT INTO campaigns (id, company_id, name) VALUES (1, 1, 'spring'), (2, 1, 'autumn'),"
                     " (3, 1, 'empty')")
        conn.execute("INSERT INTO call_lists (id, campaign_id, filename, sha256) VALUES (7, 1, 'crm.csv', 'x')")
        contacts = [
            # id, campaign, phone, state, attempts, last outcome, next attempt, extra
            (1, 1, "+79130000001", "done", 2, "answered", T0, {"Договор": "D-1", "name": "Ivan I."}),
            (2, 1, "+79130000002", "done", 1, "answered", T0, {"Договор": "=HYPERLINK(\"http://x\")"}),
            (3, 1, "+79130000003", "failed", 3, "no_answer", T0, {"Договор": "D-3", "Сумма": "100"}),
            (4, 1, "+79130000004", "excluded", 0, "do-not-call", T0, {}),
            (5, 1, "+79130000005", "ready", 1, "busy", NEXT, {"Договор": "D-5"}),
            (6, 2, "+79130000006", "done", 1, "answered", T0, {"Договор": "other"}),
        ]
        for cid, campaign, phone, state, attempts, outcome, due, extra in contacts:
            conn.execute(
                "INSERT INTO contacts (id, campaign_id, call_list_id, phone, subscriber_key, name, timezone, tz_source,"
                " state, attempts, last_outcome, next_attempt_at, extra)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'Asia/Novosibirsk', 'registry', %s, %s, %s, %s, %s)",
                (cid, campaign, 7 if campaign == 1 else None, phone, f"S-{cid}", f"Contact {cid}", state, attempts,
                 outcome, due, Jsonb(extra)),
            )
        conn.execute("SELECT setval('contacts_id_seq', 100)")  # as if the rows came from imports
        attempts = [
            # id, contact, campaign, minutes after T0, outcome, amd, answered
            (10, 1, 1, 0, "busy", None, False),
            (11, 1, 1, 30, "answered", "HUMAN", True),
            (12, 2, 1, 5, "answered", "MACHINE", False),
            (13, 3, 1, 10, "no_answer", None, False),
            (14, 5, 1, 15, "busy", None, False),
            (15, 6, 2, 20, "answered", "HUMAN", True),
        ]
        for aid, contact, campaign, minutes, outcome, amd, human in attempts:
            at = T0 + timedelta(minutes=minutes)
            conn.execute(
                "INSERT INTO attempts (id, contact_id, campaign_id, worker_id, channel_id, state, created_at,"
                " answered_at, ended_at, outcome, amd_status, billsec)"
                " VALUES (%s, %s, %s, 'w1', %s, 'ended', %s, %s, %s, %s, %s, 20)",
                (aid, contact, campaign, f"dlr-{aid}", at, at if outcome == "answered" else None,
                 at + timedelta(minutes=1), outcome, amd),
            )
            if human:
                conn.execute(
                    "INSERT INTO compliance_ledger (company_id, subscriber_key, phone, campaign_id, attempt_id,"
                    " answered_at) VALUES (1, %s, %s, %s, %s, %s)",
                    (f"S-{contact}", f"+7913000000{contact}", campaign, aid, at + timedelta(seconds=5)),
                )


EXPECTED = {  # phone: (result, state, attempts, last outcome, last AMD)
    "+79130000001": ("reached", "done", "2", "answered", "HUMAN"),
    "+79130000002": ("completed", "done", "1", "answered", "MACHINE"),
    "+79130000003": ("not_reached", "failed", "3", "no_answer", ""),
    "+79130000004": ("excluded", "excluded", "0", "do-not-call", ""),
    "+79130000005": ("pending", "ready", "1", "busy", ""),
}


def test_cli_csv(database_url: str, tmp_path: Path) -> None:
    seed(database_url)
    with psycopg.connect(database_url) as conn:  # contact 5 is another number of contact 1's subscriber
        conn.execute("UPDATE contacts SET subscriber_key = 'S-1' WHERE id = 5")
    out = tmp_path / "results.csv"
    done = dialer(database_url, "contacts", "export", "--campaign", "spring", "--format", "csv", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 5 contacts" in done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    by_phone = {row["phone"].lstrip("'"): row for row in rows}
    assert {phone: (r["result"], r["state"], r["attempts"], r["last_outcome"], r["last_amd_status"])
            for phone, r in by_phone.items()} == EXPECTED
    header = list(rows[0])
    # Ours first, then the list's columns in the order they first appear (in a contact, as PostgreSQL
    # keeps a JSON object's keys: shorter first); a list `name` is renamed.
    assert header[-3:] == ["name (list)", "Договор", "Сумма"]
    reached = by_phone["+79130000001"]
    assert reached["human_answered_at"] == "2026-11-20T13:30:05+07:00"  # the company's zone
    assert reached["last_call_at"] == "2026-11-20T13:30:00+07:00"
    assert (reached["name"], reached["name (list)"], reached["Договор"]) == ("Contact 1", "Ivan I.", "D-1")
    assert by_phone["+79130000002"]["Договор"] == "'=HYPERLINK(\"http://x\")"  # made inert
    assert by_phone["+79130000005"]["next_attempt_at"] == "2026-11-21T10:00:00+07:00"
    assert [by_phone[f"+7913000000{i}"]["subscriber_reached_at"] for i in range(1, 6)] == [
        "2026-11-20T13:30:05+07:00", "", "", "", "2026-11-20T13:30:05+07:00"]
    assert by_phone["+79130000005"]["human_answered_at"] == ""
    assert by_phone["+79130000001"]["next_attempt_at"] == ""  # only while it waits
    assert by_phone["+79130000004"]["last_call_at"] == ""
    assert {r["call_list_id"] for r in rows} == {"7"} and {r["report_timezone"] for r in rows} == {"Asia/Novosibirsk"}

    to_stdout = dialer(database_url, "contacts", "export", "--campaign", "spring", "-f", "csv")
    assert to_stdout.returncode == 0 and len(list(csv.DictReader(io.StringIO(to_stdout.stdout)))) == 5
    some = dialer(database_url, "contacts", "export", "--campaign", "spring", "-f", "csv",
                  "--result", "not_reached", "--result", "EXCLUDED")
    assert some.returncode == 0, some.stderr
    assert [r["phone"] for r in csv.DictReader(io.StringIO(some.stdout))] == ["'+79130000003", "'+79130000004"]
    empty = dialer(database_url, "contacts", "export", "--campaign", "empty", "-f", "csv")
    assert empty.returncode == 0 and empty.stdout.splitlines()[0].startswith("contact_id,call_list_id,phone")
    assert len(empty.stdout.splitlines()) == 1 and "exported 0 contacts" in empty.stderr
    unknown = dialer(database_url, "contacts", "export", "--campaign", "nope", "-f", "csv")
    assert unknown.returncode == 1 and "--campaign 'nope': no such campaign" in unknown.stderr
    no_output = dialer(database_url, "contacts", "export", "--campaign", "spring", "-f", "xlsx")
    assert no_output.returncode == 1 and "--output FILE is required" in no_output.stderr


async def test_api_xlsx_and_csv(database: AsyncEngine, database_url: str) -> None:
    seed(database_url)
    app = create_app(database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        book = await http.get("/campaigns/spring/contacts/export")
        assert book.status_code == 200, book.text
        assert 'filename="contacts-spring-' in book.headers["content-disposition"]
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(book.content)).get_sheet_by_name("results").to_python()
        header, rows = [str(h) for h in sheet[0]], sheet[1:]
        by_phone = {row[header.index("phone")]: row for row in rows}
        assert sorted(by_phone) == sorted(EXPECTED)
        assert by_phone["+79130000002"][header.index("Договор")] == "=HYPERLINK(\"http://x\")"  # text, not a formula
        assert by_phone["+79130000001"][header.index("human_answered_at")] == datetime(2026, 11, 20, 13, 30, 5)
        assert by_phone["+79130000003"][header.index("result")] == "not_reached"

        table = await http.get("/campaigns/spring/contacts/export", params={"format": "csv"})
        assert table.status_code == 200
        assert table.content.startswith(codecs.BOM_UTF8)
        assert len(list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))) == 5

        pending = await http.get("/campaigns/spring/contacts/export", params={"format": "csv", "result": "pending"})
        assert [r["phone"] for r in csv.DictReader(io.StringIO(pending.content.decode("utf-8-sig")))] == [
            "'+79130000005"]
        bad_result = await http.get("/campaigns/spring/contacts/export", params={"result": "lost"})
        assert bad_result.status_code == 422 and bad_result.json()["error"]["field"] == "result.0"
        unknown = await http.get("/campaigns/nope/contacts/export")
        assert unknown.status_code == 404 and "'nope'" in unknown.json()["error"]["message"]
        bad_format = await http.get("/campaigns/spring/contacts/export", params={"format": "pdf"})
        assert bad_format.status_code == 422 and bad_format.json()["error"]["field"] == "format"


def test_results_read_back_as_a_call_list(database_url: str, tmp_path: Path) -> None:
    """The CRM round trip: the export imported as a list keeps each subscriber's key (a number as key
    comes back without the CSV's formula guard) and takes no report column for a subscriber's zone."""
    seed(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE contacts SET subscriber_key = phone WHERE id = 5")
        conn.execute("UPDATE companies SET timezone = 'Asia/Kamchatka'")
    out = tmp_path / "results.csv"
    exported = dialer(database_url, "contacts", "export", "--campaign", "spring", "-f", "csv", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "'+79130000005" in out.read_text(encoding="utf-8-sig")  # guarded in the file
    imported = dialer(database_url, "lists", "import", str(out), "--campaign", "autumn",
                      "--subscriber-column", "subscriber_key")
    assert imported.returncode == 0, imported.stderr
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT phone, subscriber_key, tz_source, timezone FROM contacts "
                            "WHERE campaign_id = 2 AND phone <> '+79130000006' ORDER BY phone").fetchall()
    assert [(phone, key) for phone, key, _, _ in rows] == [
        ("+79130000001", "S-1"), ("+79130000002", "S-2"), ("+79130000003", "S-3"), ("+79130000004", "S-4"),
        ("+79130000005", "+79130000005"),
    ]
    assert all(source != "explicit" and zone != "Asia/Kamchatka" for _, _, source, zone in rows), rows


def test_an_unwritable_output_is_named(database_url: str, tmp_path: Path) -> None:
    seed(database_url)
    for command in (["contacts", "export", "--campaign", "spring"], ["cdr", "export"]):
        for fmt in ("csv", "xlsx"):
            target = tmp_path / "missing" / f"out.{fmt}"
            done = dialer(database_url, *command, "--format", fmt, "--output", str(target))
            assert done.returncode == 1, (command, fmt, done.stderr)
            assert f"--output {target}: cannot write (No such file or directory)" in done.stderr, done.stderr
            assert "Traceback" not in done.stderr
