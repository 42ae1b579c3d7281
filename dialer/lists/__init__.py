"""Call lists: streaming import of CSV/XLSX files into a campaign's contacts.

The CLI (`dialer lists import`) and the HTTP API call the same function, `import_call_list`.
"""

from dialer.lists.errors import (
    CallListError,
    ConcurrentImportError,
    CorruptWorkbookError,
    EmptyFileError,
    MissingColumnError,
    SheetNotFoundError,
    StoppedCampaignError,
    UnknownCampaignError,
    UnknownCompanyError,
    UnreadableEncodingError,
)
from dialer.lists.excel_safety import escape_formula, looks_like_formula
from dialer.lists.importer import import_call_list
from dialer.lists.model import (
    ImportOptions,
    ImportProgress,
    ImportSummary,
    ProgressCallback,
    Reject,
    RejectReason,
)
from dialer.lists.phones import PhoneError, normalize, split_cell

__all__ = [
    "CallListError",
    "ConcurrentImportError",
    "CorruptWorkbookError",
    "EmptyFileError",
    "ImportOptions",
    "ImportProgress",
    "ImportSummary",
    "MissingColumnError",
    "PhoneError",
    "ProgressCallback",
    "Reject",
    "RejectReason",
    "SheetNotFoundError",
    "StoppedCampaignError",
    "UnknownCampaignError",
    "UnknownCompanyError",
    "UnreadableEncodingError",
    "escape_formula",
    "import_call_list",
    "looks_like_formula",
    "normalize",
    "split_cell",
]
