"""Exception hierarchy of the dialer package."""


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
