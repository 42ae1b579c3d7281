"""`ami.client.parse_ami_url`: what it reads, and errors that never quote the secret."""

from __future__ import annotations

import pytest

from ami.client import parse_ami_url


def test_reads_an_encoded_secret() -> None:
    assert parse_ami_url("ami://dialer:s%2Fx%40y@pbx.example:5039") == ("pbx.example", 5039, "dialer", "s/x@y")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://u:TOPSECRET@h:1", "'http://u:***@h:1': scheme must be ami://"),
        ("ami://u:TOPSECRET@:5038", "'ami://u:***@:5038': no host"),
        ("ami://u:TOPSECRET@h:99999", "'ami://u:***@h:99999': bad port"),
        ("ami://h:5038", "needs user:secret@"),
    ],
)
def test_errors_hide_the_secret(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="AMI URL") as info:
        parse_ami_url(url)
    assert message in str(info.value) and "TOPSECRET" not in str(info.value)
