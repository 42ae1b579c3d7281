"""One data row to contacts and rejects (pure: no I/O besides the zone resolver's in-memory registry).

Every phone value found counts once: a valid one becomes a contact candidate, an invalid one a reject.
A row with cells but no phone value is one `empty-phone` reject; a row of blank cells is skipped. A
placeholder (`-`, `нет`, `n/a`, see `phones.is_placeholder`) is no phone value.
This runs once per row of million-row files, hence the ready JSON frame and inlined lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring  # the C-accelerated string encoder of json
from operator import itemgetter

from compliance import InvalidPhoneError, InvalidTimezoneError, Registry, TzHints
from dialer.lists.columns import ColumnPlan, is_phone_header
from dialer.lists.csv_reader import has_bad_bytes
from dialer.lists.excel_safety import unescape_formula
from dialer.lists.model import ContactRow, Reject, RejectReason, RowProblem
from dialer.lists.phones import DEFAULT_REGION, PhoneError, is_placeholder, may_hold_several, normalize, split_cell
from dialer.lists.timezones import ZoneResolver

_NO_PHONE = "no phone number in the row"


def extra_json(pairs: list[tuple[str, str]]) -> str:
    """A JSON object of string values, as json.dumps(ensure_ascii=False) writes it, minus NULs."""
    # PostgreSQL text and jsonb cannot hold NUL.
    return "{" + ",".join(_json_string(key) + ":" + _json_string(value) for key, value in pairs) + "}"


def _json_string(value: str) -> str:
    return encode_basestring(value.replace("\x00", ""))


def with_area_code(raw: str, code: str, registry: Registry | None) -> str | None:
    """A local number (`123-45-67`) read with its row's area code (`495`, `(8452)`), or None when there
    is no code, the value starts with `+`, or the two together are no valid number."""
    code = code.strip()
    if not code or raw.lstrip()[:1] == "+":
        return None
    joined = normalize(f"{code} {raw}", DEFAULT_REGION, registry)
    return None if isinstance(joined, PhoneError) else joined


def _json_frame(keys: list[str]) -> list[str]:
    """`{"key1":"`, value, `","key2":"`, value, ..., `"}`: a JSON object of values that need no escaping.

    The values go to the odd places. One interpreter reads one file in one thread: it fills its own list.
    """
    if not keys:
        return ["{}"]
    parts: list[str] = []
    for n, key in enumerate(keys):
        parts += [("{" if n == 0 else '",') + _json_string(key) + ':"', ""]
    return [*parts, '"}']


def _cells_getter(indexes: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    if len(indexes) >= 2:
        return itemgetter(*indexes)
    if indexes:
        [index] = indexes
        return lambda cells: (cells[index],)
    return lambda cells: ()


class RowInterpreter:
    """Applies a column plan to rows; appends to the caller's `contacts` and `rejects` lists."""

    def __init__(self, plan: ColumnPlan, zones: ZoneResolver) -> None:
        self.plan = plan
        self._resolve = zones.resolve
        self._resolve_number = zones.numbers.resolve
        self._registry = zones.registry  # a +7 number in its ranges is valid even if libphonenumber disagrees
        self._width = plan.width
        self._phones = [(index, plan.header(index)) for index in plan.phones]
        self._extra_cells = _cells_getter([index for _, index in plan.extra])
        self._extra_parts = _json_frame([key for key, _ in plan.extra])
        self._hint_columns = (plan.timezone, plan.region, plan.address)
        self._has_hints = any(i is not None for i in self._hint_columns)
        self._subscriber = plan.subscriber
        self._name = plan.name[0] if len(plan.name) == 1 else None
        self._name_parts = plan.name if len(plan.name) > 1 else ()
        self._area_code = plan.area_code

    def interpret(
        self,
        row: int,
        cells: list[str],
        check_bytes: bool,
        contacts: list[ContactRow],
        rejects: list[Reject],
        problem: RowProblem | None = None,
    ) -> int:
        """Append the row's contacts and rejects; return how many phone values it counts for (total).

        `problem`, from the reader: a note is added after the row's own outcome, or the row is rejected.
        """
        if problem is not None:
            return self._with_problem(row, cells, check_bytes, contacts, rejects, problem)
        if len(cells) < self._width:
            if not any(cells):
                return 0
            cells = cells + [""] * (self._width - len(cells))
        values: list[tuple[str, str]] = []
        for index, column in self._phones:
            cell = cells[index]
            if may_hold_several(cell):
                values.extend((column, part) for part in split_cell(cell))
            elif cell := cell.strip():
                values.append((column, cell))
        if not values:
            if not any(cell.strip() for cell in cells):
                return 0
            rejects.append(
                Reject(row, self._phones[0][1], "", RejectReason.EMPTY_PHONE, _NO_PHONE)
            )
            return 1
        if check_bytes and has_bad_bytes(cells):
            for column, raw in values:
                rejects.append(
                    Reject(row, column, raw, RejectReason.BAD_ENCODING, "bytes not valid in the file's encoding")
                )
            return len(values)
        extra: str | None = None
        subscriber = ""
        name: str | None = None
        hints: TzHints | None = None
        if self._has_hints:
            hints = self._hints(cells)
        registry = self._registry
        placeholders = 0
        for column, raw in values:
            phone = normalize(raw, DEFAULT_REGION, registry)
            if isinstance(phone, PhoneError) and self._area_code is not None:
                phone = with_area_code(raw, cells[self._area_code], self._registry) or phone
            if isinstance(phone, PhoneError):
                # The row's first value a column name: the header again (checked only on this rare path).
                if (column, raw) == values[0] and is_phone_header(raw):
                    rejects.append(Reject(row, column, raw, RejectReason.HEADER_REPEATED,
                                          "the header row again (files joined together?): skipped"))
                    return 0
                if is_placeholder(raw):
                    placeholders += 1
                    continue
                rejects.append(Reject(row, column, raw, RejectReason.INVALID_NUMBER, phone.message))
                continue
            try:
                zone = self._resolve_number(phone) if hints is None else self._resolve(phone, hints)
            except InvalidTimezoneError as exc:
                rejects.append(Reject(row, column, raw, RejectReason.INVALID_TIMEZONE, str(exc)))
                continue
            except InvalidPhoneError as exc:
                rejects.append(Reject(row, column, raw, RejectReason.INVALID_NUMBER, exc.reason))
                continue
            if extra is None:
                extra = self._extra_json(cells)
                if self._subscriber is not None:
                    subscriber = unescape_formula(cells[self._subscriber].strip())
                # Without an id, a row's numbers are one person's, known by the first of them.
                subscriber = subscriber or phone
                if self._name is not None:
                    name = unescape_formula(cells[self._name].strip()) or None
                elif self._name_parts:
                    name = " ".join(part for i in self._name_parts
                                    if (part := unescape_formula(cells[i].strip()))) or None
            contacts.append(
                ContactRow(row, column, raw, phone, subscriber, name, extra, zone)
            )
        if placeholders == len(values):
            rejects.append(Reject(row, values[0][0], values[0][1], RejectReason.EMPTY_PHONE,
                                  _NO_PHONE))
            return 1
        return len(values) - placeholders

    def _with_problem(
        self,
        row: int,
        cells: list[str],
        check_bytes: bool,
        contacts: list[ContactRow],
        rejects: list[Reject],
        problem: RowProblem,
    ) -> int:
        column = self.plan.header(problem.field)
        if problem.reason.is_note:
            counted = self.interpret(row, cells, check_bytes, contacts, rejects)
            value = cells[problem.field] if problem.field < len(cells) else ""
            rejects.append(Reject(row, column, _shown(value), problem.reason, problem.message))
            return counted
        values = [
            (name, part) for index, name in self._phones if index < len(cells) for part in split_cell(cells[index])
        ]
        if not values:
            if not any(cell.strip() for cell in cells):
                return 0
            values = [(column, "")]
        rejects.extend(Reject(row, name, raw, problem.reason, problem.message) for name, raw in values)
        return len(values)

    def header_note(self, row: int, problem: RowProblem) -> Reject:
        """The note on a problem in the header row or a title row above it (no data row, nothing left out)."""
        column = self.plan.header(problem.field) if row == self.plan.header_row else f"column{problem.field + 1}"
        return Reject(row, column, "", RejectReason.QUOTE_REPAIRED, problem.message)

    def _hints(self, cells: list[str]) -> TzHints | None:
        timezone, region, address = (
            (unescape_formula(cells[index].strip()) or None) if index is not None else None
            for index in self._hint_columns
        )
        if timezone is None and region is None and address is None:
            return None
        return TzHints(timezone, region, address)

    def _extra_json(self, cells: list[str]) -> str:
        values = self._extra_cells(cells)
        joined = "".join(values)
        if "'" in joined:  # a formula guard of a CSV export, undone (`unescape_formula`)
            values = tuple(map(unescape_formula, values))
            joined = "".join(values)
        # encode_basestring writes a character as itself unless it escapes it (as two or more): the same
        # length plus the quotes means that no value needs escaping.
        if len(encode_basestring(joined)) == len(joined) + 2 and len(cells) <= self._width:
            parts = self._extra_parts
            parts[1::2] = values
            return "".join(parts)
        pairs = [(key, unescape_formula(cells[index])) for key, index in self.plan.extra]
        # Cells past the header still belong to the row: keep the non-empty ones.
        pairs.extend((f"column{index + 1}", unescape_formula(cells[index]))
                     for index in range(self._width, len(cells)) if cells[index])
        return extra_json(pairs)


def _shown(value: str, limit: int = 200) -> str:
    """A cell as the report shows it: long ones cut (a note's cell may be a whole line)."""
    return value if len(value) <= limit else value[:limit] + "…"
