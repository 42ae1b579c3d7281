"""Pure compliance rules: subscriber time zones, FZ-230/TCPA calling windows, caps, decisions.

Imports nothing from `ami`, `dialer` or `cdr`, and does no I/O except reading the files it is given.
"""

from compliance.calendar import CalendarName, DayKind
from compliance.caps import (
    AnsweredCounts,
    AnsweredHistory,
    Cap,
    CapHistory,
    CapMetric,
    CapPeriod,
    PeriodCounts,
    cap_key,
    is_human_answer,
)
from compliance.decision import Decision, Reason, ReasonCode, Subscriber, decide
from compliance.errors import (
    ComplianceError,
    InvalidPhoneError,
    InvalidTimezoneError,
    RegistryError,
    RulesError,
)
from compliance.phones import is_e164, normalize_phone
from compliance.regions import RUSSIA_ZONES, Subject, match_subjects, zones_for_text
from compliance.registry import Registry, RegistryEntry, RegistryFile, RegistryRow, read_registry_file
from compliance.rules import PRESETS, RuleSet, load_rules
from compliance.timezones import NumberZones, TzHints, TzResolution, TzSource, resolve_timezone
from compliance.windows import Window
from compliance.zones import parse_timezone, zone_info

__all__ = [
    "PRESETS",
    "RUSSIA_ZONES",
    "AnsweredCounts",
    "AnsweredHistory",
    "CalendarName",
    "Cap",
    "CapHistory",
    "CapMetric",
    "CapPeriod",
    "ComplianceError",
    "DayKind",
    "Decision",
    "InvalidPhoneError",
    "InvalidTimezoneError",
    "NumberZones",
    "PeriodCounts",
    "Reason",
    "ReasonCode",
    "Registry",
    "RegistryEntry",
    "RegistryError",
    "RegistryFile",
    "RegistryRow",
    "RuleSet",
    "RulesError",
    "Subject",
    "Subscriber",
    "TzHints",
    "TzResolution",
    "TzSource",
    "Window",
    "cap_key",
    "decide",
    "is_e164",
    "is_human_answer",
    "load_rules",
    "match_subjects",
    "normalize_phone",
    "parse_timezone",
    "read_registry_file",
    "resolve_timezone",
    "zone_info",
    "zones_for_text",
]
