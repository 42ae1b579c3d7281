"""Exception hierarchy of the dialer package."""

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class DialerError(Exception):
    """Base of every error raised by the dialer engine."""


class SettingsError(DialerError):
    """A setting is missing or invalid; the message names the setting."""


class DatabaseError(DialerError):
    """The database cannot be reached, started or migrated."""


class NotFoundError(DialerError):
    """A named object (campaign, trunk, company...) does not exist."""


class ConflictError(DialerError):
    """The requested change conflicts with stored state."""


class InvalidValueError(DialerError):
    """A value given by the user is invalid; `field` names the option or API field (e.g. `retry`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_choice(kind: type[E], value: str, field: str) -> E:
    """`value` as a member of `kind`, else an InvalidValueError naming `field` and the choices."""
    try:
        return kind(value)
    except ValueError:
        raise InvalidValueError(field, f"{value!r} is not one of {'|'.join(m.value for m in kind)}") from None
