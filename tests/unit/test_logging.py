"""Logs keep an error's traceback (JSON in production, text elsewhere), never the frames' locals."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from dialer.runtime import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _fail(secret: str) -> None:
    raise RuntimeError("lost the connection")


SECRET = "".join(reversed("2retnuh"))  # in a frame's locals, never in the source lines a traceback shows


def _log_errors() -> None:
    try:
        _fail(SECRET)
    except RuntimeError:
        structlog.get_logger("dialer.test").exception("dispatcher failed", campaign="spring")
    try:
        _fail(SECRET)
    except RuntimeError:
        logging.getLogger("psycopg.pool").exception("pool error")


def test_json_records_carry_the_traceback(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_logs=True)
    _log_errors()
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [r["event"] for r in records] == ["dispatcher failed", "pool error"]
    for record in records:
        assert record["exception"].startswith("Traceback (most recent call last):")
        assert "in _fail" in record["exception"]
        assert record["exception"].endswith("RuntimeError: lost the connection")
        assert SECRET not in json.dumps(record)
    assert records[0]["campaign"] == "spring"


def test_console_records_carry_the_traceback_without_locals(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_logs=False)
    _log_errors()
    err = capsys.readouterr().err
    assert err.count("Traceback (most recent call last):") == 2
    assert err.count("RuntimeError: lost the connection") == 2
    assert SECRET not in err
