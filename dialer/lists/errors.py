"""Errors that fail a whole call list (or do-not-call) file; single bad rows are rejects, not errors."""

from __future__ import annotations

from dialer.errors import ConflictError, DialerError, NotFoundError


class CallListError(DialerError):
    """Base of errors that reject a whole file: nothing of it is stored."""


class EmptyFileError(CallListError):
    """The file has no data rows."""

    @classmethod
    def under_header(cls, where: str, header_row: int) -> EmptyFileError:
        """A header row and nothing under it."""
        return cls(f"{where}: no data rows under the header (row {header_row})")


class UnreadableEncodingError(CallListError):
    """The text is in none of the encodings read: UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1251, KOI8-R."""


class CorruptWorkbookError(CallListError):
    """An XLSX/XLS/ODS file that cannot be opened or read."""


class SheetNotFoundError(CallListError):
    """`--sheet` names a sheet the workbook does not have, or is given for a text file (no sheets)."""


class MissingColumnError(CallListError):
    """A required column (the phone column, or an explicitly named subscriber column) is absent."""


class UnknownCampaignError(CallListError, NotFoundError):
    """The campaign named for the import does not exist."""


class StoppedCampaignError(ConflictError):
    """The campaign named for the import is stopped (final): nothing would ever dial its contacts."""


class UnknownCompanyError(CallListError, NotFoundError):
    """The company named for a do-not-call change does not exist."""


class ConcurrentImportError(CallListError):
    """Contacts of the campaign were written by someone else during the import; nothing was stored."""
