"""Rule presets and TOML rule files (per company or campaign), with errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance import Cap, CapMetric, CapPeriod, RulesError, RuleSet, Window, load_rules
from compliance.calendar import CalendarName, DayKind


def test_presets() -> None:
    twin = load_rules("fz230-twin")
    assert {str(twin.window(kind)) for kind in DayKind} == {"09:10-19:50"}
    assert twin.caps == (Cap(CapPeriod.DAY, 2), Cap(CapPeriod.WEEK, 4), Cap(CapPeriod.MONTH, 16))
    law = load_rules("fz230-law")
    assert str(law.workday) == "08:00-22:00"
    assert str(law.weekend) == "09:00-20:00"
    assert str(law.holiday) == "09:00-20:00"
    assert law.calendar is CalendarName.RU
    assert [cap.limit for cap in law.caps] == [1, 2, 8]
    tcpa = load_rules("tcpa")
    assert str(tcpa.workday) == "08:00-21:00"
    assert tcpa.caps == ()



def test_a_dialer_s_end_margin_is_added_to_rules_with_a_shorter_one() -> None:
    twin = load_rules("fz230-twin")
    led = twin.with_end_margin(3)
    assert (led.end_margin, led.limits[DayKind.WORKDAY]) == (3, (9 * 3600 + 600, 19 * 3600 + 50 * 60 - 3))
    assert (led.name, led.caps, led.window(DayKind.WEEKEND)) == (twin.name, twin.caps, twin.window(DayKind.WEEKEND))
    assert twin.end_margin == 0  # the preset itself is unchanged
    longer = RuleSet("long", Window.parse("09:00-18:00"), None, None, end_margin=120)
    assert longer.with_end_margin(3) is longer
    brief = RuleSet("brief", Window.parse("09:00:00-09:00:02"), None, None)
    assert brief.with_end_margin(3) is brief  # too short a window for it: as it is
    always = RuleSet("always", Window.parse("00:00-24:00"), Window.parse("00:00-24:00"), Window.parse("00:00-24:00"))
    # Every day opens at midnight: the window runs on, no last start before 24:00.
    assert always.with_end_margin(3).limits[DayKind.WORKDAY] == (0, 24 * 3600)
    late = RuleSet("late", Window.parse("08:00-24:00"), Window.parse("00:00-24:00"), Window.parse("00:00-24:00"))
    assert late.with_end_margin(3).limits[DayKind.WEEKEND] == (0, 24 * 3600 - 3)  # a workday opens at 08:00

def write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_rules_from_toml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
calendar = "ru"
end_margin_seconds = 120
[windows]
workday = "10:00-18:00"
weekend = "none"
[caps]
day = 1
[attempt_caps]
day = 3
""",
    )
    rules = load_rules(str(path))
    assert rules.name == "acme"
    assert rules.workday == Window.parse("10:00-18:00")
    assert rules.weekend is None
    assert rules.holiday is None  # follows weekend
    assert rules.end_margin == 120
    assert rules.limits[DayKind.WORKDAY] == (10 * 3600, 18 * 3600 - 120)
    assert set(rules.caps) == {Cap(CapPeriod.DAY, 1), Cap(CapPeriod.DAY, 3, CapMetric.ATTEMPTS)}
    assert rules.describe_window(DayKind.WORKDAY) == "10:00-18:00 (last start 17:58)"


def test_extends_a_preset_and_overrides_parts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name = "bank-x"
extends = "fz230-law"
[windows]
holiday = "none"
[caps]
month = 4
""",
    )
    rules = load_rules(path)  # a Path works too
    assert rules.name == "bank-x"
    assert str(rules.workday) == "08:00-22:00"
    assert str(rules.weekend) == "09:00-20:00"
    assert rules.holiday is None
    assert rules.calendar is CalendarName.RU
    assert [(cap.period, cap.limit) for cap in rules.caps] == [
        (CapPeriod.DAY, 1),
        (CapPeriod.WEEK, 2),
        (CapPeriod.MONTH, 4),
    ]


def test_extends_another_file(tmp_path: Path) -> None:
    write(tmp_path, '[windows]\neveryday = "09:00-18:00"\n', "base.toml")
    child = write(tmp_path, 'extends = "base.toml"\n[caps]\nweek = 3\n', "child.toml")
    rules = load_rules(str(child))
    assert str(rules.weekend) == "09:00-18:00"
    assert rules.caps == (Cap(CapPeriod.WEEK, 3),)
    loop = write(tmp_path, 'extends = "loop.toml"\n', "loop.toml")
    with pytest.raises(RulesError, match="loops back"):
        load_rules(str(loop))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n[windows]\neveryday='09:00-18:00'", "unknown key(s) colour"),
        ("[windows]\nworkday='09:00-18:00'", "missing weekend"),
        ("[windows]\neveryday='18:00-09:00'", "windows.everyday"),
        ("[windows]\neveryday=9", "windows.everyday: expected"),
        ("[windows]\nsunday='09:00-18:00'", "windows: unknown key(s) sunday"),
        ("calendar='us'\n[windows]\neveryday='09:00-18:00'", "calendar: expected"),
        ("end_margin_seconds=-5\n[windows]\neveryday='09:00-18:00'", "end_margin_seconds"),
        ("end_margin_seconds=3600\n[windows]\neveryday='09:00-10:00'", "not longer than the end margin"),
        ("[windows]\neveryday='09:00-18:00'\n[caps]\nyear=3", "caps.year: unknown period"),
        ("[windows]\neveryday='09:00-18:00'\n[caps]\nday=-1", "caps.day: expected a whole number"),
        ("[windows]\neveryday='09:00-18:00'\n[caps]\nday=true", "caps.day: expected a whole number"),
        ("[windows\n", "not valid TOML"),
        ("extends = 'nope.toml'\n", "extends: 'nope.toml' is neither a preset"),
    ],
)
def test_bad_rule_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as error:
        load_rules(str(path))
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_unknown_rule_set() -> None:
    with pytest.raises(RulesError, match="not a preset"):
        load_rules("fz231")
