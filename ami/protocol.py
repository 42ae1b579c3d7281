"""AMI wire protocol: bytes to `Message` objects and actions to bytes, with no I/O (h11 style).

The parser is incremental: feed it whatever `recv` returned (half a header, a multi-byte UTF-8
character cut in two, ten messages at once) and it yields each complete message exactly once.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping

from ami.errors import AmiProtocolError, UnsafeFieldError

__all__ = [
    "CONTROL_CHARACTERS",
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


class Message:
    """One AMI response or event; treat it as immutable.

    `name` is the event name (`Hangup`) or the response status (`Success`, `Error`, `Goodbye`).
    `get` tries the exact spelling first (the fast path: Asterisk spells each header the same way
    every time), then any case, because the same header differs across events (`Uniqueid` in
    Hangup, `UniqueID` in Cdr). The first of repeated headers wins; `fields` keeps every line in
    order, repeats included (`Output`, `ChanVariable`).
    """

    __slots__ = ("_folded", "fields", "headers", "kind", "name")

    def __init__(self, kind: MessageKind, name: str, fields: tuple[tuple[str, str], ...],
                 headers: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.name = name
        self.fields = fields
        # dict() keeps the last of repeated keys: feed it reversed so the first one wins.
        self.headers: Mapping[str, str] = headers if headers is not None else dict(reversed(fields))
        self._folded: dict[str, str] | None = None

    @classmethod
    def build(cls, fields: Iterable[tuple[str, str]]) -> Message:
        """A message from (name, value) pairs; the first `Event`/`Response` header gives its kind."""
        items = tuple(fields)
        message = cls(MessageKind.EVENT, "", items)
        kind, name = _classify(message)
        if kind is None:
            raise ValueError("a message needs an Event or Response header")
        message.kind, message.name = kind, name
        return message

    @property
    def is_event(self) -> bool:
        return self.kind is MessageKind.EVENT

    @property
    def is_response(self) -> bool:
        return self.kind is MessageKind.RESPONSE

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.headers.get(key)
        if value is not None:
            return value
        folded = self._folded
        if folded is None:
            folded = self._folded = {}
            for name, item in self.fields:
                folded.setdefault(name.lower(), item)
        value = folded.get(key.lower())
        return default if value is None else value

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.fields if name.lower() == wanted]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.kind, self.name, self.fields) == (other.kind, other.name, other.fields)

    def __hash__(self) -> int:
        return hash((self.kind, self.name, self.fields))

    def __repr__(self) -> str:
        return f"<Message {self.kind.value}={self.name!r} {dict(self.fields)!r}>"


def _classify(message: Message) -> tuple[MessageKind | None, str]:
    event = message.get("Event")
    if event is not None:
        return MessageKind.EVENT, event
    response = message.get("Response")
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

    __slots__ = ("_rest", "banner", "bytes_received", "malformed_lines", "malformed_messages",
                 "max_message_bytes", "messages_parsed")

    def __init__(self, *, expect_banner: bool = True,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._rest = b""
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
        return len(self._rest)

    def feed(self, data: bytes) -> list[Message]:
        """Add received bytes; return the messages they completed, in order."""
        self.bytes_received += len(data)
        buffer = self._rest + data if self._rest else bytes(data)
        if self.banner is None:
            buffer = self._take_banner(buffer)
            if self.banner is None:
                self._rest = buffer
                return []
        # One C-level pass for the usual case: every line ends with CRLF (Asterisk always does).
        crlf_only = buffer.count(b"\n") == buffer.count(b"\r\n")
        if not crlf_only:
            buffer = buffer.replace(b"\r\n", b"\n")
        blocks = buffer.split(_END if crlf_only else _END_LF)
        rest = blocks.pop()
        if len(rest) > self.max_message_bytes:
            raise AmiProtocolError(
                f"AMI message exceeds {self.max_message_bytes} bytes without a terminating empty line"
            )
        self._rest = rest
        out: list[Message] = []
        for block in blocks:
            if block:
                message = self._parse_block(block, crlf_only)
                if message is not None:
                    out.append(message)
        return out

    def _take_banner(self, buffer: bytes) -> bytes:
        """Consume the banner line if complete (setting `banner`); return what follows it."""
        line, newline, rest = buffer.partition(b"\n")
        if not newline:
            if len(buffer) > 1024:
                raise AmiProtocolError("no AMI banner line in the first 1024 bytes")
            return buffer
        text = line.decode("utf-8", "replace").rstrip("\r")
        if not text.startswith(_BANNER_PREFIX):
            raise AmiProtocolError(f"not an Asterisk manager banner: {text[:80]!r}")
        self.banner = text
        return rest

    def _parse_block(self, block: bytes, crlf_only: bool) -> Message | None:
        text = block.decode("utf-8", "replace")
        lines = text.split("\r\n" if crlf_only else "\n")
        # The hot path: every line is "Key: value", one partition each.
        pairs = [line.partition(": ") for line in lines]
        fields = [(key, value) for key, sep, value in pairs if sep and key]
        if len(fields) != len(pairs):
            fields = self._lenient_fields(lines)
        head = fields[0] if fields else ("", "")
        if head[0] == "Event":
            kind, name = MessageKind.EVENT, head[1]
            message = Message(kind, name, tuple(fields))
        elif head[0] == "Response":
            kind, name = MessageKind.RESPONSE, head[1]
            message = Message(kind, name, tuple(fields))
        else:
            message = Message(MessageKind.EVENT, "", tuple(fields))
            found, name = _classify(message)
            if found is None:
                self.malformed_messages += 1
                return None
            message.kind, message.name = found, name
        self.messages_parsed += 1
        return message

    def _lenient_fields(self, lines: list[str]) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        for line in lines:
            key, sep, value = line.partition(": ")
            if not sep:
                key, sep, value = line.partition(":")  # "Key:" or "Key:value"
            if not sep or not key.strip():
                if line:
                    self.malformed_lines += 1
                continue
            fields.append((key, value))
        return fields


# A header name as manager.c accepts it; values may not carry control characters, which would
# let a value end its line and smuggle in headers of its own (AMI header injection).
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
# What no AMI header value may hold (C0, DEL, C1): a CR/LF would end the header (injection).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# manager.c man_do_variable_value() splits a Variable header with AST_STANDARD_APP_ARGS: a comma
# starts another NAME=VALUE, quotes, brackets and backslashes are interpreted. Refuse them so a value
# can never set a second variable.
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VARIABLE_SPECIAL = re.compile(r"[,\"\\()\[\]]")
# Either of the above in one scan: the usual safe value costs one search; a hit is named below.
_VARIABLE_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f,\"\\()\[\]]")


def validate_header_name(name: str) -> str:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise UnsafeFieldError(f"AMI header name {name!r} is not a plain token")
    return name


def validate_value(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise UnsafeFieldError(f"AMI header {name}: value must be str, got {type(value).__name__}")
    bad = CONTROL_CHARACTERS.search(value)
    if bad is not None:
        raise UnsafeFieldError(
            f"AMI header {name}: value contains control character {bad.group()!r} at {bad.start()}"
        )
    return value


def validate_variable(name: str, value: str) -> str:
    """Check one channel variable for the Originate `Variable:` header; return `NAME=VALUE`."""
    if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
        raise UnsafeFieldError(f"channel variable name {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
    if isinstance(value, str) and _VARIABLE_UNSAFE.search(value) is None:
        return f"{name}={value}"
    validate_value(f"Variable {name}", value)
    bad = _VARIABLE_SPECIAL.search(value)
    if bad is not None:
        raise UnsafeFieldError(
            f"channel variable {name}: value contains {bad.group()!r}, which Asterisk would split on"
        )
    return f"{name}={value}"


# Header names (and action names) already checked: a dialer sends the same dozen all day.
_CHECKED_NAMES: set[str] = set()


def _check_name(name: str) -> None:
    if name not in _CHECKED_NAMES:
        validate_header_name(name)
        _CHECKED_NAMES.add(name)


def serialize_action(action: str, action_id: str, fields: Iterable[tuple[str, str]] = ()) -> bytes:
    """Encode an action; every name and value is checked first so nothing half-valid is sent."""
    pairs = [("Action", action), ("ActionID", action_id), *fields]
    try:
        values: str | None = "".join([value for _, value in pairs])  # TypeError: a value is not a str
    except TypeError:
        values = None
    # The usual action: every name already checked, every value a str. Anything else takes the
    # header-by-header check, which names the first header at fault.
    if values is None or action not in _CHECKED_NAMES or not _CHECKED_NAMES.issuperset([n for n, _ in pairs]):
        _check_name(action)
        for name, value in pairs:
            _check_name(name)
            if not isinstance(value, str):
                validate_value(name, value)  # raises, naming the header
        values = "".join([value for _, value in pairs])
    # One scan of all the values for control characters; the header at fault is then named by the
    # per-value check.
    if CONTROL_CHARACTERS.search(values) is not None:
        for name, value in pairs:
            validate_value(name, value)
    return ("\r\n".join([f"{name}: {value}" for name, value in pairs]) + "\r\n\r\n").encode()


def iter_messages(data: bytes, *, expect_banner: bool = True) -> Iterator[Message]:
    """Parse a complete recorded stream (fixtures, tools)."""
    parser = Parser(expect_banner=expect_banner)
    yield from parser.feed(data)
