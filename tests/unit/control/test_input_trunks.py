"""Trunk values found bad by fuzzing: AMI URLs that did not survive storing, secrets shown in errors,
dial strings and caller ids that could never be sent to Asterisk."""

from __future__ import annotations

import pytest

from ami.client import parse_ami_url as ami_connect_parameters
from dialer.errors import InvalidValueError
from dialer.trunks import parse_ami_url, validate_caller_id, validate_dial_template


@pytest.mark.parametrize(
    ("text", "user", "secret"),
    [
        ("ami://u:s%2Fx@h:5038", "u", "s/x"),
        ("ami://u:s%3Fx@h:5038", "u", "s?x"),
        ("ami://u:s%23x@h:5038", "u", "s#x"),
        ("ami://u:a@b:c%25d@h:5038", "u", "a@b:c%d"),
        ("ami://u%3Av:s%40%3A%2F%3F%23@h:5038", "u:v", "s@:/?#"),
        ("ami://u:50%off@h:5038", "u", "50%off"),
        ("ami://u:%D0%BF%20x@h:5038", "u", "п x"),
    ],
)
def test_ami_url_survives_store_and_load(text: str, user: str, secret: str) -> None:
    parsed = parse_ami_url(text)
    assert (parsed.user, parsed.secret) == (user, secret)
    stored = parsed.url()  # what add_trunk writes to trunks.ami_url
    assert parse_ami_url(stored) == parsed  # what the worker reads back
    assert ami_connect_parameters(stored) == ("h", 5038, user, secret)  # what `dialer call` connects with


def test_ami_url_ipv6_host_survives() -> None:
    parsed = parse_ami_url("ami://u:s@[::1]:5038")
    assert parse_ami_url(parsed.url()) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ami://u%0D%0AAction: x:s@h:5038", "the AMI user must not contain control characters"),
        ("ami://u:s%0D%0AAction: Logoff@h:5038", "the AMI secret must not contain control characters"),
        ("ami://u:s%00@h:5038", "the AMI secret must not contain control characters"),
        ("ami://u:s\x00@h:5038", "must not contain control characters"),
        ("ami://u\r\n:s@h:5038", "must not contain control characters"),
        ("ami://u:s/x@h:5038", r"percent-encode '/', '\?' and '#'"),
    ],
)
def test_ami_url_rejects_what_it_would_change(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        parse_ami_url(text)
    assert info.value.field == "ami"


@pytest.mark.parametrize(
    "text",
    [
        "ami://u:TOPSECRET@h:99999",
        "ami://u:TOPSECRET@h:port",
        "ami://u:TOPSECRET@h",
        "ami://u:TOPSECRET@:5038",
        "http://u:TOPSECRET@h:5038",
        "ami://u:TOPSECRET@h:5038/x",
        "ami://u:TOP/SECRET@h:5038",
        "ami://u:TOPSECRET\n@h:5038",
        "ami://u:TOPSECRET%00@h:5038",
        "ami://u:TOPSECRET",
    ],
)
def test_ami_url_errors_hide_the_secret(text: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        parse_ami_url(text)
    assert "SECRET" not in str(info.value) and "SECRET" not in info.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Local/{number!x}@x", "cannot be formatted"),
        ("Local/{number:d}@x", "cannot be formatted"),
        ("Local/{number:>99999999999}@x", "too wide"),
        ("Local/{number:0>300}@x", "too wide"),
        ("Local/{number:{number}}@x", "nested"),
        ("Local/{number:>250}@x", "longer than 255"),
        ("Local/{number}@" + "x" * 300, "longer than 255"),
        ("Local/{number}@x\r\nAction: Logoff", "control character"),
        ("Local/{number}\x00@x", "control character"),
    ],
)
def test_dial_template_rejects_what_cannot_be_sent(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        validate_dial_template(text)
    assert info.value.field == "dial"


def test_dial_template_with_a_harmless_spec() -> None:
    assert validate_dial_template("PJSIP/{number!s}@carrier") == "PJSIP/{number!s}@carrier"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * 101, "longer than 100 characters"),
        ("a\r\nAction: Logoff", "control character"),
        ("a\x00b", "control character"),
        ("   ", "blank"),
    ],
)
def test_caller_id_rejects(value: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        validate_caller_id(value)
    assert info.value.field == "caller_id"


def test_caller_id_accepts() -> None:
    assert validate_caller_id('"Acme" <+74951234567>') == '"Acme" <+74951234567>'
    assert validate_caller_id("x" * 100) == "x" * 100
    assert validate_caller_id("") is None and validate_caller_id(None) is None
