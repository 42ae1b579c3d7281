"""AMI wire protocol: bytes to `Message` objects and actions to bytes, with no I/O (h11 style).

The parser is incremental: feed it whatever `recv` returned (half a header, a multi-byte UTF-8
character cut in two, ten messages at once) and it yields each complete message exactly once.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ami.errors import AmiProtocolError, UnsafeFieldError

__all__ = [
    "Message",
    "MessageKind",
    "Parser",
    "serialize_action",
    "validate_header_name",
    "validate_value",
    "validate_variable",
]

# AMI frames: header lines end with CRLF, a message ends with an empty line (manager.c).
_END = b"\r\n\r\n"
# Tolerated from broken peers and hand-written fixtures; Asterisk itself always sends CRLF.
_END_LF = b"\n\n"
_BANNER_PREFIX = "Asterisk Call Manager/"
DEFAULT_MAX_MESSAGE_BYTES = 1 << 20


class MessageKind(enum.Enum):
    RESPONSE = "Response"
    EVENT = "Event"


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI response or event.

    `name` is the event name (`Hangup`) or the response status (`Success`, `Error`, `Goodbye`).
    Lookups are case-insensitive because Asterisk spells the same header differently across events
    (`Uniqueid` in Hangup, `UniqueID` in Cdr). `fields` keeps every line in order, repeats included
    (`Output`, `ChanVariable`).
    """

    kind: MessageKind
    name: str
    fields: tuple[tuple[str, str], ...]
    index: Mapping[str, str]

    @classmethod
    def build(cls, fields: Iterable[tuple[str, str]]) -> Message:
        """A message from (name, value) pairs; the first `Event`/`Response` header gives its kind."""
        items = tuple(fields)
        index: dict[str, str] = {}
        for key, value in items:
            index.setdefault(key.lower(), value)
        kind, name = _classify(index)
        if kind is None:
            raise ValueError("a message needs an Event or Response header")
        return cls(kind, name, items, index)

    @property
    def is_event(self) -> bool:
        return self.kind is MessageKind.EVENT

    @property
    def is_response(self) -> bool:
        return self.kind is MessageKind.RESPONSE

    @property
    def action_id(self) -> str | None:
        return self.index.get("actionid")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.index.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self.index[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self.index

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.fields if name.lower() == wanted]

    def __repr__(self) -> str:
        return f"<Message {self.kind.value}={self.name!r} {dict(self.fields)!r}>"


def _classify(index: Mapping[str, str]) -> tuple[MessageKind | None, str]:
    event = index.get("event")
    if event is not None:
        return MessageKind.EVENT, event
    response = index.get("response")
    if response is not None:
        return MessageKind.RESPONSE, response
    return None, ""


