"""Names users give campaigns and companies: printable, trimmed, usable in a URL path segment."""

from __future__ import annotations

import unicodedata

from dialer.errors import InvalidValueError

__all__ = ["MAX_NAME_LENGTH", "validate_name"]

MAX_NAME_LENGTH = 200


def validate_name(name: str, *, field_name: str = "name") -> str:
    """The name unchanged if valid; InvalidValueError naming the field otherwise."""
    if not name or not name.strip():
        raise InvalidValueError(field_name, "must not be empty")
    if name != name.strip():
        raise InvalidValueError(field_name, f"{name!r} must not start or end with spaces")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValueError(field_name, f"longer than {MAX_NAME_LENGTH} characters")
    if "/" in name or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidValueError(field_name, f"{name!r} must not contain '/' or control characters")
    return name
