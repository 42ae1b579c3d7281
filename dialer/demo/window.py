"""The demo's own rule set: a calling window around *now* in Moscow time, so the demo dials at any hour,
while zones far enough east are already past it (real window hold-backs) and caps stay strict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["RUSSIAN_ZONES", "DemoWindow", "demo_window"]

RUSSIAN_ZONES = (
    "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
    "Asia/Novosibirsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka",
)
_DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class DemoWindow:
    start_s: int
    end_s: int
    inside: tuple[str, ...]  # zones where calls are allowed now
    outside: tuple[str, ...]  # zones held back by the window now

    @property
    def text(self) -> str:
        def clock(seconds: int) -> str:
            return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"

        return f"{clock(self.start_s)}-{clock(self.end_s)}"

    def toml(self, *, caps: tuple[int, int, int] = (1, 2, 8), end_margin_s: int = 60) -> str:
        day, week, month = caps
        return (
            'name = "demo-now"\n'
            f"end_margin_seconds = {end_margin_s}\n"
            f'[windows]\neveryday = "{self.text}"\n'
            f"[caps]\nday = {day}\nweek = {week}\nmonth = {month}\n"
        )


def demo_window(now: datetime) -> DemoWindow:
    """From one hour before Moscow's local time to three hours after (whole minutes, within the day)."""
    local = now.astimezone(ZoneInfo("Europe/Moscow"))
    seconds = local.hour * 3600 + local.minute * 60
    start = max(0, seconds - 3600)
    end = min(_DAY, seconds + 3 * 3600)
    if end - start < 2 * 3600:  # close to midnight: keep a window of at least two hours
        start, end = (max(0, end - 2 * 3600), end) if seconds > _DAY // 2 else (start, min(_DAY, start + 2 * 3600))
    inside: list[str] = []
    outside: list[str] = []
    for zone in RUSSIAN_ZONES:
        z = now.astimezone(ZoneInfo(zone))
        s = z.hour * 3600 + z.minute * 60 + z.second
        (inside if start <= s < end - 120 else outside).append(zone)
    return DemoWindow(start, end, tuple(inside), tuple(outside))
