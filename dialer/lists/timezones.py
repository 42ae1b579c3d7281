"""Time zone of each imported number, through compliance's resolver (explicit hints, registry, ...).

Explicit hints do not depend on the number, so their resolution is cached per distinct hint: a list
whose rows all say `Asia/Omsk` parses that once. Without hints the number decides (compliance's
NumberZones, which remembers registry blocks).
"""

from __future__ import annotations

from compliance import (
    InvalidTimezoneError,
    NumberZones,
    Registry,
    TzHints,
    TzResolution,
    TzSource,
    resolve_timezone,
)

_CACHE_LIMIT = 4096


class ZoneResolver:
    """`resolve(phone, hints)` for one import; raises InvalidTimezoneError for an unusable zone cell."""

    def __init__(self, registry: Registry | None) -> None:
        self._registry = registry
        self._explicit: dict[TzHints, TzResolution | None] = {}
        self.numbers = NumberZones(registry)  # where the number alone decides
        self._by_number = self.numbers.resolve

    @property
    def registry(self) -> Registry | None:
        """The numbering registry of this import, if any."""
        return self._registry

    def resolve(self, phone: str, hints: TzHints | None) -> TzResolution:
        if hints is None:
            return self._by_number(phone)
        if hints not in self._explicit:
            resolution = self._resolve_with_hints(phone, hints)
            explicit = resolution if resolution.source is TzSource.EXPLICIT else None
            if len(self._explicit) >= _CACHE_LIMIT:
                self._explicit.clear()
            self._explicit[hints] = explicit
            return resolution
        cached = self._explicit[hints]
        if cached is None:
            # The hints name no zone: the number decides.
            return self._by_number(phone)
        return cached

    def _resolve_with_hints(self, phone: str, hints: TzHints) -> TzResolution:
        try:
            return resolve_timezone(phone, hints, self._registry)
        except InvalidTimezoneError:
            # A "time zone" column often holds a region or city ("Новосибирская обл."): read it so.
            assert hints.timezone is not None
            as_region = TzHints(None, hints.region or hints.timezone, hints.address)
            if hints.region:
                as_region = TzHints(None, hints.region, hints.address or hints.timezone)
            resolution = resolve_timezone(phone, as_region, self._registry)
            if resolution.source is not TzSource.EXPLICIT:
                raise
            return resolution
