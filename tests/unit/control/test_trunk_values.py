"""Validation of trunk values: AMI URL, dial template, CPS, channels, names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dialer.errors import InvalidValueError
from dialer.trunks import (
    parse_ami_url,
    parse_cps,
    validate_dial_template,
    validate_max_channels,
    validate_trunk_name,
)


def test_ami_url_parts() -> None:
    url = parse_ami_url("ami://dialer:s%40cret@10.0.0.5:5038")
    assert (url.user, url.secret, url.host, url.port) == ("dialer", "s@cret", "10.0.0.5", 5038)
    assert url.server == "10.0.0.5:5038"
    assert "s@cret" not in repr(url) and "s@cret" not in url.redacted()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://u:s@h:5038", "scheme must be ami"),
        ("ami://h:5038", "user is missing"),
        ("ami://u@h:5038", "secret is missing"),
        ("ami://u:s@:5038", "host is missing"),
        ("ami://u:s@h", "port is missing"),
        ("ami://u:s@h:99999", "not a valid URL"),
        ("ami://u:s@h:port", "not a valid URL"),
        ("ami://u:s@h:5038/x", "unexpected path"),
    ],
)
def test_ami_url_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        parse_ami_url(text)
    assert info.value.field == "ami"


def test_dial_template() -> None:
    assert validate_dial_template(" Local/{number}@pstn-sim ") == "Local/{number}@pstn-sim"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Local/123@pstn-sim", r"must contain \{number\}"),
        ("Local/{num}@pstn-sim", r"must contain \{number\}"),
        ("PJSIP/{number}@{carrier}", "unknown placeholder"),
        ("Local/{number@x", "not a valid template"),
        ("{number}", "channel technology"),
    ],
)
def test_dial_template_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as info:
        validate_dial_template(text)
    assert info.value.field == "dial"


def test_limits() -> None:
    assert parse_cps("2.5") == Decimal("2.5")
    assert parse_cps(10) == Decimal(10)
    for bad in ("0", "-1", "abc", "1001", "0.0001", "nan"):
        with pytest.raises(InvalidValueError):
            parse_cps(bad)
    for endless in ("inf", "-Infinity", "nan", float("inf")):
        with pytest.raises(InvalidValueError, match="is not a finite number"):
            parse_cps(endless)
    assert validate_max_channels(1) == 1
    with pytest.raises(InvalidValueError, match="between 1 and"):
        validate_max_channels(0)


@pytest.mark.parametrize("name", ["", "has space", "a/b", "-x", "x" * 101])
def test_trunk_name_rejects(name: str) -> None:
    with pytest.raises(InvalidValueError):
        validate_trunk_name(name)
