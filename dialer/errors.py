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
