"""Rule sets as data: local calling windows per kind of day, caps, calendar; presets and TOML files.

Presets:
- `fz230-law`: FZ-230 art. 7 p. 3 as in force: workdays 08:00-22:00, weekends and public holidays
  09:00-20:00 (Russian production calendar with transfers); at most 1 interaction a day, 2 a week, 8 a month.
- `fz230-twin`: a stricter house reading used by many Russian collectors: 09:10-19:50 every day;
  2 a day, 4 an ISO week, 16 a month.
- `tcpa`: US TCPA 47 CFR 64.1200(c)(1): 08:00-21:00 local time, no caps.

A TOML rule file (per company or campaign):

    name = "acme"                 # default: the file name without extension
    extends = "fz230-law"         # optional: a preset, or another TOML file relative to this one
    calendar = "ru"               # "ru" (production calendar) or "plain" (Sat/Sun weekends)
    end_margin_seconds = 60       # no call starts less than this before a window's end
    [windows]                     # "HH:MM-HH:MM", or "none" for no calls on that kind of day
    everyday = "09:00-20:00"      # or workday = ..., weekend = ..., holiday = ... (holiday: as weekend)
    [caps]                        # calls answered by a human, per local period
    day = 1
    week = 2
    month = 8
    [attempt_caps]                # optional: every attempt, per local period
    day = 3
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from compliance.calendar import Calendar, CalendarName, DayKind, calendar_named
from compliance.caps import Cap, CapMetric, CapPeriod
from compliance.errors import RulesError
from compliance.windows import DAY_SECONDS, Window, format_clock


@dataclass(frozen=True)
class RuleSet:
    """Windows per kind of local day (None: no calls that day), caps, calendar and end margin."""

    name: str
    workday: Window | None
    weekend: Window | None
    holiday: Window | None
    calendar: CalendarName = CalendarName.PLAIN
    caps: tuple[Cap, ...] = ()
    end_margin: int = 0  # seconds: a call must start at least this long before the window's end

    # Derived once for the hot path: (start, last allowed second + 1) per day kind.
    limits: dict[DayKind, tuple[int, int] | None] = field(init=False, repr=False, compare=False)
    uniform: bool = field(init=False, repr=False, compare=False)
    calendar_impl: Calendar = field(init=False, repr=False, compare=False)
    window_texts: dict[DayKind, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.end_margin < 0:
            raise RulesError(f"rules {self.name}: end_margin_seconds cannot be negative")
        limits: dict[DayKind, tuple[int, int] | None] = {}
        # Every day opens at midnight: a window to 24:00 runs on into the next day, it has no end.
        endless = all(w is not None and w.start == 0 for w in map(self.window, DayKind))
        for kind in DayKind:
            window = self.window(kind)
            if window is None:
                limits[kind] = None
                continue
            if endless and window.end == DAY_SECONDS:
                limits[kind] = (window.start, window.end)
                continue
            if window.end - self.end_margin <= window.start:
                raise RulesError(
                    f"rules {self.name}: {kind} window {window} is not longer than the end margin "
                    f"of {self.end_margin} s"
                )
            limits[kind] = (window.start, window.end - self.end_margin)
        periods = [(cap.metric, cap.period) for cap in self.caps]
        if len(set(periods)) != len(periods):
            raise RulesError(f"rules {self.name}: two caps for the same metric and period")
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "uniform", len(set(limits.values())) == 1)
        object.__setattr__(self, "calendar_impl", calendar_named(self.calendar))
        object.__setattr__(self, "window_texts", {kind: self.describe_window(kind) for kind in DayKind})

    def with_end_margin(self, seconds: int) -> RuleSet:
        """These rules with an end margin of at least `seconds` (a dialer's time from its decision to
        the call's start): unchanged when theirs is as long, or when a window is too short for it."""
        if seconds <= self.end_margin:
            return self
        try:
            return replace(self, end_margin=seconds)
        except RulesError:
            return self

    def window(self, kind: DayKind) -> Window | None:
        if kind is DayKind.WORKDAY:
            return self.workday
        if kind is DayKind.WEEKEND:
            return self.weekend
        return self.holiday

    def describe_window(self, kind: DayKind) -> str:
        """`09:10-19:50` (with the last start time when there is an end margin), or `no calls`."""
        window = self.window(kind)
        if window is None:
            return "no calls"
        limit = self.limits[kind]
        if limit is not None and limit[1] < window.end:
            return f"{window} (last start {format_clock(limit[1])})"
        return str(window)


_EVERYDAY_TWIN = Window.parse("09:10-19:50")
_LAW_WORKDAY = Window.parse("08:00-22:00")
_LAW_DAY_OFF = Window.parse("09:00-20:00")
_TCPA = Window.parse("08:00-21:00")

PRESETS: dict[str, RuleSet] = {
    "fz230-twin": RuleSet(
        "fz230-twin",
        _EVERYDAY_TWIN,
        _EVERYDAY_TWIN,
        _EVERYDAY_TWIN,
        CalendarName.PLAIN,
        (Cap(CapPeriod.DAY, 2), Cap(CapPeriod.WEEK, 4), Cap(CapPeriod.MONTH, 16)),
    ),
    # FZ-230 art. 7 p. 3: windows by local time and at most 1 a day, 2 a week, 8 a month.
    "fz230-law": RuleSet(
        "fz230-law",
        _LAW_WORKDAY,
        _LAW_DAY_OFF,
        _LAW_DAY_OFF,
        CalendarName.RU,
        (Cap(CapPeriod.DAY, 1), Cap(CapPeriod.WEEK, 2), Cap(CapPeriod.MONTH, 8)),
    ),
    "tcpa": RuleSet("tcpa", _TCPA, _TCPA, _TCPA, CalendarName.PLAIN, ()),
}

_TOP_KEYS = {"name", "extends", "calendar", "end_margin_seconds", "windows", "caps", "attempt_caps"}
_WINDOW_KEYS = {"everyday", "workday", "weekend", "holiday"}
_NO_CALLS = {"", "none", "off", "closed"}


def _window_value(value: Any, where: str) -> Window | None:
    if value is False:
        return None
    if not isinstance(value, str):
        raise RulesError(f'{where}: expected "HH:MM-HH:MM" or "none", got {value!r}')
    if value.strip().lower() in _NO_CALLS:
        return None
    try:
        return Window.parse(value)
    except RulesError as exc:
        raise RulesError(f"{where}: {exc}") from None


def _caps(table: Any, metric: CapMetric, where: str) -> dict[tuple[CapMetric, CapPeriod], Cap]:
    if not isinstance(table, dict):
        raise RulesError(f"{where}: must be a table")
    caps: dict[tuple[CapMetric, CapPeriod], Cap] = {}
    for key, value in table.items():
        try:
            period = CapPeriod(key)
        except ValueError:
            raise RulesError(f"{where}.{key}: unknown period (day, week, month)") from None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RulesError(f"{where}.{key}: expected a whole number 0 or more, got {value!r}")
        caps[(metric, period)] = Cap(period, value, metric)
    return caps


def _from_toml(path: Path, seen: tuple[Path, ...]) -> RuleSet:
    where = str(path)
    if path in seen:
        raise RulesError(f"{where}: `extends` loops back to this file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{where}: not valid TOML: {exc}") from exc
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise RulesError(f"{where}: not valid TOML: arrays or tables nested too deeply") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_TOP_KEYS))})")

    base: RuleSet | None = None
    if "extends" in data:
        parent = data["extends"]
        if not isinstance(parent, str):
            raise RulesError(f"{where}: extends: expected a preset name or a file path")
        base = PRESETS.get(parent)
        if base is None:
            parent_path = (path.parent / parent).resolve()
            if not parent_path.is_file():
                raise RulesError(
                    f"{where}: extends: {parent!r} is neither a preset ({', '.join(PRESETS)}) nor an existing file"
                )
            base = _from_toml(parent_path, (*seen, path))

    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise RulesError(f"{where}: name: expected a non-empty string")

    windows = data.get("windows", {})
    if not isinstance(windows, dict):
        raise RulesError(f"{where}: windows: must be a table")
    unknown = sorted(set(windows) - _WINDOW_KEYS)
    if unknown:
        raise RulesError(
            f"{where}: windows: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_WINDOW_KEYS))})"
        )
    chosen: dict[str, Window | None] = {}
    if "everyday" in windows:
        every = _window_value(windows["everyday"], f"{where}: windows.everyday")
        chosen = {"workday": every, "weekend": every, "holiday": every}
    for key in ("workday", "weekend", "holiday"):
        if key in windows:
            chosen[key] = _window_value(windows[key], f"{where}: windows.{key}")
    if "weekend" in windows and "holiday" not in windows:
        chosen["holiday"] = chosen["weekend"]
    if base is None:
        missing = [key for key in ("workday", "weekend") if key not in chosen]
        if missing:
            raise RulesError(
                f"{where}: windows: set `everyday`, or `workday` and `weekend` (missing {', '.join(missing)})"
            )

    calendar_text = data.get("calendar", base.calendar.value if base else CalendarName.PLAIN.value)
    try:
        calendar = CalendarName(calendar_text)
    except ValueError:
        raise RulesError(f'{where}: calendar: expected "ru" or "plain", got {calendar_text!r}') from None

    margin = data.get("end_margin_seconds", base.end_margin if base else 0)
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise RulesError(f"{where}: end_margin_seconds: expected a whole number of seconds, got {margin!r}")

    caps = {(cap.metric, cap.period): cap for cap in (base.caps if base else ())}
    if "caps" in data:
        caps.update(_caps(data["caps"], CapMetric.ANSWERED, f"{where}: caps"))
    if "attempt_caps" in data:
        caps.update(_caps(data["attempt_caps"], CapMetric.ATTEMPTS, f"{where}: attempt_caps"))

    try:
        if base is not None:
            return replace(
                base,
                name=name,
                calendar=calendar,
                end_margin=margin,
                caps=tuple(caps.values()),
                **chosen,  # type: ignore[arg-type]
            )
        return RuleSet(
            name,
            chosen["workday"],
            chosen["weekend"],
            chosen["holiday"],
            calendar,
            tuple(caps.values()),
            margin,
        )
    except RulesError as exc:
        raise RulesError(f"{where}: {exc}") from None


def load_rules(name_or_path: str | Path) -> RuleSet:
    """A preset by name (`fz230-twin`, `fz230-law`, `tcpa`) or a TOML rule file by path."""
    if isinstance(name_or_path, str) and name_or_path in PRESETS:
        return PRESETS[name_or_path]
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise RulesError(
            f"unknown rule set {str(name_or_path)!r}: not a preset ({', '.join(PRESETS)}) nor an existing TOML file"
        )
    return _from_toml(path.resolve(), ())
