"""Values of a call-list import: options in, per-number outcomes, progress, the summary out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance import Registry, TzResolution


class RejectReason(StrEnum):
    """Why a phone value of the file did not become a contact (the reject report's `reason`).

    Two reasons are notes, not rejects, counted nowhere: `quote-repaired` marks a row read with a
    repair (of an unclosed quote, see csv_reader) whose numbers went on as usual; `header-repeated` a
    row that is the header again (exports joined together), skipped.
    """

    EMPTY_PHONE = "empty-phone"
    INVALID_NUMBER = "invalid-number"
    INVALID_TIMEZONE = "invalid-timezone"
    BAD_ENCODING = "bad-encoding"
    QUOTED_CELL_TOO_LONG = "quoted-cell-too-long"
    DNC = "dnc"
    DUPLICATE_IN_FILE = "duplicate-in-file"
    DUPLICATE_EXISTING = "duplicate-existing"
    QUOTE_REPAIRED = "quote-repaired"
    HEADER_REPEATED = "header-repeated"

    @property
    def is_invalid(self) -> bool:
        return self in _INVALID

    @property
    def is_duplicate(self) -> bool:
        return self in (RejectReason.DUPLICATE_IN_FILE, RejectReason.DUPLICATE_EXISTING)

    @property
    def is_note(self) -> bool:
        """A line of the report about a row, not a phone value left out."""
        return self is RejectReason.QUOTE_REPAIRED or self is RejectReason.HEADER_REPEATED


_INVALID = frozenset(
    {
        RejectReason.EMPTY_PHONE,
        RejectReason.INVALID_NUMBER,
        RejectReason.INVALID_TIMEZONE,
        RejectReason.BAD_ENCODING,
        RejectReason.QUOTED_CELL_TOO_LONG,
    }
)


@dataclass(frozen=True, slots=True)
class Reject:
    """One phone value left out: where it was, what it said, why (or a note on a row, see RejectReason)."""

    row: int
    column: str
    value: str
    reason: RejectReason
    message: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What a reader found wrong in a row's text: `field` (0-based) is the cell; with a note reason the
    row was read with a repair and goes on, with any other reason its phone values are rejected."""

    field: int
    reason: RejectReason
    message: str


@dataclass(slots=True)
class ContactRow:
    """One phone value that becomes a contact, unless the database finds it a duplicate or on DNC."""

    row: int
    column: str
    raw: str
    phone: str  # E.164
    subscriber_key: str
    name: str | None
    extra_json: str  # the row's other columns, JSON text
    zone: TzResolution


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read and where to report; every field has a default that suits the CLI and the API.

    `subscriber_column` overrides the campaign's; when given explicitly it must exist in the file.
    `reject_report` is the report's path; else `<reports_dir>/<campaign>-<UTC timestamp>-rejects.csv`.
    `registry` resolves Russian numbers' zones (build it once per process: `Registry.from_files`).
    `filename` names an uploaded stream (stored in call_lists and used in messages).
    """

    subscriber_column: str | None = None
    sheet: str | None = None
    reject_report: Path | None = None
    reports_dir: Path | None = None  # None: $DIALER_HOME/reports
    registry: Registry | None = None
    filename: str | None = None
    chunk_rows: int = 20_000


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where the import is: data rows read, and position of `size` (bytes for CSV, rows for workbooks)."""

    rows: int
    numbers: int
    position: int
    size: int
    phase: str  # "reading", "finishing"


ProgressCallback = Callable[[ImportProgress], None]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did. `total` counts phone values found (several per row are several)."""

    call_list_id: int
    campaign: str
    filename: str
    source_format: str
    rows: int
    total: int
    imported: int
    duplicates_in_file: int
    duplicates_existing: int
    invalid: int
    dnc: int
    timezone_unknown: int
    reject_report: Path
    seconds: float
    unread_sheets: tuple[str, ...] = ()  # other sheets of the workbook that hold a list too

    @property
    def duplicates(self) -> int:
        return self.duplicates_in_file + self.duplicates_existing

    def as_json(self) -> dict[str, Any]:
        """The CLI/API contract, exactly these keys."""
        return {
            "total": self.total,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "dnc": self.dnc,
            "timezone_unknown": self.timezone_unknown,
            "reject_report": str(self.reject_report),
        }
