"""Parsing cdr_manager `Cdr` events, on Asterisk 22 traffic captured from the sandbox (tests/fixtures/ami)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ami.protocol import Message, iter_messages
from cdr import CdrError, CdrEventError
from cdr.asterisk_cdr import AsteriskCdrIngester, message_fields, parse_cdr_event, phone_from_channel, server_zone

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ami"
UTC_ZONE = ZoneInfo("UTC")


def cdr_events(name: str) -> dict[str, dict[str, str]]:
    """The Cdr events of one capture, by Channel (`...;1` is the originated leg)."""
    events = [m for m in iter_messages((CAPTURES / f"{name}.bin").read_bytes()) if m.name == "Cdr"]
    return {dict(m.fields)["Channel"]: dict(m.fields) for m in events}


def originated(name: str) -> dict[str, str]:
    return next(e for channel, e in cdr_events(name).items() if channel.endswith(";1"))


def test_answered_call_of_the_sandbox() -> None:
    event = originated("answered_human")
    record = parse_cdr_event(event, server="sandbox", zone=UTC_ZONE)
    assert record.unique_id == "capture-answered_human-f3f1dea1"
    assert record.disposition == "ANSWERED"
    assert record.start_at == datetime(2026, 11, 25, 4, 10, 21, tzinfo=UTC)
    assert record.answer_at == datetime(2026, 11, 25, 4, 10, 21, tzinfo=UTC)
    assert record.end_at == datetime(2026, 11, 25, 4, 10, 23, tzinfo=UTC)
    assert (record.duration, record.billsec) == (2, 2)
    assert record.amd_status == "HUMAN"
    assert record.server == "sandbox"
    assert record.channel == "Local/79001234560@pstn-sim-00000008;1"
    assert record.raw["UniqueID"] == record.unique_id
    assert "Privilege" not in record.raw
    # cdr_manager sends no LinkedID unless cdr_manager.conf maps it.
    assert record.linked_id is None


@pytest.mark.parametrize(
    ("capture", "disposition", "billsec", "answered"),
    [
        ("busy", "BUSY", 0, False),
        ("no_answer", "NO ANSWER", 0, False),
        ("congestion", "CONGESTION", 0, False),
        ("invalid_number", "NO ANSWER", 0, False),
        ("answered_machine", "ANSWERED", 5, True),
    ],
)
def test_each_outcome_of_the_sandbox(capture: str, disposition: str, billsec: int, answered: bool) -> None:
    record = parse_cdr_event(originated(capture), server=None, zone=UTC_ZONE)
    assert record.disposition == disposition
    assert record.billsec == billsec
    assert (record.answer_at is not None) == answered
    assert record.start_at is not None and record.end_at is not None
    assert record.start_at <= record.end_at


def test_server_local_time_is_converted_with_the_configured_zone() -> None:
    event = originated("answered_human")
    moscow = parse_cdr_event(event, server=None, zone=server_zone("Europe/Moscow"))
    assert moscow.start_at == datetime(2026, 11, 25, 1, 10, 21, tzinfo=UTC)  # MSK is UTC+3
    vladivostok = parse_cdr_event(event, server=None, zone=server_zone("Asia/Vladivostok"))
    assert vladivostok.start_at == datetime(2026, 11, 24, 18, 10, 21, tzinfo=UTC)


def test_repeated_hour_of_a_dst_change_takes_the_earlier_instant() -> None:
    event = {"Event": "Cdr", "UniqueID": "u1", "StartTime": "2026-11-01 01:30:00", "EndTime": ""}
    record = parse_cdr_event(event, server=None, zone=server_zone("America/New_York"))
    assert record.start_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # EDT, not EST
    assert record.end_at is None


def test_headers_are_matched_in_any_case() -> None:
    lower = {k.lower(): v for k, v in originated("busy").items()}
    assert parse_cdr_event(lower, server=None, zone=UTC_ZONE) == parse_cdr_event(
        originated("busy"), server=None, zone=UTC_ZONE
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("StartTime", "25/11/2026 04:10", "StartTime '25/11/2026 04:10' is not"),
        ("BillableSeconds", "two", "BillableSeconds 'two' is not an integer"),
        ("UniqueID", "", "without UniqueID"),
    ],
)
def test_malformed_events_name_the_field(field: str, value: str, message: str) -> None:
    event = {**originated("busy"), field: value}
    with pytest.raises(CdrEventError, match=message.replace("(", r"\(")):
        parse_cdr_event(event, server=None, zone=UTC_ZONE)


def test_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(CdrError, match="'Mars/Olympus' is not an IANA zone"):
        server_zone("Mars/Olympus")


def test_phone_from_local_channel() -> None:
    assert phone_from_channel("Local/79001234564@pstn-sim-00000006;1") == "79001234564"
    assert phone_from_channel("Local/+79160000007@pstn-sim-0000000c;1") == "+79160000007"
    assert phone_from_channel("PJSIP/trunk-00000001") is None
    assert phone_from_channel(None) is None


def test_the_stored_raw_event_is_the_headers_without_privilege() -> None:
    event = originated("answered_human")
    assert "Privilege" in event
    raw = parse_cdr_event(event, server=None, zone=UTC_ZONE).raw
    assert raw == {k: v for k, v in event.items() if k != "Privilege"}
    # any spelling of Privilege is dropped, the other headers keep theirs
    odd = {"PRIVILEGE": "cdr,all", "privilege": "x", **{k: v for k, v in event.items() if k != "Privilege"}}
    assert parse_cdr_event(odd, server=None, zone=UTC_ZONE).raw == raw


async def test_the_ingester_reads_ami_messages_as_parse_cdr_event_does() -> None:
    messages = [m for m in iter_messages((CAPTURES / "busy.bin").read_bytes()) if m.name == "Cdr"]

    async def stream() -> AsyncIterator[Message]:
        for message in messages:
            yield message

    ingester = AsteriskCdrIngester(None, server="pbx", server_tz="UTC")  # type: ignore[arg-type]
    parsed = [ingester.parse(event) async for event in message_fields(stream())]
    expected = [parse_cdr_event(dict(reversed(m.fields)), server="pbx", zone=UTC_ZONE) for m in messages]
    assert parsed == expected and [r.raw for r in parsed if r] == [r.raw for r in expected]
    assert ingester.events_seen == len(messages) and messages
