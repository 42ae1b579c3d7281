"""ami.protocol against captured Asterisk 22 traffic (tests/fixtures/ami/*.bin), replayed byte for byte."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ami.calls import CheckedVariables, OriginateRequest
from ami.errors import AmiProtocolError, UnsafeFieldError
from ami.protocol import Message, MessageKind, Parser, serialize_action, validate_variable

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ami"
CAPTURES = sorted(FIXTURES.glob("*.bin"))
CAPTURE_IDS = [p.stem for p in CAPTURES]


def reference_blocks(data: bytes) -> list[list[tuple[str, str]]]:
    """An independent oracle: strip the banner line, split on the blank line, split headers."""
    _, _, rest = data.partition(b"\r\n")
    out = []
    for block in rest.split(b"\r\n\r\n"):
        if not block:
            continue
        lines = block.decode("utf-8").split("\r\n")
        out.append([tuple(line.split(": ", 1)) if ": " in line else (line.rstrip(":"), "") for line in lines])
    return out


def parse_in_chunks(data: bytes, sizes: list[int]) -> list[Message]:
    parser = Parser()
    out: list[Message] = []
    pos = 0
    for size in sizes:
        out += parser.feed(data[pos:pos + size])
        pos += size
    out += parser.feed(data[pos:])
    assert parser.buffered == 0
    assert parser.malformed_lines == 0 and parser.malformed_messages == 0
    return out


def test_captures_exist() -> None:
    assert {"busy", "no_answer", "congestion", "invalid_number", "answered_machine",
            "answered_human"} <= set(CAPTURE_IDS)


@pytest.mark.parametrize("path", CAPTURES, ids=CAPTURE_IDS)
def test_capture_parses_like_the_reference(path: Path) -> None:
    data = path.read_bytes()
    parser = Parser()
    messages = parser.feed(data)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.version == "11.0.0"
    expected = reference_blocks(data)
    assert len(messages) == len(expected)
    for message, fields in zip(messages, expected, strict=True):
        assert list(message.fields) == fields
        assert message.name == fields[0][1]
    assert messages[0].kind is MessageKind.RESPONSE and messages[0].name == "Success"  # Login
    assert messages[-1].name == "Goodbye"  # Logoff


@pytest.mark.parametrize("path", CAPTURES, ids=CAPTURE_IDS)
def test_one_byte_reads_give_the_same_messages(path: Path) -> None:
    data = path.read_bytes()
    whole = Parser().feed(data)
    assert parse_in_chunks(data, [1] * len(data)) == whole


@pytest.mark.parametrize("seed", range(20))
def test_random_read_sizes_give_the_same_messages(seed: int) -> None:
    rng = random.Random(seed)
    data = b"".join(p.read_bytes() for p in CAPTURES[:1]) if seed % 2 else CAPTURES[seed % len(CAPTURES)].read_bytes()
    sizes = [rng.randint(1, 700) for _ in range(len(data) // 50)]
    assert parse_in_chunks(data, sizes) == Parser().feed(data)


def test_multibyte_utf8_split_at_every_byte_boundary() -> None:
    data = (FIXTURES / "busy.bin").read_bytes()
    name = "Дозвон".encode()
    at = data.index(name)
    whole = Parser().feed(data)
    # Cut inside each of the 2-byte Cyrillic characters: every variant must still read "Дозвон".
    for cut in range(at + 1, at + len(name)):
        messages = parse_in_chunks(data, [cut])
        assert messages == whole
    names = {m.get("CallerIDName") for m in whole if m.get("CallerIDName")}
    assert "Дозвон" in names


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    parser = Parser(expect_banner=False)
    [message] = parser.feed(b"Event: Newchannel\r\nCallerIDName: \xc4\xee\xe7\r\nUniqueid: 1.2\r\n\r\n")
    assert message["Uniqueid"] == "1.2"
    assert "\ufffd" in message["CallerIDName"]


def test_lookup_is_case_insensitive_and_keeps_repeats() -> None:
    [message] = Parser(expect_banner=False).feed(
        b"Response: Success\r\nActionID: a-1\r\nOutput: one\r\nOutput: two\r\nUniqueID: x\r\n\r\n"
    )
    assert message.is_response and message.action_id == "a-1"
    assert message.get("uniqueid") == message["Uniqueid"] == "x"
    assert message["output"] == "one"
    assert message.get_all("OUTPUT") == ["one", "two"]
    assert "output" in message and "missing" not in message


def test_malformed_lines_are_counted_and_skipped() -> None:
    parser = Parser(expect_banner=False)
    messages = parser.feed(
        b"Event: Hangup\r\nthis line has no colon\r\nCause: 16\r\n: no key\r\nbad key: x\r\n\r\n"
        b"NotAnEvent: 1\r\nFoo: bar\r\n\r\n"
        b"Event: Cdr\r\nUniqueID: 7\r\n\r\n"
    )
    assert [m.name for m in messages] == ["Hangup", "Cdr"]
    assert messages[0]["Cause"] == "16"
    assert messages[0].get_all("bad key") == ["x"]  # odd but well-formed: kept
    assert parser.malformed_lines == 2
    assert parser.malformed_messages == 1


def test_bare_lf_and_blank_line_runs_are_tolerated() -> None:
    parser = Parser(expect_banner=False)
    messages = parser.feed(b"Event: A\nX: 1\n\n\r\n\r\nEvent: B\r\nY: 2\r\n\r\n")
    assert [(m.name, m.fields[1]) for m in messages] == [("A", ("X", "1")), ("B", ("Y", "2"))]


def test_empty_value_and_colon_in_value() -> None:
    [message] = Parser(expect_banner=False).feed(b"Event: X\r\nEmpty: \r\nNoSpace:v\r\nUrl: a:b: c\r\n\r\n")
    assert message["Empty"] == ""
    assert message["NoSpace"] == "v"
    assert message["Url"] == "a:b: c"


def test_banner_may_arrive_in_pieces() -> None:
    parser = Parser()
    assert parser.feed(b"Asterisk Call Man") == []
    assert parser.banner is None
    assert parser.feed(b"ager/11.0.0\r\nResponse: Suc") == []
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert [m.name for m in parser.feed(b"cess\r\n\r\n")] == ["Success"]


def test_wrong_banner_is_a_protocol_error() -> None:
    with pytest.raises(AmiProtocolError, match="banner"):
        Parser().feed(b"HTTP/1.1 400 Bad Request\r\n")


def test_oversized_message_is_a_protocol_error() -> None:
    parser = Parser(expect_banner=False, max_message_bytes=1000)
    with pytest.raises(AmiProtocolError, match="exceeds"):
        for _ in range(100):
            parser.feed(b"Key: " + b"x" * 20 + b"\r\n")


def test_serialize_action_bytes() -> None:
    data = serialize_action("Originate", "id-1", [("Channel", "Local/1@pstn-sim"), ("Variable", "A=1"),
                                                  ("Variable", "B=2"), ("CallerID", '"Дозвон" <7495>')])
    assert data == ('Action: Originate\r\nActionID: id-1\r\nChannel: Local/1@pstn-sim\r\nVariable: A=1\r\n'
                    'Variable: B=2\r\nCallerID: "Дозвон" <7495>\r\n\r\n').encode()
    # What we send, we can read back.
    [echo] = Parser(expect_banner=False).feed(data.replace(b"Action:", b"Event:", 1))
    assert echo.get_all("Variable") == ["A=1", "B=2"]


@pytest.mark.parametrize("value", [
    "x\r\nAction: Hangup", "x\nChannel: all", "x\r", "nul\x00", "tab\tx", "del\x7f", "c1\x85next",
])
def test_serializer_refuses_control_characters(value: str) -> None:
    with pytest.raises(UnsafeFieldError, match="control character"):
        serialize_action("Originate", "id-1", [("CallerID", value)])
    with pytest.raises(UnsafeFieldError):
        serialize_action("Originate", value, [])


@pytest.mark.parametrize("name", ["", "Bad Name", "Bad:Name", "X\r\nY", "1abc"])
def test_serializer_refuses_bad_header_names(name: str) -> None:
    with pytest.raises(UnsafeFieldError, match="header name"):
        serialize_action("Ping", "id-1", [(name, "v")])


@pytest.mark.parametrize("value", ["a,B=2", 'q"x', "back\\slash", "(x)", "[x]"])
def test_variable_values_that_asterisk_would_split_are_refused(value: str) -> None:
    with pytest.raises(UnsafeFieldError, match="split"):
        validate_variable("CAMPAIGN", value)


def test_variable_names_are_checked() -> None:
    assert validate_variable("__CAMPAIGN", "7") == "__CAMPAIGN=7"
    for bad in ("", "A=B", "A B", "7X", "A-B"):
        with pytest.raises(UnsafeFieldError, match="name"):
            validate_variable(bad, "1")


def test_checked_variables_refuse_what_validate_variable_refuses() -> None:
    assert dict(CheckedVariables({"A": "1", "B": "x y"})) == {"A": "1", "B": "x y"}
    for bad in ({"A": "1\r\nAction: Hangup"}, {"A": "a,B=2"}, {"A B": "1"}, {"A": "\x85"}):
        with pytest.raises(UnsafeFieldError):
            CheckedVariables(bad)
    skipped: list[str] = []
    kept = CheckedVariables.keep_safe([("A", "1"), ("B", "x\ny"), ("C", "(c)"), ("A", "2")], skipped)
    assert dict(kept) == {"A": "2"} and skipped == ["B", "C"]


def test_checked_variables_merge_only_checked_ones_and_go_out_unchecked_again() -> None:
    head = CheckedVariables({"A": "1", "B": "2"})
    merged = head.merged(CheckedVariables({"B": "3"}), CheckedVariables({"C": "4"}))
    assert list(merged.items()) == [("A", "1"), ("B", "3"), ("C", "4")] and dict(head) == {"A": "1", "B": "2"}
    with pytest.raises(TypeError):
        head.merged({"D": "x\r\nAction: Hangup"})  # type: ignore[arg-type]
    request = OriginateRequest(channel="PJSIP/1@x", context="c", variables=merged)
    assert request.variables is merged
    assert ("Variable", "C=4") in request.fields("id-1", None)
    # a plain mapping is still checked by the request itself
    with pytest.raises(UnsafeFieldError):
        OriginateRequest(channel="PJSIP/1@x", context="c", variables={"A": "1\r\nAction: Hangup"})


def test_serializer_names_the_first_bad_header_after_the_fast_path() -> None:
    fields = [("Channel", "PJSIP/1@x"), ("Variable", "A=1")]
    assert serialize_action("Originate", "id-1", fields) == (
        b"Action: Originate\r\nActionID: id-1\r\nChannel: PJSIP/1@x\r\nVariable: A=1\r\n\r\n")
    with pytest.raises(UnsafeFieldError, match="Timeout: value must be str"):
        serialize_action("Originate", "id-1", [*fields, ("Timeout", 10)])  # type: ignore[list-item]
    with pytest.raises(UnsafeFieldError, match="header name"):
        serialize_action("Originate", "id-1", [*fields, ("Bad Name", "1")])
