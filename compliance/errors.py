"""Exception hierarchy of the compliance package: callers catch `ComplianceError` or a precise subclass."""

from __future__ import annotations


class ComplianceError(Exception):
    """Base of every error raised by `compliance`."""


class InvalidPhoneError(ComplianceError, ValueError):
    """A phone number is not a valid E.164 number (or cannot be normalized to one).

    `reason` says why without the number itself (for reject reports); it defaults to the message.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


class InvalidTimezoneError(ComplianceError, ValueError):
    """An explicit time zone (IANA name or UTC offset) cannot be understood."""


class RegistryError(ComplianceError):
    """A numbering registry file or row is malformed; the message names the file, line and field."""


class RulesError(ComplianceError):
    """A rule set is unknown or a TOML rule file is invalid; the message names the file and key."""
