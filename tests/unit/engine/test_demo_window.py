"""The demo's window always lets it dial now in Moscow, and holds some zones back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.demo.window import demo_window


def test_any_hour_has_zones_inside_and_outside() -> None:
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    for step in range(0, 24 * 60, 17):
        window = demo_window(start + timedelta(minutes=step))
        assert window.inside and window.outside, (step, window)
        assert 0 <= window.start_s < window.end_s <= 86400
        assert window.end_s - window.start_s >= 2 * 3600
        assert "everyday" in window.toml()
