"""One exception tree for the `cdr` package, rooted at `CdrError`, so callers catch what they mean."""

from __future__ import annotations


class CdrError(Exception):
    """Base of every error raised by the `cdr` package."""


class CdrQueueFull(CdrError):
    """`submit` found the writer's bounded queue full (the database has been unreachable for long).

    The record was not queued. The caller may `await writer.put(record)` to wait for room instead;
    the row can also be rebuilt later from Asterisk's CDR by `reconcile`.
    """

    def __init__(self, message: str, *, pending: int) -> None:
        super().__init__(message)
        self.pending = pending


class CdrWriterClosed(CdrError):
    """A record was submitted after `aclose()`."""


class CdrEventError(CdrError, ValueError):
    """An Asterisk `Cdr` event cannot be turned into a row; the message names the field and value."""


class CdrQueryError(CdrError, ValueError):
    """A report query was given bad parameters (unknown company, period, missing parameter)."""


class CdrExportError(CdrError):
    """An export cannot be produced (unknown campaign, bad range, unwritable output).

    `field` names the filter field or option at fault (`campaign`, `since`, `until`, `output`) and
    `detail` says what is wrong with it; each caller words the two its own way (`--since ...` on the
    command line, the field of a 422 in the API).
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class CdrUnknownCampaignError(CdrExportError):
    """The export's campaign filter names no campaign."""
