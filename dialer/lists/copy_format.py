"""Contact rows in PostgreSQL's COPY text format (tab-separated, backslash escapes, `\\N` for NULL)."""

from __future__ import annotations

import re

from compliance import TzResolution
from dialer.lists.model import ContactRow

CONTACT_COLUMNS = (
    "campaign_id",
    "call_list_id",
    "phone",
    "subscriber_key",
    "name",
    "extra",
    "timezone",
    "tz_source",
    "tz_candidates",
    "subscriber_zones",
)
NULL = "\\N"
_BY_ID_LIMIT = 4096

# PostgreSQL text cannot hold NUL; the other four would break the COPY text format.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": None})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r\x00]").search


def copy_text(value: str) -> str:
    """A user string as one COPY text field."""
    if value.isprintable() and "\\" not in value:
        return value  # what needs escaping is not printable, but for the backslash (a quick test)
    return value.translate(_ESCAPES) if _NEEDS_ESCAPE(value) else value


def copy_array(values: tuple[str, ...]) -> str:
    """A text[] literal of zone names (which hold no quotes, backslashes or braces)."""
    return "{" + ",".join(f'"{value}"' for value in values) + "}"


_NO_SUBSCRIBER_ZONES = f"\t{NULL}\n"


def zone_fields(zone: TzResolution) -> str:
    """The `timezone`, `tz_source` and `tz_candidates` fields, `subscriber_zones` NULL, and the line end."""
    return f"{zone.zone or NULL}\t{zone.source.value}\t{copy_array(zone.candidates)}{_NO_SUBSCRIBER_ZONES}"


def with_subscriber_zones(line: str, zones: tuple[str, ...]) -> str:
    """A contact's COPY line with the zones of all its subscriber's numbers (`subscriber_zones`)."""
    assert line.endswith(_NO_SUBSCRIBER_ZONES)
    return f"{line[: -len(_NO_SUBSCRIBER_ZONES)]}\t{copy_array(zones)}\n"


class ContactLines:
    """Formats contacts of one call list as COPY lines for `CONTACT_COLUMNS`."""

    def __init__(self, campaign_id: int, call_list_id: int) -> None:
        self._prefix = f"{campaign_id}\t{call_list_id}\t"
        # A list has few distinct zone resolutions: format each once.
        self._zones: dict[tuple[str | None, str, tuple[str, ...]], str] = {}
        # Resolutions are mostly shared objects (compliance caches them): found by identity first, which
        # spares hashing their fields. An entry holds its resolution alive, so no other object has its id.
        self._by_id: dict[int, tuple[TzResolution, str]] = {}

    def _tail(self, zone: TzResolution) -> str:
        key = (zone.zone, zone.source, zone.candidates)
        tail = self._zones.get(key)
        if tail is None:
            tail = self._zones[key] = zone_fields(zone)
        if len(self._by_id) >= _BY_ID_LIMIT:
            self._by_id.clear()
        self._by_id[id(zone)] = (zone, tail)
        return tail

    def line(self, contact: ContactRow) -> str:
        name = contact.name
        zone = contact.zone
        known = self._by_id.get(id(zone))
        tail = known[1] if known is not None else self._tail(zone)
        phone = contact.phone
        subscriber = contact.subscriber_key
        # copy_text's quick test, inline: most values have nothing to escape.
        if subscriber is not phone and not (subscriber.isprintable() and "\\" not in subscriber):
            subscriber = copy_text(subscriber)
        if name is None:
            name = NULL
        elif not (name.isprintable() and "\\" not in name):
            name = copy_text(name)
        # JSON escapes control characters itself; only its backslashes need doubling.
        extra = contact.extra_json.replace("\\", "\\\\")
        return f"{self._prefix}{phone}\t{subscriber}\t{name}\t{extra}\t{tail}"