class Parser:
    """Incremental AMI parser.

    Bytes are buffered until a full message (terminated by an empty line) is present and only then
    decoded, so a UTF-8 sequence split across reads is never broken. Invalid UTF-8 (Asterisk passes
    caller names through as they came from the network) is replaced, not fatal. A line without a
    colon is counted in `malformed_lines` and skipped; a block without Event/Response is counted in
    `malformed_messages` and skipped. A message larger than `max_message_bytes` raises
    `AmiProtocolError`: the stream is out of sync and the connection must be dropped.
    """

    __slots__ = ("_buf", "_scan_from", "banner", "bytes_received", "malformed_lines",
                 "malformed_messages", "max_message_bytes", "messages_parsed")

    def __init__(self, *, expect_banner: bool = True,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._buf = bytearray()
        self._scan_from = 0
        # None while the banner line is still awaited; "" when no banner is expected.
        self.banner: str | None = None if expect_banner else ""
        self.max_message_bytes = max_message_bytes
        self.malformed_lines = 0
        self.malformed_messages = 0
        self.messages_parsed = 0
        self.bytes_received = 0

    @property
    def version(self) -> str | None:
        """Protocol version from the banner (`Asterisk Call Manager/9.0.0` -> `9.0.0`)."""
        if not self.banner:
            return None
        return self.banner[len(_BANNER_PREFIX):] if self.banner.startswith(_BANNER_PREFIX) else None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        """Add received bytes; return the messages they completed, in order."""
        self.bytes_received += len(data)
        buf = self._buf
        buf += data
        if self.banner is None and not self._take_banner():
            return []
        out: list[Message] = []
        start = 0
        scan = self._scan_from
        lf_end = buf.find(_END_LF, scan)
        while True:
            end = buf.find(_END, scan)
            if lf_end != -1 and lf_end < start:
                lf_end = buf.find(_END_LF, start)
            if lf_end != -1 and (end == -1 or lf_end < end):
                end, skip = lf_end, 2
            elif end != -1:
                skip = 4
            else:
                break
            if end > start:
                message = self._parse_block(bytes(buf[start:end]))
                if message is not None:
                    out.append(message)
            start = end + skip
            scan = start
        if start:
            del buf[:start]
        # Resume the next search just before the tail, where a terminator may be completing.
        self._scan_from = max(0, len(buf) - 3)
        if len(buf) > self.max_message_bytes:
            raise AmiProtocolError(
                f"AMI message exceeds {self.max_message_bytes} bytes without a terminating empty line"
            )
        return out

    def _take_banner(self) -> bool:
        buf = self._buf
        newline = buf.find(b"\n")
        if newline == -1:
            if len(buf) > 1024:
                raise AmiProtocolError("no AMI banner line in the first 1024 bytes")
            return False
        line = bytes(buf[:newline]).decode("utf-8", "replace").rstrip("\r")
        del buf[: newline + 1]
        if not line.startswith(_BANNER_PREFIX):
            raise AmiProtocolError(f"not an Asterisk manager banner: {line[:80]!r}")
        self.banner = line
        return True

    def _parse_block(self, block: bytes) -> Message | None:
        text = block.decode("utf-8", "replace")
        # Asterisk ends lines with CRLF; a bare LF somewhere means a hand-made or broken peer.
        crlf_only = text.count("\n") == text.count("\r\n")
        lines = text.split("\r\n") if crlf_only else text.replace("\r\n", "\n").split("\n")
        fields: list[tuple[str, str]] = []
        index: dict[str, str] = {}
        for line in lines:
            # The hot path is one partition: "Key: value".
            key, sep, value = line.partition(": ")
            if not sep:
                key, sep, value = line.partition(":")  # "Key:" or "Key:value"
            if not sep or not key or " " in key:
                if line:
                    self.malformed_lines += 1
                continue
            fields.append((key, value))
            lowered = key.lower()
            if lowered not in index:
                index[lowered] = value
        kind, name = _classify(index)
        if kind is None:
            self.malformed_messages += 1
            return None
        self.messages_parsed += 1
        return Message(kind, name, tuple(fields), index)


# A header name as manager.c accepts it; values may not carry control characters, which would
# let a value end its line and smuggle in headers of its own (AMI header injection).
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# manager.c man_do_variable_value() splits a Variable header with AST_STANDARD_APP_ARGS: a comma
# starts another NAME=VALUE, quotes, brackets and backslashes are interpreted. Refuse them so a value
# can never set a second variable.
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VARIABLE_SPECIAL = re.compile(r"[,\"\\()\[\]]")


def validate_header_name(name: str) -> str:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise UnsafeFieldError(f"AMI header name {name!r} is not a plain token")
    return name


def validate_value(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise UnsafeFieldError(f"AMI header {name}: value must be str, got {type(value).__name__}")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise UnsafeFieldError(
            f"AMI header {name}: value contains control character {bad.group()!r} at {bad.start()}"
        )
    return value


def validate_variable(name: str, value: str) -> str:
    """Check one channel variable for the Originate `Variable:` header; return `NAME=VALUE`."""
    if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
        raise UnsafeFieldError(f"channel variable name {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
    validate_value(f"Variable {name}", value)
    bad = _VARIABLE_SPECIAL.search(value)
    if bad is not None:
        raise UnsafeFieldError(
            f"channel variable {name}: value contains {bad.group()!r}, which Asterisk would split on"
        )
    return f"{name}={value}"


def serialize_action(action: str, action_id: str, fields: Iterable[tuple[str, str]] = ()) -> bytes:
    """Encode an action; every name and value is checked first so nothing half-valid is sent."""
    parts = [
        "Action: ", validate_value("Action", validate_header_name(action)), "\r\n",
        "ActionID: ", validate_value("ActionID", action_id), "\r\n",
    ]
    for name, value in fields:
        validate_header_name(name)
        parts += (name, ": ", validate_value(name, value), "\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def iter_messages(data: bytes, *, expect_banner: bool = True) -> Iterator[Message]:
    """Parse a complete recorded stream (fixtures, tools)."""
    parser = Parser(expect_banner=expect_banner)
    yield from parser.feed(data)
