"""One data row to contacts and rejects (pure: no I/O besides the zone resolver's in-memory registry).

Every phone value found counts once: a valid one becomes a contact candidate, an invalid one a reject.
A row with cells but no phone value is one `empty-phone` reject; a row of blank cells is skipped.
"""

from __future__ import annotations

import json

from compliance import InvalidTimezoneError, TzHints
from dialer.lists.columns import ColumnPlan
from dialer.lists.csv_reader import has_bad_bytes
from dialer.lists.model import ContactRow, Reject, RejectReason
from dialer.lists.phones import PhoneError, normalize, split_cell
from dialer.lists.timezones import ZoneResolver

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class RowInterpreter:
    """Applies a column plan to rows; appends to the caller's `contacts` and `rejects` lists."""

    def __init__(self, plan: ColumnPlan, zones: ZoneResolver) -> None:
        self.plan = plan
        self._zones = zones
        self._width = plan.width
        self._phones = [(index, plan.header(index)) for index in plan.phones]
        self._extra = plan.extra
        self._has_hints = any(i is not None for i in (plan.timezone, plan.region, plan.address))

    def interpret(
        self, row: int, cells: list[str], check_bytes: bool, contacts: list[ContactRow], rejects: list[Reject]
    ) -> int:
        """Append the row's contacts and rejects; return how many phone values it counts for (total)."""
        if len(cells) < self._width:
            if not any(cells):
                return 0
            cells = cells + [""] * (self._width - len(cells))
        values = [(column, part) for index, column in self._phones for part in split_cell(cells[index])]
        if not values:
            if not any(cell.strip() for cell in cells):
                return 0
            rejects.append(
                Reject(row, self._phones[0][1], "", RejectReason.EMPTY_PHONE, "no phone number in the row")
            )
            return 1
        if check_bytes and has_bad_bytes(cells):
            for column, raw in values:
                rejects.append(
                    Reject(row, column, raw, RejectReason.BAD_ENCODING, "bytes not valid in the file's encoding")
                )
            return len(values)
        extra_json: str | None = None
        for column, raw in values:
            phone = normalize(raw)
            if isinstance(phone, PhoneError):
                rejects.append(Reject(row, column, raw, RejectReason.INVALID_NUMBER, phone.message))
                continue
            try:
                zone = self._zones.resolve(phone, self._hints(cells) if self._has_hints else None)
            except InvalidTimezoneError as exc:
                rejects.append(Reject(row, column, raw, RejectReason.INVALID_TIMEZONE, str(exc)))
                continue
            if extra_json is None:
                extra_json = self._extra_json(cells)
            contacts.append(
                ContactRow(
                    row,
                    column,
                    raw,
                    phone,
                    self._subscriber(cells) or phone,
                    self._name(cells),
                    extra_json,
                    zone.zone,
                    zone.source.value,
                    zone.candidates,
                )
            )
        return len(values)

    def _hints(self, cells: list[str]) -> TzHints | None:
        plan = self.plan
        timezone = cells[plan.timezone].strip() or None if plan.timezone is not None else None
        region = cells[plan.region].strip() or None if plan.region is not None else None
        address = cells[plan.address].strip() or None if plan.address is not None else None
        if timezone is None and region is None and address is None:
            return None
        return TzHints(timezone, region, address)

    def _subscriber(self, cells: list[str]) -> str | None:
        index = self.plan.subscriber
        return cells[index].strip() or None if index is not None else None

    def _name(self, cells: list[str]) -> str | None:
        index = self.plan.name
        return cells[index].strip() or None if index is not None else None

    def _extra_json(self, cells: list[str]) -> str:
        extra = {key: cells[index] for key, index in self._extra}
        if len(cells) > self._width:
            # Cells past the header still belong to the row: keep the non-empty ones.
            for index in range(self._width, len(cells)):
                if cells[index]:
                    extra[f"column{index + 1}"] = cells[index]
        text = _dumps(extra)
        if "\\u0000" in text:
            # PostgreSQL text and jsonb cannot hold NUL.
            text = _dumps({key: value.replace("\x00", "") for key, value in extra.items()})
        return text
