"""One exception tree for the AMI layer, rooted at `AmiError`, so callers catch what they mean."""

from __future__ import annotations


class AmiError(Exception):
    """Base of every error raised by the `ami` package."""


class AmiProtocolError(AmiError):
    """The byte stream from Asterisk cannot be parsed (e.g. a message beyond the size limit)."""


class UnsafeFieldError(AmiError, ValueError):
    """A header name or value would inject AMI headers (CR, LF, other control characters)."""


class AmiConnectionError(AmiError):
    """No AMI session could be established (refused, unreachable, bad banner)."""


class AmiAuthError(AmiConnectionError):
    """Asterisk refused the Login (wrong user/secret or missing permission)."""


class AmiConnectionLost(AmiConnectionError):
    """The AMI session dropped while an action waited for its answer.

    The action is never re-sent by us: it may or may not have reached Asterisk. For an Originate,
    `channel_id` names the call so the caller can ask Asterisk whether it exists
    (`AmiClient.find_channels`).
    """

    def __init__(self, message: str, *, action: str | None = None, channel_id: str | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.channel_id = channel_id


class AmiTimeout(AmiError, TimeoutError):
    """An action (or AGI command) got no answer within its timeout."""

    def __init__(self, message: str, *, action: str | None = None, channel_id: str | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.channel_id = channel_id


class AmiActionError(AmiError):
    """Asterisk answered an action with `Response: Error`."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action} refused by Asterisk: {message}")
        self.action = action
        self.reason = message


class OriginateRejected(AmiActionError):
    """Asterisk refused the Originate itself (bad channel, duplicate ChannelId...): nothing was dialled."""

    def __init__(self, channel_id: str, message: str) -> None:
        super().__init__("Originate", message)
        self.channel_id = channel_id


class AmiClosed(AmiError):
    """The client was closed (or not opened) when the call was made."""


class AgiError(AmiError):
    """Base of FastAGI session errors."""


class AgiHangup(AgiError):
    """The channel hung up during the AGI session (Asterisk sent `HANGUP` or closed the socket)."""


class AgiCommandError(AgiError):
    """Asterisk answered an AGI command with 510/520 or another non-200 code."""

    def __init__(self, command: str, code: int, message: str) -> None:
        super().__init__(f"AGI command {command!r} failed: {code} {message}")
        self.command = command
        self.code = code
        self.message = message


class AgiProtocolError(AgiError):
    """The AGI request or a reply could not be parsed."""


class AgiTimeout(AgiError, AmiTimeout):
    """An AGI command got no reply within its timeout."""
